// `rmq admin <command> -n <namesrv>`: RocketMQ mqadmin's names and flags where they exist
// (clusterList, topicRoute, updateTopic, topicStatus, queryMsgById, queryMsgByKey,
// deleteExpiredCommitLog, topicList; deleteTopic, the group and consumer commands in
// admin-groups.ts; brokerStatus, queryMsgByOffset, printMsg, clusterRT, statsAll in
// admin-inspect.ts) plus transferLeader for the Raft groups. Tables by default, --json for scripts.
// mqadmin commands we do not have get a hint instead of a bare "unknown command".
import { Command } from 'commander';
import { Admin, type MessageExt } from '../../client/index.js';
import { CliError } from '../cli-errors.js';
import { namesrvAddrOf } from '../namesrv-option.js';
import { conflicting, hostPortValue, intInRange, requireWith } from '../options.js';
import { bodyForDisplay, clip, printJson, printTable } from '../output.js';
import { action } from '../run-action.js';
import { credentialsOption, tlsOption } from '../credentials-option.js';
import { registerAclAdminCommands } from './admin-acl.js';
import { registerGroupAdminCommands } from './admin-groups.js';
import { registerInspectCommands } from './admin-inspect.js';
import { clusterList } from './cluster-list.js';
import { requireTopic } from './require-topic.js';

export interface Common {
  namesrvAddr?: string;
  json?: boolean;
  accessKey?: string;
  secretKey?: string;
  tls?: boolean;
  tlsCa?: string;
}

export async function withAdmin<T>(o: Common, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ namesrvAddr: namesrvAddrOf(o.namesrvAddr), ...credentialsOption(o), ...tlsOption(o) });
  await admin.start();
  try {
    return await fn(admin);
  } finally {
    await admin.shutdown();
  }
}

export function sub(admin: Command, name: string, description: string): Command {
  return admin.command(name).description(description).option('-n, --namesrv-addr <addr>', 'NameServer host:port, several separated by ";" (default: $NAMESRV_ADDR)').option('--json', 'print one JSON document')
    .option('--access-key <key>', 'ACL access key to sign requests with (default: $RMQ_ACCESS_KEY)')
    .option('--secret-key <key>', 'ACL secret key (default: $RMQ_SECRET_KEY; the environment keeps it out of ps)')
    .option('--tls', 'connect to the NameServer and brokers with TLS, trusting the system CAs (default: $RMQ_TLS; RMQ_NAMESRV_TLS=false: plain NameServer)')
    .option('--tls-ca <file>', 'connect to the NameServer and brokers with TLS, trusting this CA (PEM; default: $RMQ_TLS_CA)');
}

export function messageJson(m: MessageExt): Record<string, unknown> {
  const { body, ...rest } = m;
  return { ...rest, ...bodyForDisplay(body), bodyBytes: body.length };
}

export function printMessage(m: MessageExt): void {
  const shown = bodyForDisplay(m.body);
  printTable(
    ['field', 'value'],
    [
      ['topic', m.topic],
      ['msgId', m.msgId],
      ['offsetMsgId', m.offsetMsgId],
      ['tags', m.tags],
      ['keys', m.keys.join(' ')],
      ['queueId', m.queueId],
      ['queueOffset', m.queueOffset],
      ['physicalOffset', m.physicalOffset],
      ['storeHost', m.storeHost],
      ['bornHost', m.bornHost],
      ['bornTime', new Date(m.bornTimestamp).toISOString()],
      ['storeTime', new Date(m.storeTimestamp).toISOString()],
      ['reconsumeTimes', m.reconsumeTimes],
      ['bodyBytes', m.body.length],
      ['body', shown.bodyEncoding === 'utf8' ? clip(shown.body, 200) : `(base64) ${clip(shown.body, 200)}`],
    ],
  );
}

