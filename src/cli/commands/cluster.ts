// `rmq cluster up|down|status --dir <d>`: a local cluster of detached processes described by
// <d>/cluster.json (src/devkit/cluster-file.ts). Output shapes are documented in docs/cli.md.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { RaftStatus } from '../../client/index.js';
import { CliError } from '../cli-errors.js';
import { readClusterFile, type ClusterFile } from '../../devkit/cluster-file.js';
import { clusterAdmin } from '../../devkit/cluster-admin.js';
import { clusterDown, clusterProcesses, clusterUp, isRunning } from '../../devkit/cluster-launcher.js';
import { rollingRestart } from '../../devkit/rolling-restart.js';
import { startNode } from '../../devkit/start-node.js';
import { addNode, removeNode } from '../../devkit/cluster-members.js';
import { intInRange, oneOf, secondsValue } from '../options.js';
import { printJson, printTable } from '../output.js';
import { action } from '../run-action.js';
import type { MemberKind } from './cluster-list.js';

interface UpOptions {
  dir: string;
  groups: number;
  nodes: number;
  basePort?: number;
  flush: 'async' | 'sync';
  clusterName: string;
  autoCreateTopic: boolean;
  peerSecret: boolean;
  acl?: string;
  set: string[];
  frontDoors: boolean;
  tls: boolean;
  timeout: number;
  logPretty?: boolean;
  json?: boolean;
}

function collectSetting(value: string, previous: string[]): string[] {
  if (!/^[A-Za-z][A-Za-z0-9_.]*=.*$/.test(value)) throw new CliError(`--set expects key=value (a broker.conf line), got '${value}'`);
  return [...previous, value];
}

