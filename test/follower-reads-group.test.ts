// Reads that do not hurt writes, on a real 3-node group (processes): a consumer far behind the end
// of the log is sent to a follower (suggestWhichBrokerId), reads the whole backlog there in order
// with nothing lost, and once caught up pulls from the leader again; with our SDK (push and pull
// consumers) and with the unmodified ali-ons client. Which node served is read from each node's /metrics counter.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PullConsumer, PushConsumer } from '../src/client/index.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { portCount } from '../src/devkit/cluster-layout.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { silent } from './broker-helpers.js';
import { ensureBuilt } from './cli-helpers.js';
import { until } from './helpers/poll.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Consumer: any };
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

const TOPIC = 'FollowerReads';
const QUEUES = 2;
const BACKLOG = 3000;
/** A pull this far behind the end of the log goes to a follower; the backlog is ~3.4 MB. */
const THRESHOLD_BYTES = 256 * 1024;
const LATER = 50;

let dir: string;
let cluster: LocalCluster;
let leaderId: string;
let producer: Producer;
/** "queueId:queueOffset" → sequence number, from the send results. */
const placed = new Map<string, number>();
let sent = 0;

async function sendSome(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const seq = sent++;
    const r = await producer.send({ topic: TOPIC, body: Buffer.concat([Buffer.from(`${seq}|`), Buffer.alloc(1024, 120)]) });
    placed.set(`${r.queueId}:${r.queueOffset}`, seq);
  }
}