/** mqadmin commands without an equivalent here, and what to use instead. */
const MQADMIN_HINTS: Record<string, string> = {
  sendMessage: "use 'rmq produce -n <ns> -t <topic> --body <text>'",
  consumeMessage: "use 'rmq consume -n <ns> -t <topic> -g <group>'",
  topicClusterList: "use 'rmq admin topicRoute -t <topic>'",
  getBrokerConfig: "not available; read the node's broker.conf (its path is in cluster.json for a local cluster)",
};

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('cluster, topic, consumer and message administration (mqadmin names)');
  for (const [name, hint] of Object.entries(MQADMIN_HINTS)) {
    admin
      .command(name, { hidden: true })
      .allowUnknownOption()
      .allowExcessArguments()
      .action(action(async () => {
        throw new CliError(`'rmq admin ${name}' does not exist: ${hint}`);
      }));
  }

  sub(admin, 'topicList', 'every topic the NameServer has a route for')
    .action(
      action<Common>(async (o) => {
        const topics = (await withAdmin(o, (a) => a.listTopics())).sort();
        if (o.json === true) return printJson({ topics });
        for (const t of topics) process.stdout.write(`${t}\n`);
        if (topics.length === 0) process.stdout.write('(no topic is registered with the NameServer)\n');
      }),
    );

  sub(admin, 'clusterList', 'every broker group and node: Raft role, term, commit index, address')
    .option('-c, --cluster-name <name>', 'only this cluster')
    .action(
      action<Common & { clusterName?: string }>(async (o) => {
        const groups = await withAdmin(o, (a) => clusterList(a, o.clusterName));
        if (o.clusterName !== undefined && groups.length === 0) throw new CliError(`no broker of cluster '${o.clusterName}' is registered; check -c (omit it to list every cluster)`);
        if (o.json === true) return printJson({ namesrvAddr: namesrvAddrOf(o.namesrvAddr), groups });
        printTable(
          ['cluster', 'group', 'node', 'bid', 'role', 'member', 'term', 'commit', 'applied', 'addr'],
          groups.flatMap((g) => g.nodes.map((n) => [g.clusterName, g.brokerName, n.nodeId, n.brokerId, n.role, n.member, n.term, n.commitIndex, n.appliedIndex, n.addr])),
        );
        for (const g of groups) {
          if (g.voters !== null) process.stdout.write(`${g.brokerName}: voters ${g.voters.join(',')}; learners ${g.learners?.join(',') || '-'}\n`);
        }
        if (groups.length === 0) process.stdout.write('(no broker registered with the NameServer)\n');
      }),
    );

  sub(admin, 'topicRoute', 'the NameServer route of a topic: queues per broker group and broker addresses')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .action(
      action<Common & { topic: string }>(async (o) => {
        const route = await withAdmin(o, async (a) => {
          await requireTopic(a, o.topic);
          return a.topicRoute(o.topic);
        });
        if (o.json === true) return printJson(route);
        printTable(
          ['group', 'read queues', 'write queues', 'perm', 'master (id 0)', 'other nodes'],
          route.queueDatas.map((q) => {
            const bd = route.brokerDatas.find((b) => b.brokerName === q.brokerName);
            const others = Object.entries(bd?.brokerAddrs ?? {}).filter(([id]) => id !== '0').map(([id, addr]) => `${id}=${addr}`);
            return [q.brokerName, q.readQueueNums, q.writeQueueNums, q.perm, bd?.brokerAddrs['0'] ?? 'none', others.join(' ')];
          }),
        );
      }),
    );

  sub(admin, 'updateTopic', 'create or update a topic on the master of every group (or of one cluster)')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .option('-r, --read-queue-nums <n>', 'read queues', intInRange(1, 1024))
    .option('-w, --write-queue-nums <n>', 'write queues', intInRange(1, 1024), 8)
    .option('-p, --perm <perm>', 'permission: 2 write, 4 read, 6 both', intInRange(0, 7), 6)
    .option('-o, --order <bool>', 'ordered topic (true/false): the NameServer then serves its queue layout as orderTopicConf, so producers keep a fixed queue list', 'false')
    .action(
      action<Common & { topic: string; clusterName?: string; readQueueNums?: number; writeQueueNums: number; perm: number; order: string }>(async (o) => {
        if (o.order !== 'true' && o.order !== 'false') throw new CliError(`-o expects true or false, got '${o.order}'`);
        const addrs = await withAdmin(o, (a) =>
          a.createTopic(o.topic, {
            writeQueueNums: o.writeQueueNums,
            readQueueNums: o.readQueueNums ?? o.writeQueueNums,
            perm: o.perm,
            order: o.order === 'true',
            ...(o.clusterName === undefined ? {} : { clusterName: o.clusterName }),
          }),
        );
        const readQueues = o.readQueueNums ?? o.writeQueueNums;
        // Sends go to every write queue, pulls only to read queues: the rest is never consumed.
        if (readQueues < o.writeQueueNums) {
          process.stderr.write(`warning: write queues ${readQueues}..${o.writeQueueNums - 1} are not readable (-r ${readQueues} < -w ${o.writeQueueNums}): consumers never see what producers send there; give -r at least -w unless you are shrinking the topic\n`);
        }
        if (o.json === true) return printJson({ topic: o.topic, readQueueNums: o.readQueueNums ?? o.writeQueueNums, writeQueueNums: o.writeQueueNums, perm: o.perm, order: o.order === 'true', brokers: addrs });
        process.stdout.write(`topic ${o.topic} created/updated (${o.writeQueueNums} write queues, perm ${o.perm}${o.order === 'true' ? ', ordered' : ''}) on ${addrs.join(', ')}\n`);
      }),
    );

  sub(admin, 'topicStatus', 'min and max offset of every queue of a topic')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .action(
      action<Common & { topic: string }>(async (o) => {
        const queues = await withAdmin(o, async (a) => {
          await requireTopic(a, o.topic);
          return a.topicStatus(o.topic);
        });
        if (o.json === true) return printJson({ topic: o.topic, queues });
        printTable(['group', 'queue', 'min offset', 'max offset'], queues.map((q) => [q.brokerName, q.queueId, q.minOffset, q.maxOffset]));
        process.stdout.write(`total messages (max - min): ${queues.reduce((s, q) => s + q.maxOffset - q.minOffset, 0)}\n`);
      }),
    );

  registerGroupAdminCommands(admin, sub, withAdmin);
  registerInspectCommands(admin, sub);

  sub(admin, 'queryMsgById', 'a message by its offset id (offsetMsgId), or by its client id (msgId) with -t')
    .requiredOption('-i, --msg-id <id>', 'offsetMsgId (32 hex), or the producer msgId together with -t')
    .option('-t, --topic <topic>', 'topic, needed to look up a client-generated msgId (UNIQ_KEY)')
    .action(
      action<Common & { msgId: string; topic?: string }>(async (o) => {
        const m = await withAdmin(o, (a) => a.viewMessage(o.msgId, o.topic));
        if (o.json === true) return printJson(messageJson(m));
        printMessage(m);
      }),
    );

  sub(admin, 'queryMsgByKey', 'messages of a topic carrying a key (from the IndexFile)')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .requiredOption('-k, --msg-key <key>', 'message key')
    .option('--max <n>', 'at most this many messages per group', intInRange(1, 64), 64)
    .action(
      action<Common & { topic: string; msgKey: string; max: number }>(async (o) => {
        const msgs = await withAdmin(o, (a) => a.queryMessageByKey(o.topic, o.msgKey, { maxNum: o.max }));
        if (o.json === true) return printJson({ topic: o.topic, key: o.msgKey, messages: msgs.map(messageJson) });
        printTable(
          ['msgId', 'offsetMsgId', 'queue', 'offset', 'tags', 'store time', 'body'],
          msgs.map((m) => [m.msgId, m.offsetMsgId, m.queueId, m.queueOffset, m.tags, new Date(m.storeTimestamp).toISOString(), clip(bodyForDisplay(m.body).body, 40)]),
        );
        if (msgs.length === 0) process.stdout.write(`no message of ${o.topic} has key ${o.msgKey}\n`);
      }),
    );

  const deleteExpired = sub(admin, 'deleteExpiredCommitLog', 'delete expired CommitLog segments now on every node (each runs its own retention), or on one with -b')
    .option('-b, --broker-addr <addr>', 'only the node at this host:port', hostPortValue)
    .option('-c, --cluster-name <name>', 'only the nodes of this cluster')
    .action(
      action<Common & { brokerAddr?: string; clusterName?: string }>(async (o) => {
        const nodes = await withAdmin(o, (a) =>
          a.deleteExpiredCommitLog({
            ...(o.brokerAddr === undefined ? {} : { brokerAddr: o.brokerAddr }),
            ...(o.clusterName === undefined ? {} : { clusterName: o.clusterName }),
          }),
        );
        if (o.json === true) printJson({ namesrvAddr: namesrvAddrOf(o.namesrvAddr), nodes });
        else {
          printTable(
            ['group', 'bid', 'node', 'addr', 'deleted segments', 'deleted cq/index files', 'first index', 'kept because'],
            nodes.map((n) => (n.result === undefined
              ? [n.brokerName, n.brokerId, '-', n.addr, '-', '-', '-', `error: ${clip(n.error ?? '', 80)}`]
              : [n.brokerName, n.brokerId, n.result.nodeId, n.addr, n.result.deletedSegments, n.result.deletedStoreFiles, n.result.firstIndex, n.result.stoppedBy ?? ''])),
          );
        }
        const failed = nodes.filter((n) => n.error !== undefined);
        if (failed.length > 0) throw new CliError(`${failed.length} of ${nodes.length} nodes did not delete: ${failed.map((n) => `${n.addr}: ${n.error}`).join('; ')}`, 'ERR_CLI_NODE_FAILED');
      }),
    );
  // -b names one node, -c a set of them: one would silently win.
  conflicting(deleteExpired, 'brokerAddr', 'clusterName');

  sub(admin, 'changeMembers', 'change the members of a Raft broker group, one node at a time (docs/raft.md, "Membership")')
    .option('-b, --broker-name <name>', 'broker group (default: the only group, if there is one)')
    .option('--add-learner <nodeId>', 'add a node as a non-voting learner (needs --address)')
    .option('--address <host:port>', "the new node's Raft address (its dLegerPeers entry)")
    .option('--promote <nodeId>', 'make a caught-up learner a voter')
    .option('--remove <nodeId>', 'remove a voter or learner (the leader itself steps down)')
    .action(
      action<Common & { brokerName?: string; addLearner?: string; address?: string; promote?: string; remove?: string }>(async (o, cmd) => {
        requireWith(cmd, 'address', '--address', '--add-learner', o.addLearner !== undefined);
        const picked = ([['add-learner', o.addLearner], ['promote', o.promote], ['remove', o.remove]] as const).filter(([, v]) => v !== undefined);
        if (picked.length !== 1) throw new CliError('pass exactly one of --add-learner, --promote, --remove');
        const [kind, nodeId] = picked[0]!;
        const r = await withAdmin(o, async (a) => {
          let name = o.brokerName;
          if (name === undefined) {
            const names = Object.keys((await a.clusterInfo()).brokerAddrTable);
            if (names.length !== 1) throw new CliError(`pass -b <brokerName>: the NameServer knows ${names.length === 0 ? 'no broker group' : names.join(', ')}`);
            name = names[0]!;
          }
          return { brokerName: name, ...(await a.changeMembers(name, kind, nodeId!, o.address)) };
        });
        if (o.json === true) return printJson(r);
        process.stdout.write(`${r.brokerName}: ${kind} ${nodeId} in force at index ${r.index}; voters ${r.voters.join(',')}; learners ${r.learners.join(',') || '-'}\n`);
      }),
    );

  sub(admin, 'transferLeader', 'hand leadership of a Raft broker group to another node')
    .option('-b, --broker-name <name>', 'broker group (default: the only group, if there is one)')
    .option('--to <nodeId>', "the new leader's dLegerSelfId, e.g. n1 (default: the most caught-up follower)")
    .action(
      action<Common & { brokerName?: string; to?: string }>(async (o) => {
        const r = await withAdmin(o, async (a) => {
          let name = o.brokerName;
          if (name === undefined) {
            const names = Object.keys((await a.clusterInfo()).brokerAddrTable);
            if (names.length !== 1) throw new CliError(`pass -b <brokerName>: the NameServer knows ${names.length === 0 ? 'no broker group' : names.join(', ')}`);
            name = names[0]!;
          }
          return { brokerName: name, ...(await a.transferLeader(name, o.to)) };
        });
        if (o.json === true) return printJson(r);
        process.stdout.write(`${r.brokerName}: leadership moved from ${r.previousLeader} to ${r.newLeader} (term ${r.term}${r.tookMs !== undefined ? `, in ${r.tookMs} ms` : ''})\n`);
      }),
    );

  registerAclAdminCommands(admin, { sub, withAdmin });
}
