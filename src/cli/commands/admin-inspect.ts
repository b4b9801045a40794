// mqadmin's inspection commands: brokerStatus (a node's runtime figures), queryMsgByOffset and
// printMsg (messages read from queue offsets or by store time), clusterRT (send round trips to
// each broker group) and statsAll (per topic and consumer group: accumulation and rates). They
// read through the SDK (Admin, PullConsumer, Producer) and the nodes' /metrics.json endpoints.
import { Command } from 'commander';
import { Admin, Producer, PullConsumer, type MessageExt, type NodeStatus, type RaftStatus } from '../../client/index.js';
import { metricSum, readMetrics, type MetricJson } from '../../client/metrics-json.js';
import { scanByTime } from '../../client/time-scan.js';
import { mapPollError, pollUntil } from '../../common/poll.js';
import { DEFAULT_TOPIC, DLQ_TOPIC_PREFIX, OFFSET_MOVED_EVENT, RETRY_TOPIC_PREFIX, SCHEDULE_TOPIC } from '../../common/system-topics.js';
import { CliError } from '../cli-errors.js';
import { credentialsOption, tlsOption } from '../credentials-option.js';
import { namesrvAddrOf } from '../namesrv-option.js';
import { conflicting, hostPortValue, intInRange, secondsValue } from '../options.js';
import { bodyForDisplay, clip, printJson, printTable, type Cell } from '../output.js';
import { action } from '../run-action.js';
import { sleep } from '../sleep.js';
import { messageJson, printMessage, withAdmin, type Common } from './admin.js';
import { parseResetTime } from './admin-groups.js';

type Sub = (parent: Command, name: string, description: string) => Command;

/** The consumer group tools read with (mqadmin's TOOLS_CONSUMER); it commits nothing. */
const TOOLS_GROUP = 'TOOLS_CONSUMER';
const CLUSTER_RT_GROUP = 'rmq-cluster-rt';
const ROUTE_WAIT_MS = 10_000;

