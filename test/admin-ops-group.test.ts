// mqadmin's metadata and consumer operations on a real 3-node group (NameServer and brokers as
// OS processes from dist/): an ordered topic's route, subscription groups replicated to every
// node, GET_CONSUME_STATS, resetOffsetByTime, topic deletion, GET_CONSUMER_RUNNING_INFO relayed
// to a consumer (and refused clearly for a client that cannot answer), the same through `rmq`,
// and two leader SIGKILLs right after a reset and a delete: the new leader holds both. Also what
// a running ali-ons consumer does with a reset (ignores it) and how a restart applies it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { Admin, ConsumeFromWhere, Producer, PullConsumer, PushConsumer } from '../src/client/index.js';
import { decodeMqTableBody, encodeJsonBody, makeRequest, RemotingClient, RequestCode, ResponseCode } from '../src/protocol/index.js';
import { ensureBuilt, rmq } from './cli-helpers.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Consumer: new (options: object) => AliConsumer };
interface AliConsumer {
  on(event: string, f: () => void): void;
  subscribe(topic: string, expression: string, handler: (msg: { body: Buffer }) => Promise<void>): void;
  ready(): Promise<void>;
  close(): Promise<void>;
}
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

let dir: string;
let cluster: LocalCluster;
let admin: Admin;
let producer: Producer;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmq-admin-ops-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), logLevel: 'warn' });
  await cluster.waitForLeader(30_000);
  admin = new Admin({ namesrvAddr: cluster.namesrvAddr });
  await admin.start();
  producer = new Producer({ namesrvAddr: cluster.namesrvAddr, sendMsgTimeoutMs: 10_000, retryTimesWhenSendFailed: 6, retryBackoffMs: 200 });
  await producer.start();
}, 60_000);

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await producer?.shutdown();
  await admin?.shutdown();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The subscription groups in a node's metadata.json (saved within a second of a change). */
function groupsOnDisk(dataDir: string): { groupName: string; retryMaxTimes: number; consumeMessageOrderly?: boolean }[] {
  try {
    return (JSON.parse(readFileSync(path.join(dataDir, 'store', 'metadata.json'), 'utf8')) as { groups: { groupName: string; retryMaxTimes: number; consumeMessageOrderly?: boolean }[] }).groups;
  } catch {
    return [];
  }
}

async function createTopic(topic: string, queues: number, order = false): Promise<void> {
  await admin.createTopic(topic, { writeQueueNums: queues, order });
  await expect.poll(async () => (await admin.topicRoute(topic)).queueDatas.map((q) => q.writeQueueNums), { timeout: 10_000 }).toEqual([queues]);
}

async function consumeAll(group: string, topic: string): Promise<void> {
  const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: group });
  await pc.start();
  for (const mq of await pc.fetchQueues(topic)) await pc.commitOffset(mq, await pc.maxOffset(mq));
  await pc.shutdown();
}