/** Messages each node returned to pulls of TOPIC (rmq_messages_got_total). */
async function served(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of cluster.nodes) {
    const text = await (await fetch(`http://${n.metricsAddr!}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    out[n.id] = text.split('\n').filter((l) => l.startsWith('rmq_messages_got_total{') && l.includes(`topic="${TOPIC}"`)).reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }
  return out;
}

function delta(before: Record<string, number>, after: Record<string, number>): { leader: number; followers: number } {
  let followers = 0;
  for (const id of Object.keys(after)) if (id !== leaderId) followers += after[id]! - (before[id] ?? 0);
  return { leader: after[leaderId]! - (before[leaderId] ?? 0), followers };
}

/** Checks one consumer's deliveries: every placed message once, each queue in offset order, each body where its send put it. */
function checkDeliveries(deliveries: Map<number, { offset: number; seq: number }[]>, expected: number): void {
  let total = 0;
  for (const [queueId, list] of deliveries) {
    list.forEach((d, i) => {
      expect(d.offset, `queue ${queueId} delivery ${i}`).toBe(i);
      expect(d.seq, `queue ${queueId} offset ${d.offset}`).toBe(placed.get(`${queueId}:${d.offset}`));
    });
    total += list.length;
  }
  expect(total).toBe(expected);
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'follower-reads-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(portCount(1, 3)), logLevel: 'warn', extraConf: { slaveReadLagThresholdBytes: String(THRESHOLD_BYTES) } });
  leaderId = (await cluster.waitForLeader(60_000)).id;
  const admin = new Admin({ namesrvAddr: cluster.namesrvAddr, logger: silent });
  await admin.start();
  try {
    await admin.createTopic(TOPIC, { writeQueueNums: QUEUES, readQueueNums: QUEUES });
    await until('the route has the topic', 30_000, async () => ((await admin.topicRoute(TOPIC).catch(() => undefined))?.queueDatas.reduce((s, q) => s + q.writeQueueNums, 0) ?? 0) === QUEUES);
  } finally {
    await admin.shutdown();
  }
  producer = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'FR_PRODUCER', logger: silent });
  await producer.start();
  await sendSome(BACKLOG);
}, 180_000);

afterAll(async () => {
  await producer?.shutdown().catch(() => undefined);
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a consumer far behind the end of the log', () => {
  it('is sent to a follower by the SDK, reads the whole backlog there in order with nothing lost, and pulls new messages from the leader once caught up', async () => {
    const deliveries = new Map<number, { offset: number; seq: number }[]>();
    let count = 0;
    const consumer = new PushConsumer({
      namesrvAddr: cluster.namesrvAddr, consumerGroup: 'FR_SDK', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', consumeConcurrency: 1, logger: silent,
      handler: (msg) => {
        const list = deliveries.get(msg.queueId) ?? [];
        list.push({ offset: msg.queueOffset, seq: Number(msg.body.toString('latin1', 0, 12).split('|')[0]) });
        deliveries.set(msg.queueId, list);
        count++;
      },
    });
    consumer.subscribe(TOPIC, '*');
    const before = await served();
    await consumer.start();
    try {
      await until('the SDK consumer has the backlog', 90_000, () => count >= BACKLOG);
      const backlog = delta(before, await served());
      console.log(`SDK consumer, backlog of ${BACKLOG}: ${backlog.followers} served by followers, ${backlog.leader} by the leader`);
      expect(backlog.followers).toBeGreaterThan(BACKLOG / 2);
      expect(backlog.leader).toBeLessThan(BACKLOG / 2);
      const caughtUp = await served();
      await sendSome(LATER);
      await until('the SDK consumer has the later messages', 30_000, () => count >= BACKLOG + LATER);
      expect(delta(caughtUp, await served())).toEqual({ leader: LATER, followers: 0 });
      checkDeliveries(deliveries, BACKLOG + LATER);
    } finally {
      await consumer.shutdown();
    }
  }, 150_000);

  it("is sent to a follower by the SDK's pull consumer, which reads a queue through to its end in order", async () => {
    const consumer = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'FR_PULL', logger: silent });
    await consumer.start();
    try {
      const [mq] = await consumer.fetchQueues(TOPIC);
      const end = await consumer.maxOffset(mq!);
      const deliveries = new Map<number, { offset: number; seq: number }[]>([[mq!.queueId, []]]);
      const before = await served();
      // Bounded: every FOUND answer moves the offset forward, and the queue holds `end` messages.
      for (let offset = 0, rounds = 0; offset < end && rounds < end; rounds++) {
        const r = await consumer.pull(mq!, offset, 32);
        for (const m of r.messages) deliveries.get(mq!.queueId)!.push({ offset: m.queueOffset, seq: Number(m.body.toString('latin1', 0, 12).split('|')[0]) });
        offset = r.nextBeginOffset;
      }
      const d = delta(before, await served());
      console.log(`SDK pull consumer, ${end} messages of queue ${mq!.queueId}: ${d.followers} served by followers, ${d.leader} by the leader`);
      expect(d.followers).toBeGreaterThan(end / 2);
      checkDeliveries(deliveries, end);
    } finally {
      await consumer.shutdown();
    }
  }, 60_000);

  it('is sent to a follower by the unmodified ali-ons client too, which reads everything in order', async () => {
    const deliveries = new Map<number, { offset: number; seq: number }[]>();
    let count = 0;
    const consumer = new ons.Consumer({ httpclient: {}, logger: quiet, nameSrv: [cluster.namesrvAddr], consumerGroup: 'FR_ONS', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    consumer.on('error', () => undefined);
    consumer.subscribe(TOPIC, '*', async (msg: any) => {
      const list = deliveries.get(msg.queueId) ?? [];
      list.push({ offset: Number(msg.queueOffset), seq: Number((msg.body as Buffer).toString('latin1', 0, 12).split('|')[0]) });
      deliveries.set(msg.queueId, list);
      count++;
    });
    const before = await served();
    try {
      await until('the ali-ons consumer has everything', 90_000, () => count >= sent);
      const d = delta(before, await served());
      console.log(`ali-ons consumer, ${sent} messages: ${d.followers} served by followers, ${d.leader} by the leader`);
      expect(d.followers).toBeGreaterThan(sent / 2);
      checkDeliveries(deliveries, sent);
    } finally {
      await consumer.close();
    }
  }, 150_000);
});