export function registerInspectCommands(admin: Command, sub: Sub): void {
  const brokerStatus = sub(admin, 'brokerStatus', "a node's runtime figures: its Raft state and, from its metrics endpoint, traffic, disk, retention and refusals")
    .option('-b, --broker-addr <addr>', 'only the node at this host:port', hostPortValue)
    .option('-c, --cluster-name <name>', 'only the nodes of this cluster')
    .action(action<Common & { brokerAddr?: string; clusterName?: string }>(async (o) => {
      const nodes = await withAdmin(o, async (a) => {
        if (o.brokerAddr !== undefined) {
          const n: NodeStatus = { clusterName: '', brokerName: '', brokerId: -1, addr: o.brokerAddr };
          try {
            n.status = await a.raftStatus(o.brokerAddr);
            n.brokerName = n.status.brokerName ?? '';
          } catch (err) {
            n.error = (err as Error).message;
          }
          return [n];
        }
        const all = await a.clusterRaftStatus();
        if (o.clusterName !== undefined && !all.some((n) => n.clusterName === o.clusterName)) throw new CliError(`no broker of cluster '${o.clusterName}' is registered; check -c (omit it to list every cluster)`);
        return all.filter((n) => o.clusterName === undefined || n.clusterName === o.clusterName);
      });
      const rows = await Promise.all(nodes.map(async (n): Promise<StatusRow> => ({ clusterName: n.clusterName, brokerName: n.brokerName, addr: n.addr, ...(n.status === undefined ? { error: n.error ?? 'no answer' } : { table: await statusTable(n.status) }) })));
      if (o.json === true) printJson({ nodes: rows });
      else if (rows.length === 1 && rows[0]!.table !== undefined) printTable(['key', 'value'], Object.entries(rows[0]!.table));
      else printTable(['addr', 'key', 'value'], rows.flatMap((r): Cell[][] => (r.table === undefined ? [[r.addr, 'error', r.error]] : Object.entries(r.table).map(([k, v]) => [r.addr, k, v]))));
      const failed = rows.filter((r) => r.error !== undefined);
      if (failed.length > 0) throw new CliError(`${failed.length} of ${rows.length} nodes did not answer: ${failed.map((r) => `${r.addr}: ${r.error}`).join('; ')}`, 'ERR_CLI_NODE_FAILED');
    }));
  conflicting(brokerStatus, 'brokerAddr', 'clusterName');

  sub(admin, 'queryMsgByOffset', 'the message at one queue offset')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .requiredOption('-b, --broker-name <name>', 'broker group holding the queue, e.g. broker-a')
    .requiredOption('-i, --queue-id <id>', 'queue id', intInRange(0, 65_535))
    .requiredOption('-o, --offset <offset>', 'queue offset', intInRange(0, Number.MAX_SAFE_INTEGER))
    .action(action<Common & { topic: string; brokerName: string; queueId: number; offset: number }>(async (o) => {
      const found = await withConsumer(o, async (c) => {
        const mq = (await c.fetchQueues(o.topic)).find((q) => q.brokerName === o.brokerName && q.queueId === o.queueId);
        if (mq === undefined) throw new CliError(`topic ${o.topic} has no readable queue ${o.brokerName}/${o.queueId}; see 'rmq admin topicStatus -t ${o.topic}'`);
        const r = await c.pull(mq, o.offset, 1);
        const m = r.messages.find((x) => x.queueOffset === o.offset);
        if (m === undefined) throw new CliError(`no message at ${o.topic} ${o.brokerName}/${o.queueId} offset ${o.offset} (${r.status}); the queue holds offsets ${r.minOffset} to ${r.maxOffset - 1}`, 'ERR_CLI_NOT_FOUND');
        return m;
      });
      if (o.json === true) return printJson(messageJson(found));
      printMessage(found);
    }));

  sub(admin, 'printMsg', 'the messages of a topic stored between two times (every queue), or all of them up to --max')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option('-s, --sub-expression <expr>', "tag expression: '*' or 'TagA || TagB'", '*')
    .option('-b, --begin-timestamp <time>', 'from the first message stored at or after: ms since the epoch, "now" or yyyy-MM-dd#HH:mm:ss:SSS')
    .option('-e, --end-timestamp <time>', 'up to the first message stored at or after this time')
    .option('-d, --print-body <bool>', 'print bodies (true/false)', 'true')
    .option('--max <n>', 'messages printed at most over all queues', intInRange(1, 100_000), 1000)
    .action(action<Common & { topic: string; subExpression: string; beginTimestamp?: string; endTimestamp?: string; printBody: string; max: number }>(async (o) => {
      if (o.printBody !== 'true' && o.printBody !== 'false') throw new CliError(`-d expects true or false, got '${o.printBody}'`);
      const now = Date.now();
      const beginMs = o.beginTimestamp === undefined ? undefined : parseResetTime(o.beginTimestamp, now, '-b');
      const endMs = o.endTimestamp === undefined ? undefined : parseResetTime(o.endTimestamp, now, '-e');
      const queues = await withConsumer(o, (c) => scanByTime(c, o.topic, { ...(beginMs !== undefined ? { beginMs } : {}), ...(endMs !== undefined ? { endMs } : {}), max: o.max, tagExpression: o.subExpression }));
      const body = (m: MessageExt): Record<string, unknown> => (o.printBody === 'true' ? messageJson(m) : { ...messageJson(m), body: undefined, bodyEncoding: undefined });
      if (o.json === true) return printJson({ topic: o.topic, queues: queues.map((q) => ({ ...q.mq, fromOffset: q.fromOffset, toOffset: q.toOffset, messages: q.messages.map(body) })) });
      for (const q of queues) {
        process.stdout.write(`${q.mq.brokerName} queue ${q.mq.queueId}: offsets ${q.fromOffset} to ${q.toOffset}, ${q.messages.length} printed\n`);
        for (const m of q.messages) {
          const b = bodyForDisplay(m.body);
          process.stdout.write(`  offset=${m.queueOffset} msgId=${m.msgId} storeTime=${new Date(m.storeTimestamp).toISOString()}${m.tags ? ` tags=${m.tags}` : ''}${m.keys.length > 0 ? ` keys=${m.keys.join(',')}` : ''}${o.printBody === 'true' ? ` body=${b.bodyEncoding === 'utf8' ? clip(b.body, 200) : `(base64)${clip(b.body, 200)}`}` : ''}\n`);
        }
      }
    }));

  sub(admin, 'clusterRT', 'send round trip to every broker group: -a messages of -s bytes to a queue of each group')
    .option('-a, --amount <n>', 'messages per group (the first is a warm-up, left out of the figure)', intInRange(2, 100_000), 100)
    .option('-s, --size <bytes>', 'body bytes', intInRange(1, 4 * 1024 * 1024), 128)
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .option('-t, --topic <topic>', 'topic to send to (created with one queue on every group when missing)', 'rmq-cluster-rt')
    .action(action<Common & { amount: number; size: number; clusterName?: string; topic: string }>(async (o) => {
      const rows = await withAdmin(o, async (a) => {
        const info = await a.clusterInfo();
        const clusters = o.clusterName === undefined ? Object.keys(info.clusterAddrTable).sort() : [o.clusterName];
        if (o.clusterName !== undefined && info.clusterAddrTable[o.clusterName] === undefined) throw new CliError(`no broker of cluster '${o.clusterName}' is registered; check -c (omit it to use every cluster)`);
        const groups = clusters.flatMap((c) => [...(info.clusterAddrTable[c] ?? [])].sort().map((brokerName) => ({ clusterName: c, brokerName })));
        await ensureTopicOn(a, o.topic, groups.map((g) => g.brokerName));
        return sendRoundTrips(o, groups);
      });
      if (o.json === true) return printJson({ topic: o.topic, amount: o.amount, sizeBytes: o.size, groups: rows });
      printTable(['cluster', 'group', 'rt ms', 'ok', 'failed'], rows.map((r) => [r.clusterName, r.brokerName, r.rtMs, r.successCount, r.failCount]));
    }));

  sub(admin, 'statsAll', 'per topic and consumer group: accumulation, in/out rates and totals (from the nodes\' metrics)')
    .option('-t, --topic <topic>', 'only this topic')
    .option('-a, --active-topic', 'only topics with traffic (messages stored or read since the nodes started)')
    .option('--interval <s>', 'seconds between the two metric reads the rates come from', secondsValue(60), 1)
    .action(action<Common & { topic?: string; activeTopic?: boolean; interval: number }>(async (o) => {
      const rows = await withAdmin(o, (a) => statsAll(a, o));
      if (o.json === true) return printJson({ rows });
      printTable(['topic', 'consumer group', 'accumulation', 'in tps', 'out tps', 'in total', 'out total'], rows.map((r) => [r.topic, r.consumerGroup ?? 'NO_CONSUMER', r.accumulation, r.inTps, r.outTps, r.inTotal, r.outTotal]));
    }));
}