describe('admin operations on a real 3-node group', () => {
  it('serves an ordered topic as orderTopicConf and replicates subscription group changes to every node', async () => {
    await createTopic('OrderedT', 3, true);
    expect((await admin.topicRoute('OrderedT')).orderTopicConf).toBe('broker-a:3');
    await createTopic('PlainT', 2);
    expect((await admin.topicRoute('PlainT')).orderTopicConf).toBeUndefined();

    await admin.updateSubscriptionGroup({ groupName: 'admin-sub-g', retryMaxTimes: 3 });
    for (const n of cluster.nodes) {
      await expect.poll(() => groupsOnDisk(n.dataDir).find((g) => g.groupName === 'admin-sub-g')?.retryMaxTimes, { timeout: 10_000 }).toBe(3);
    }
    const deleted = await admin.deleteSubscriptionGroup('admin-sub-g');
    expect(deleted).toHaveLength(1);
    for (const n of cluster.nodes) await expect.poll(() => groupsOnDisk(n.dataDir).some((g) => g.groupName === 'admin-sub-g'), { timeout: 10_000 }).toBe(false);
  }, 60_000);

  it('resets offsets by time, reads the lag from the brokers, and keeps the reset through a leader SIGKILL', async () => {
    await createTopic('ResetT', 2);
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'ResetT', body: `early-${i}` });
    await new Promise((r) => setTimeout(r, 20)); // store timestamps must differ from the cut (ms clock)
    const cut = Date.now();
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'ResetT', body: `late-${i}` });
    await consumeAll('reset-g', 'ResetT');
    const consumed = await admin.consumerProgress('reset-g', 'ResetT');
    expect(consumed.reduce((s, r) => s + r.brokerOffset, 0)).toBe(20);
    expect(consumed.every((r) => r.diff === 0)).toBe(true);

    const rows = await admin.resetOffsetByTime('reset-g', 'ResetT', cut);
    expect(rows.map((r) => r.queueId)).toEqual([0, 1]);
    const expected = new Map(rows.map((r) => [r.queueId, r.offset]));
    const progress = await admin.consumerProgress('reset-g', 'ResetT');
    expect(progress.reduce((s, r) => s + r.diff, 0)).toBe(10);
    expect(new Map(progress.map((r) => [r.queueId, r.consumerOffset]))).toEqual(expected);

    const leader = await cluster.waitForLeader(10_000);
    await cluster.killNode(leader.id, 'SIGKILL');
    const next = await cluster.waitForLeader(30_000);
    expect(next.id).not.toBe(leader.id);
    const after = await admin.consumerProgress('reset-g', 'ResetT');
    expect(new Map(after.map((r) => [r.queueId, r.consumerOffset]))).toEqual(expected);
    // A consumer of the group starts where the reset put it: exactly the ten later messages.
    const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'reset-g' });
    await pc.start();
    const bodies: string[] = [];
    for (const mq of await pc.fetchQueues('ResetT')) {
      const r = await pc.pull(mq, await pc.queryOffset(mq), 32);
      bodies.push(...r.messages.map((m) => m.body.toString()));
    }
    await pc.shutdown();
    expect(bodies.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `late-${i}`).sort());
    await cluster.restartNode(leader.id);
  }, 120_000);

  it("answers GET_CONSUME_STATS with the last consumed message's store time and the group's pull rate", async () => {
    await createTopic('StatsT', 1);
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'StatsT', body: `s${i}` });
    const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'stats-g' });
    await pc.start();
    closers.push(() => pc.shutdown());
    const [mq] = await pc.fetchQueues('StatsT');
    const pulled = await pc.pull(mq!, 0, 32);
    expect(pulled.messages).toHaveLength(5);
    // Nothing committed yet: no last consumed message.
    expect((await admin.consumerProgress('stats-g', 'StatsT')).map((r) => r.lastTimestamp)).toEqual([0]);
    await pc.commitOffset(mq!, 3);
    const [row] = await admin.consumerProgress('stats-g', 'StatsT');
    expect(row?.consumerOffset).toBe(3);
    expect(row?.lastTimestamp).toBe(pulled.messages[2]!.storeTimestamp);
    // consumeTps: the five messages the group's pull got, per second over the last minute, on
    // the node that served the pull (summed over the nodes, whichever served it).
    const client = new RemotingClient();
    closers.push(() => client.close());
    let tps = 0;
    for (const n of cluster.nodes) {
      const resp = await client.invoke(n.brokerAddr, makeRequest(RequestCode.GET_CONSUME_STATS, { consumerGroup: 'stats-g', topic: 'StatsT' }), 5000).catch(() => undefined);
      if (resp?.code === ResponseCode.SUCCESS) tps += Number(decodeMqTableBody(resp.body, 'offsetTable', n.id).rest['consumeTps']);
    }
    expect(tps).toBeGreaterThanOrEqual(0.08);
    expect(tps).toBeLessThanOrEqual(0.1);
  }, 60_000);

  it('leaves a running ali-ons consumer where it is after a reset (its next commit undoes it), and a restart applies the reset', async () => {
    await createTopic('AliResetT', 1);
    for (let i = 0; i < 6; i++) await producer.send({ topic: 'AliResetT', body: `a${i}` });
    const seen: string[] = [];
    const progress = async (): Promise<number | undefined> => (await admin.consumerProgress('ali-reset-g', 'AliResetT'))[0]?.consumerOffset;
    const startAliOns = async (): Promise<AliConsumer> => {
      const c = new ons.Consumer({ httpclient: {}, logger: quiet, nameSrv: [cluster.namesrvAddr], consumerGroup: 'ali-reset-g', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', persistConsumerOffsetInterval: 1000, rebalanceInterval: 2000 });
      c.on('error', () => undefined);
      c.subscribe('AliResetT', '*', async (msg) => {
        seen.push(msg.body.toString());
      });
      await c.ready();
      return c;
    };
    let consumer = await startAliOns();
    await expect.poll(() => seen.length, { timeout: 30_000, interval: 200 }).toBe(6);
    await expect.poll(progress, { timeout: 20_000, interval: 200 }).toBe(6);
    // The broker resets the group's offset (and sends RESET_CONSUMER_CLIENT_OFFSET, which ali-ons
    // does not handle): the running consumer goes on from where it was and its next periodic
    // commit moves the offset forward again, without consuming anything again.
    expect((await admin.resetOffsetByTime('ali-reset-g', 'AliResetT', 0)).map((r) => r.offset)).toEqual([0]);
    await expect.poll(progress, { timeout: 20_000, interval: 200 }).toBe(6);
    expect(seen).toHaveLength(6);
    // How to apply a reset to ali-ons consumers: stop them, reset, start them again.
    await consumer.close();
    await admin.resetOffsetByTime('ali-reset-g', 'AliResetT', 0);
    consumer = await startAliOns();
    const restarted = consumer;
    closers.push(() => restarted.close());
    await expect.poll(() => seen.length, { timeout: 30_000, interval: 200 }).toBe(12);
    expect(seen.slice(6).sort()).toEqual(seen.slice(0, 6).sort());
  }, 120_000);

  it('deletes a topic and its offsets, and the topic stays deleted on the leader elected after a SIGKILL', async () => {
    await createTopic('DeleteT', 2);
    for (let i = 0; i < 4; i++) await producer.send({ topic: 'DeleteT', body: `d${i}` });
    await consumeAll('delete-g', 'DeleteT');
    expect((await admin.consumerProgress('delete-g')).map((r) => r.topic)).toContain('DeleteT');
    const leader = await cluster.waitForLeader(30_000);
    await admin.deleteTopic('DeleteT');
    await cluster.killNode(leader.id, 'SIGKILL');
    await cluster.waitForLeader(30_000);
    expect((await admin.consumerProgress('delete-g')).map((r) => r.topic)).not.toContain('DeleteT');
    await expect.poll(async () => (await admin.listTopics()).includes('DeleteT'), { timeout: 10_000 }).toBe(false);
    // Every live node's replicated tables lack it: asking each directly for its stats says so.
    const client = new RemotingClient();
    closers.push(() => client.close());
    for (const n of cluster.nodes.filter((x) => x.id !== leader.id)) {
      const resp = await client.invoke(n.brokerAddr, makeRequest(RequestCode.GET_CONSUME_STATS, { consumerGroup: 'delete-g', topic: 'DeleteT' }), 5000);
      expect([n.id, resp.code]).toEqual([n.id, ResponseCode.TOPIC_NOT_EXIST]);
    }
    await cluster.restartNode(leader.id);
  }, 120_000);

  it("relays GET_CONSUMER_RUNNING_INFO to a consumer and says so clearly when a client cannot answer", async () => {
    await createTopic('StatusT', 2);
    const consumer = new PushConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'status-g', consumeFromWhere: ConsumeFromWhere.FIRST_OFFSET, handler: () => undefined });
    consumer.subscribe('StatusT', 'a || b');
    await consumer.start();
    closers.push(() => consumer.shutdown());
    const [status] = await admin.consumerStatus('status-g');
    expect(status?.clientId).toBe(consumer.clientId);
    expect(status?.info?.subscriptionSet.find((s) => s.topic === 'StatusT')?.subString).toBe('a || b');
    expect(status?.info?.mqTable.filter((q) => q.topic === 'StatusT').map((q) => q.queueId).sort()).toEqual([0, 1]);

    // A bare client (no handler for 307, like ali-ons) registered as a consumer of another group.
    const leader = await cluster.waitForLeader(10_000);
    const bare = new RemotingClient();
    closers.push(() => bare.close());
    const hb = { clientID: 'bare@1', producerDataSet: [], consumerDataSet: [{ groupName: 'bare-g', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', unitMode: false, subscriptionDataSet: [] }] };
    expect((await bare.invoke(leader.brokerAddr, makeRequest(RequestCode.HEART_BEAT, {}, { body: encodeJsonBody(hb) }), 5000)).code).toBe(ResponseCode.SUCCESS);
    const [other] = await admin.consumerStatus('bare-g', 'bare@1');
    expect(other?.error).toMatch(/does not support GET_CONSUMER_RUNNING_INFO/);
  }, 60_000);

  it('offers the same through rmq admin', async () => {
    const ns = cluster.namesrvAddr;
    const made = await rmq(['admin', 'updateTopic', '-n', ns, '-t', 'CliOrdered', '-w', '2', '-o', 'true', '--json']);
    expect(made.status, made.stderr).toBe(0);
    await expect.poll(async () => (await admin.topicRoute('CliOrdered')).orderTopicConf, { timeout: 10_000 }).toBe('broker-a:2');
    for (let i = 0; i < 3; i++) await producer.send({ topic: 'CliOrdered', body: `c${i}` });
    await consumeAll('cli-g', 'CliOrdered');
    const reset = await rmq(['admin', 'resetOffsetByTime', '-n', ns, '-g', 'cli-g', '-t', 'CliOrdered', '-s', '0', '--json']);
    expect(reset.status, reset.stderr).toBe(0);
    expect((JSON.parse(reset.stdout) as { queues: { offset: number }[] }).queues.map((q) => q.offset)).toEqual([0, 0]);
    const progress = await rmq(['admin', 'consumerProgress', '-n', ns, '-g', 'cli-g', '--json']);
    expect(progress.status, progress.stderr).toBe(0);
    expect((JSON.parse(progress.stdout) as { diffTotal: number }).diffTotal).toBe(3);
    const sub = await rmq(['admin', 'updateSubGroup', '-n', ns, '-g', 'cli-sub-g', '-q', '5', '-o', 'true']);
    expect(sub.status, sub.stderr).toBe(0);
    // -o true: an orderly group (RocketMQ 5 PushConsumers of it consume FIFO), replicated to every node.
    for (const n of cluster.nodes) await expect.poll(() => groupsOnDisk(n.dataDir).find((g) => g.groupName === 'cli-sub-g')?.consumeMessageOrderly, { timeout: 10_000 }).toBe(true);
    const del = await rmq(['admin', 'deleteSubGroup', '-n', ns, '-g', 'cli-sub-g', '-r', 'true']);
    expect(del.status, del.stderr).toBe(0);
    const gone = await rmq(['admin', 'deleteTopic', '-n', ns, '-t', 'CliOrdered']);
    expect(gone.status, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(/deleted/);
    const status = await rmq(['admin', 'consumerStatus', '-n', ns, '-g', 'nobody-g']);
    expect(status.status).not.toBe(0);
    expect(status.stderr).toMatch(/no consumer of group nobody-g is online/);
  }, 90_000);
});