function settings(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export interface NodeStatusRow {
  brokerName: string;
  id: string;
  pid: number;
  alive: boolean;
  brokerAddr: string;
  raftAddr: string;
  role: string | null;
  term: number | null;
  leader: string | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  lastIndex: number | null;
  /** False on a node reset past entries it never applied, until it installs a metadata snapshot. */
  metadataComplete: boolean | null;
  /** What the node is in its group's configuration in force, as the group's leader has it (null: no leader answered). */
  member: MemberKind | null;
  error?: string;
}

/** Per node: process alive and its Raft view (RAFT_STATUS through the client Admin). */
export async function readClusterStatus(file: ClusterFile): Promise<{ namesrv: { pid: number; addr: string; alive: boolean }; nodes: NodeStatusRow[]; healthy: boolean }> {
  const procs = clusterProcesses(file);
  const alive = new Map(procs.map((p) => [p.name, isRunning(p)]));
  const admin = clusterAdmin(file, 1500);
  await admin.start();
  try {
    const nodes = await Promise.all(
      file.groups.flatMap((g) =>
        g.nodes.map(async (n): Promise<NodeStatusRow & { voters?: string[]; learners?: string[] }> => {
          const up = alive.get(`${g.brokerName}/${n.id}`) === true;
          let s: RaftStatus | undefined;
          let error: string | undefined;
          if (up) {
            try {
              s = await admin.raftStatus(n.brokerAddr);
            } catch (err) {
              error = (err as Error).message;
            }
          }
          return {
            brokerName: g.brokerName,
            id: n.id,
            pid: n.pid,
            alive: up,
            brokerAddr: n.brokerAddr,
            raftAddr: n.raftAddr,
            role: s?.role ?? null,
            term: s?.term ?? null,
            leader: s?.leader ?? null,
            commitIndex: s?.commitIndex ?? null,
            appliedIndex: s?.appliedIndex ?? null,
            lastIndex: s?.lastIndex ?? null,
            metadataComplete: s?.metadataComplete ?? null,
            member: null,
            ...(error === undefined ? {} : { error }),
            ...(s?.voters !== undefined ? { voters: s.voters, learners: s.learners ?? [] } : {}),
          };
        }),
      ),
    );
    markMembership(nodes);
    const nsAlive = alive.get('namesrv') === true;
    const healthy = nsAlive && nodes.every((n) => n.alive && n.role !== null) && file.groups.every((g) => nodes.some((n) => n.brokerName === g.brokerName && n.role === 'LEADER'));
    return { namesrv: { pid: file.namesrv.pid, addr: file.namesrv.addr, alive: nsAlive }, nodes, healthy };
  } finally {
    await admin.shutdown();
  }
}

/** Each node's place in its group's configuration, as the group's leader (highest term) has it. */
function markMembership(nodes: (NodeStatusRow & { voters?: string[]; learners?: string[] })[]): void {
  for (const n of nodes) {
    const leader = nodes.filter((x) => x.brokerName === n.brokerName && x.role === 'LEADER' && x.voters !== undefined).sort((a, b) => (b.term ?? 0) - (a.term ?? 0))[0];
    if (leader?.voters !== undefined) n.member = leader.voters.includes(n.id) ? 'voter' : (leader.learners ?? []).includes(n.id) ? 'learner' : 'not a member';
  }
  for (const n of nodes) {
    delete n.voters;
    delete n.learners;
  }
}

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('a local cluster of processes (one NameServer, Raft broker groups) under a folder');

  cluster
    .command('up')
    .description('start a NameServer and broker groups as background processes; returns once every group has a leader')
    .requiredOption('--dir <dir>', 'folder for cluster.json, broker.conf files, data and logs')
    .option('--groups <n>', 'broker groups (broker-a, broker-b, ...)', intInRange(1, 10), 1)
    .option('--nodes <n>', 'Raft nodes per group', intInRange(1, 9), 3)
    .option('--base-port <port>', 'first port (NameServer); default: a free block in 27000-32000', intInRange(1024, 65535))
    .option('--flush <mode>', 'flushDiskType: async (ASYNC_FLUSH) or sync (SYNC_FLUSH)', oneOf(['async', 'sync'] as const), 'async')
    .option('--cluster-name <name>', 'brokerClusterName', 'DefaultCluster')
    .option('--no-auto-create-topic', 'set autoCreateTopicEnable=false (topics must be created with admin updateTopic)')
    .option('--set <key=value>', 'an extra broker.conf line for every node (repeatable)', collectSetting, [])
    .option('--acl <plain_acl.yml>', 'start every broker with aclEnable=true and these rules (copied into --dir); the NameServer gets the matching registration key')
    .option('--no-peer-secret', 'do not give each group a Raft peer secret (dLegerPeerSecretFile): peers unauthenticated')
    .option('--front-doors', 'every node appears as its own broker name with a share of the queues, so unmodified clients ride through a node\'s death (docs/operations.md)', false)
    .option('--tls', 'TLS on the NameServer, client ports, front doors and Raft (a test CA made with openssl in <dir>/tls; clients: --tls-ca <dir>/tls/ca.crt)', false)
    .option('--timeout <s>', 'how long to wait for every group to elect and register a leader', secondsValue(600), 60)
    .option('--log-pretty', 'every process logs human-readable lines (pino-pretty) instead of JSON (kept for restarts)')
    .option('--json', 'print cluster.json instead of a table')
    .action(
      action<UpOptions>(async (o) => {
        const dir = resolve(o.dir);
        const { file, leaders, restarted } = await clusterUp({
          dir,
          groups: o.groups,
          nodes: o.nodes,
          ...(o.basePort === undefined ? {} : { basePort: o.basePort }),
          flushDiskType: o.flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
          clusterName: o.clusterName,
          autoCreateTopicEnable: o.autoCreateTopic,
          extraConf: settings(o.set),
          peerSecret: o.peerSecret,
          ...(o.acl !== undefined ? { aclFile: resolve(o.acl) } : {}),
          frontDoors: o.frontDoors,
          tls: o.tls,
          ...(o.logPretty === true ? { logPretty: true } : {}),
          timeoutMs: o.timeout * 1000,
          say: o.json === true ? undefined : (line) => process.stderr.write(`${line}\n`),
        });
        if (o.json === true) {
          printJson(file);
          return;
        }
        process.stdout.write(`${restarted ? 'restarted' : 'started'} cluster ${file.clusterName} in ${dir}\n`);
        printTable(
          ['process', 'pid', 'addr', 'raft addr', 'leader'],
          [
            ['namesrv', file.namesrv.pid, file.namesrv.addr, null, null],
            ...file.groups.flatMap((g) => g.nodes.map((n) => [`${g.brokerName}/${n.id}`, n.pid, n.brokerAddr, n.raftAddr, leaders.some((l) => l.brokerName === g.brokerName && l.nodeId === n.id) ? `yes (term ${leaders.find((l) => l.brokerName === g.brokerName)!.term})` : ''])),
          ],
        );
        const tlsArgs = file.tlsCaPath !== undefined ? ` --tls-ca ${file.tlsCaPath}` : '';
        process.stdout.write(`\nnext: rmq admin clusterList -n ${file.namesrv.addr}${tlsArgs}\n      rmq produce -n ${file.namesrv.addr} -t TestTopic --count 10${tlsArgs}\n      rmq cluster down --dir ${dir}\n`);
      }),
    );

  cluster
    .command('down')
    .description('stop every process of the cluster (SIGTERM, then SIGKILL after the grace period)')
    .requiredOption('--dir <dir>', 'the folder given to cluster up')
    .option('--grace <s>', 'seconds to wait after SIGTERM before SIGKILL', secondsValue(300), 15)
    .option('--purge', 'also delete the folder (data, logs, cluster.json)')
    .option('--json', 'print the result as JSON')
    .action(
      action<{ dir: string; grace: number; purge?: boolean; json?: boolean }>(async (o) => {
        const dir = resolve(o.dir);
        const file = readClusterFile(dir);
        const stopped = await clusterDown(file, o.grace * 1000);
        if (o.purge === true) rmSync(dir, { recursive: true, force: true });
        if (o.json === true) printJson({ dir, stopped, purged: o.purge === true });
        else {
          printTable(['process', 'pid', 'stopped by'], stopped.map((s) => [s.name, s.pid, s.result]));
          if (o.purge === true) process.stdout.write(`removed ${dir}\n`);
        }
      }),
    );

  cluster
    .command('restart')
    .description('restart the brokers of a running cluster one at a time (followers first, the leader last after a transfer), each caught up before the next')
    .requiredOption('--dir <dir>', 'the folder given to cluster up')
    .option('--rolling', 'one node at a time (required: the only kind of restart offered)')
    .option('--timeout <s>', 'per node: how long to wait for it to stop, start and catch up', secondsValue(600), 60)
    .option('--json', 'print the steps as JSON')
    .action(
      action<{ dir: string; rolling?: boolean; timeout: number; json?: boolean }>(async (o) => {
        if (o.rolling !== true) throw new CliError("only a rolling restart is offered: pass --rolling (or stop and start with 'rmq cluster down' and 'rmq cluster up')");
        const file = readClusterFile(resolve(o.dir));
        const started = Date.now();
        const steps = await rollingRestart(file, { timeoutMs: o.timeout * 1000, say: o.json === true ? undefined : (line) => process.stderr.write(`${line}\n`) });
        const totalMs = Date.now() - started;
        if (o.json === true) return printJson({ dir: file.dir, steps, totalMs });
        printTable(['node', 'was leader', 'new leader', 'transfer ms', 'pid', 'step ms'], steps.map((s) => [`${s.brokerName}/${s.nodeId}`, s.wasLeader, s.newLeader ?? null, s.transferMs ?? null, s.pid, s.stepMs]));
        process.stdout.write(`rolling restart done in ${totalMs} ms\n`);
      }),
    );

  cluster
    .command('start-node')
    .description('start one stopped (crashed, killed) broker node again with its conf and data; waits until it has caught up with its leader')
    .requiredOption('--dir <dir>', 'the folder given to cluster up')
    .requiredOption('--node <name>', 'the node: <brokerName>/<id> (e.g. broker-a/n1), or <id> when the cluster has one group')
    .option('--timeout <s>', 'how long to wait for it to answer and catch up', secondsValue(600), 60)
    .option('--json', 'print the result as JSON')
    .action(
      action<{ dir: string; node: string; timeout: number; json?: boolean }>(async (o) => {
        const file = readClusterFile(resolve(o.dir));
        const r = await startNode(file, o.node, o.timeout * 1000);
        if (o.json === true) return printJson({ dir: file.dir, ...r });
        process.stdout.write(`started ${r.brokerName}/${r.nodeId} (pid ${r.pid}); caught up with its leader in ${r.caughtUpMs} ms\n`);
      }),
    );

  cluster
    .command('add-node')
    .description('grow a group of the running cluster by one node: started as a joining learner, added, promoted once caught up, recorded in cluster.json')
    .requiredOption('--dir <dir>', 'the folder given to cluster up')
    .option('--group <brokerName>', 'the group to grow (default: the first)')
    .option('--timeout <s>', 'how long each step may take (start, catch-up, each change)', secondsValue(600), 60)
    .option('--json', 'print the result as JSON')
    .action(
      action<{ dir: string; group?: string; timeout: number; json?: boolean }>(async (o) => {
        const file = readClusterFile(resolve(o.dir));
        const r = await addNode(file, { ...(o.group !== undefined ? { brokerName: o.group } : {}), timeoutMs: o.timeout * 1000, say: o.json === true ? undefined : (line) => process.stderr.write(`${line}\n`) });
        if (o.json === true) return printJson(r);
        process.stdout.write(`${r.brokerName}/${r.node.id} joined as a voter in ${r.tookMs} ms (pid ${r.node.pid}, ${r.node.brokerAddr}); voters ${r.voters.join(',')}; learners ${r.learners.join(',') || '-'}\n`);
      }),
    );

  cluster
    .command('remove-node')
    .description('take a node out of its group (through the leader; a leader steps down), stop its process and drop it from cluster.json (its data folder is kept)')
    .requiredOption('--dir <dir>', 'the folder given to cluster up')
    .requiredOption('--node <id>', 'the node id, e.g. n1')
    .option('--group <brokerName>', 'its group (default: the first)')
    .option('--timeout <s>', 'how long the change may take', secondsValue(600), 60)
    .option('--json', 'print the result as JSON')
    .action(
      action<{ dir: string; node: string; group?: string; timeout: number; json?: boolean }>(async (o) => {
        const file = readClusterFile(resolve(o.dir));
        const r = await removeNode(file, o.node, { ...(o.group !== undefined ? { brokerName: o.group } : {}), timeoutMs: o.timeout * 1000, say: o.json === true ? undefined : (line) => process.stderr.write(`${line}\n`) });
        if (o.json === true) return printJson(r);
        process.stdout.write(`${r.brokerName}/${r.nodeId} removed (process ${r.stopped}); voters ${r.voters.join(',')}; learners ${r.learners.join(',') || '-'}\n`);
      }),
    );

  cluster
    .command('status')
    .description('per node: process alive, Raft role, term, commit and applied index')
    .requiredOption('--dir <dir>', 'the folder given to cluster up')
    .option('--json', 'print the status as JSON')
    .action(
      action<{ dir: string; json?: boolean }>(async (o) => {
        const file = readClusterFile(resolve(o.dir));
        const status = await readClusterStatus(file);
        if (o.json === true) {
          printJson({ dir: file.dir, clusterName: file.clusterName, ...status });
          return;
        }
        printTable(
          ['process', 'pid', 'alive', 'role', 'member', 'term', 'leader', 'commit', 'applied', 'addr'],
          [
            ['namesrv', status.namesrv.pid, status.namesrv.alive, null, null, null, null, null, null, status.namesrv.addr],
            ...status.nodes.map((n) => [`${n.brokerName}/${n.id}`, n.pid, n.alive, n.role ?? (n.alive ? 'no answer' : null), n.member, n.term, n.leader, n.commitIndex, n.appliedIndex, n.brokerAddr]),
          ],
        );
        process.stdout.write(status.healthy ? 'healthy: every process runs and every group has a leader\n' : 'degraded: see the rows above\n');
      }),
    );
}