interface StatusRow {
  clusterName: string;
  brokerName: string;
  addr: string;
  table?: Record<string, string | number | boolean>;
  error?: string;
}

async function withConsumer<T>(o: Common, fn: (c: PullConsumer) => Promise<T>): Promise<T> {
  const c = new PullConsumer({ namesrvAddr: namesrvAddrOf(o.namesrvAddr), ...credentialsOption(o), ...tlsOption(o), consumerGroup: TOOLS_GROUP });
  await c.start();
  try {
    return await fn(c);
  } finally {
    await c.shutdown();
  }
}

/** RAFT_STATUS and, when the node serves metrics, its figures: one flat key → value table. */
async function statusTable(s: RaftStatus): Promise<Record<string, string | number | boolean>> {
  const t: Record<string, string | number | boolean> = {
    nodeId: s.nodeId, brokerName: s.brokerName ?? '', role: s.role, term: s.term, leader: s.leader ?? '',
    commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, lastIndex: s.lastIndex,
    voters: (s.voters ?? []).join(','), learners: (s.learners ?? []).join(','),
  };
  if (s.metadataComplete !== undefined) t['metadataComplete'] = s.metadataComplete;
  if (s.metricsAddr === undefined) return sorted(t);
  t['metricsAddr'] = s.metricsAddr;
  let m: MetricJson[];
  try {
    m = await readMetrics(s.metricsAddr, 2000);
  } catch (err) {
    t['metricsError'] = (err as Error).message;
    return sorted(t);
  }
  const sends = metricSum(m, 'rmq_send_duration_seconds', 'rmq_send_duration_seconds_count');
  Object.assign(t, {
    msgPutTotal: metricSum(m, 'rmq_messages_put_total'),
    msgGetTotal: metricSum(m, 'rmq_messages_got_total'),
    bytesPutTotal: metricSum(m, 'rmq_message_bytes_put_total'),
    bytesGetTotal: metricSum(m, 'rmq_message_bytes_got_total'),
    sendRequestsTotal: sends,
    sendAvgMs: sends > 0 ? round2((metricSum(m, 'rmq_send_duration_seconds', 'rmq_send_duration_seconds_sum') / sends) * 1000) : 0,
    requestsRefusedTotal: metricSum(m, 'rmq_requests_refused_total'),
    forwardedRequestsTotal: metricSum(m, 'rmq_forwarded_requests_total'),
    pullsHeld: metricSum(m, 'rmq_pulls_held'),
    dispatchLagEntries: metricSum(m, 'rmq_dispatch_lag_entries'),
    firstLogIndex: metricSum(m, 'rmq_raft_first_log_index'),
    diskUsedRatio: round2(metricSum(m, 'rmq_disk_used_ratio')),
    retentionRunsTotal: metricSum(m, 'rmq_retention_runs_total'),
    retentionDeletedSegmentsTotal: metricSum(m, 'rmq_retention_deleted_segments_total'),
    leaderChangesTotal: metricSum(m, 'rmq_raft_leader_changes_total'),
    logResetsInstalledTotal: metricSum(m, 'rmq_raft_log_resets_installed_total'),
    residentMemoryBytes: metricSum(m, 'rmq_process_resident_memory_bytes'),
  });
  const startS = metricSum(m, 'rmq_process_start_time_seconds');
  if (startS > 0) t['uptimeSeconds'] = Math.round(Date.now() / 1000 - startS);
  return sorted(t);
}

function sorted<V>(t: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(t).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Creates `topic` with one queue on the groups that lack it, then waits for the NameServer to route it to all of them. */
async function ensureTopicOn(a: Admin, topic: string, brokerNames: readonly string[]): Promise<void> {
  const routed = async (): Promise<Set<string>> => new Set((await a.topicRoute(topic).catch(() => undefined))?.queueDatas.map((q) => q.brokerName) ?? []);
  const had = await routed();
  if (brokerNames.every((b) => had.has(b))) return;
  await a.createTopic(topic, { readQueueNums: 1, writeQueueNums: 1 });
  let have = had;
  const allRouted = async (): Promise<true | undefined> => {
    have = await routed();
    return brokerNames.every((b) => have.has(b)) ? true : undefined;
  };
  await pollUntil(`routes of ${topic}`, ROUTE_WAIT_MS, allRouted, { intervalMs: 200 }).catch(
    mapPollError(() => new CliError(`topic ${topic} was created but the NameServer does not route it to ${brokerNames.filter((b) => !have.has(b)).join(', ')} after ${ROUTE_WAIT_MS} ms`, 'ERR_CLI_NODE_FAILED')),
  );
}

interface RtRow {
  clusterName: string;
  brokerName: string;
  /** Mean round trip of the sends after the first (ms); null when none succeeded. */
  rtMs: number | null;
  successCount: number;
  failCount: number;
}

async function sendRoundTrips(o: Common & { amount: number; size: number; topic: string }, groups: readonly { clusterName: string; brokerName: string }[]): Promise<RtRow[]> {
  const producer = new Producer({ namesrvAddr: namesrvAddrOf(o.namesrvAddr), ...credentialsOption(o), ...tlsOption(o), producerGroup: CLUSTER_RT_GROUP, retryTimesWhenSendFailed: 0 });
  await producer.start();
  const body = Buffer.alloc(o.size, 'a');
  try {
    const rows: RtRow[] = [];
    for (const g of groups) {
      let elapsedMs = 0;
      let timed = 0;
      let successCount = 0;
      let failCount = 0;
      for (let i = 0; i < o.amount; i++) {
        const t0 = performance.now();
        try {
          await producer.send({ topic: o.topic, body }, { queue: { topic: o.topic, brokerName: g.brokerName, queueId: 0 } });
          successCount++;
          if (i > 0) {
            elapsedMs += performance.now() - t0;
            timed++;
          }
        } catch {
          failCount++;
        }
      }
      rows.push({ ...g, rtMs: timed > 0 ? round2(elapsedMs / timed) : null, successCount, failCount });
    }
    return rows;
  } finally {
    await producer.shutdown();
  }
}

interface StatsRow {
  topic: string;
  /** null: no consumer group holds an offset of the topic (mqadmin prints NO_CONSUMER). */
  consumerGroup: string | null;
  /** Messages stored but not consumed by the group (GET_CONSUME_STATS). */
  accumulation: number;
  /** Messages stored / read per second over --interval, summed over the nodes. */
  inTps: number;
  outTps: number;
  /** Messages stored / read since the nodes started. */
  inTotal: number;
  outTotal: number;
}

function isSystemTopic(t: string): boolean {
  return t === DEFAULT_TOPIC || t === SCHEDULE_TOPIC || t === OFFSET_MOVED_EVENT || t.startsWith(RETRY_TOPIC_PREFIX) || t.startsWith(DLQ_TOPIC_PREFIX);
}

async function statsAll(a: Admin, o: { topic?: string; activeTopic?: boolean; interval: number }): Promise<StatsRow[]> {
  const topics = (await a.listTopics()).filter((t) => !isSystemTopic(t) && (o.topic === undefined || t === o.topic)).sort();
  if (o.topic !== undefined && topics.length === 0) throw new CliError(`topic '${o.topic}' has no route; see 'rmq admin topicList'`);
  const addrs = (await a.clusterRaftStatus()).map((n) => n.status?.metricsAddr).filter((x): x is string => x !== undefined);
  if (addrs.length === 0) throw new CliError('no node serves metrics (metricsPort=0 everywhere); statsAll reads the rates from /metrics.json (docs/metrics.md)');
  const read = async (): Promise<MetricJson[][]> => Promise.all(addrs.map((x) => readMetrics(x, 2000).catch(() => [])));
  const before = await read();
  const t0 = Date.now();
  await sleep(o.interval * 1000);
  const after = await read();
  const dtS = Math.max(0.001, (Date.now() - t0) / 1000);
  const total = (reads: MetricJson[][], name: string, topic: string): number => reads.reduce((s, m) => s + metricSum(m, name, undefined, { topic }), 0);
  const rows: StatsRow[] = [];
  for (const topic of topics) {
    const inTotal = total(after, 'rmq_messages_put_total', topic);
    const outTotal = total(after, 'rmq_messages_got_total', topic);
    if (o.activeTopic === true && inTotal === 0 && outTotal === 0) continue;
    const inTps = round2(Math.max(0, inTotal - total(before, 'rmq_messages_put_total', topic)) / dtS);
    const outTps = round2(Math.max(0, outTotal - total(before, 'rmq_messages_got_total', topic)) / dtS);
    const groups = new Set<string>();
    for (const m of after) for (const v of m.find((x) => x.name === 'rmq_consumer_lag_messages')?.values ?? []) if (String(v.labels['topic']) === topic) groups.add(String(v.labels['consumer_group']));
    if (groups.size === 0) rows.push({ topic, consumerGroup: null, accumulation: 0, inTps, outTps, inTotal, outTotal });
    for (const group of [...groups].sort()) {
      const progress = await a.consumerProgress(group, topic).catch(() => []);
      rows.push({ topic, consumerGroup: group, accumulation: Math.max(0, progress.reduce((s, q) => s + q.brokerOffset - q.consumerOffset, 0)), inTps, outTps, inTotal, outTotal });
    }
  }
  return rows;
}
