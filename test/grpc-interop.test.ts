// The gRPC endpoint beside the remoting port on a real 3-node group (NameServer and brokers as
// OS processes): messages an unmodified RocketMQ 5 Producer (rocketmq-client-nodejs) sends over
// gRPC reach an unmodified ali-ons consumer over remoting, with their tags, keys and ids (one
// store); and a group configured orderly (consumeMessageOrderly) is consumed FIFO by the
// unmodified PushConsumer: each message group in send order, a failed message retried before the
// next of its group. A v5 send receipt names the queue and offset the message was stored at.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsumeResult, Producer, PushConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { Admin, PullConsumer } from '../src/client/index.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { until } from './helpers/poll.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Consumer: any };
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

let dir = '';
let cluster: LocalCluster;
let endpoint = '';
let producer: Producer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grpc-interop-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), grpc: true, logLevel: 'warn' });
  const leader = await cluster.waitForLeader(30_000);
  // The leader's endpoint: it has applied the group configuration the FIFO test makes.
  endpoint = cluster.nodes.find((n) => n.id === leader.id)!.grpcAddr!;
  producer = new Producer({ endpoints: endpoint, logger: quiet } as ConstructorParameters<typeof Producer>[0]);
  await producer.startup();
}, 60_000);

afterAll(async () => {
  await producer?.shutdown().catch(() => undefined);
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('the gRPC endpoint and the remoting port share one store', () => {
  it('delivers what a gRPC Producer sent to an unmodified ali-ons consumer, with tags, keys and ids', async () => {
    const topic = 'GRPC_ONS_TOPIC';
    const sent = new Map<string, { body: string; tag: string; key: string }>();
    for (let i = 0; i < 10; i++) {
      const tag = i % 2 === 0 ? 'even' : 'odd';
      const r = await producer.send({ topic, tag, keys: [`k-${i}`], body: Buffer.from(`grpc-to-ons-${i}`) });
      sent.set(r.messageId, { body: `grpc-to-ons-${i}`, tag, key: `k-${i}` });
    }
    const seen = new Map<string, { body: string; tag: string; key: string }>();
    const consumer = new ons.Consumer({ httpclient: {}, logger: quiet, nameSrv: [cluster.namesrvAddr], consumerGroup: 'grpc-ons-consumers', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pollNameServerInteval: 1000, rebalanceInterval: 2000 });
    consumer.on('error', () => undefined);
    consumer.subscribe(topic, '*', async (msg: any) => {
      seen.set(String(msg.properties['UNIQ_KEY']), { body: msg.body.toString(), tag: msg.tags, key: msg.keys });
    });
    try {
      await until('ali-ons consumed every message', 60_000, () => [...sent.keys()].every((id) => seen.has(id)));
    } finally {
      await consumer.close();
    }
    for (const [id, s] of sent) expect(seen.get(id)).toEqual(s);
  }, 90_000);
});

describe('send receipts', () => {
  it('store each message in the queue and at the offset its v5 send receipt names', async () => {
    const topic = 'GRPC_RECEIPT_TOPIC';
    const admin = new Admin({ namesrvAddr: cluster.namesrvAddr });
    await admin.start();
    try {
      await admin.createTopic(topic, { writeQueueNums: 4, readQueueNums: 4 });
    } finally {
      await admin.shutdown();
    }
    const receipts = [];
    for (let i = 0; i < 8; i++) receipts.push(await producer.send({ topic, body: Buffer.from(`receipt-${i}`) }));
    // (The Node client 1.0.8 keeps only queue 0 of each broker from a route, so its receipts all
    // name queue 0: the server must store there, not spread the messages over the 4 queues.)
    const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'grpc-receipt-reader' });
    await pc.start();
    try {
      const queues = await pc.fetchQueues(topic);
      for (const r of receipts) {
        const mq = queues.find((q) => q.queueId === r.messageQueue.queueId)!;
        const [stored] = (await pc.pull(mq, Number(r.offset), 1)).messages;
        expect(stored?.properties['UNIQ_KEY'], `receipt ${r.messageId} at ${r.messageQueue.queueId}:${r.offset}`).toBe(r.messageId);
      }
    } finally {
      await pc.shutdown();
    }
  }, 60_000);
});

describe('an orderly group with the unmodified PushConsumer', () => {
  it('consumes each message group in send order, retrying a failed message before the next of its group', async () => {
    const topic = 'GRPC_FIFO_TOPIC';
    const group = 'grpc-fifo-push';
    const admin = new Admin({ namesrvAddr: cluster.namesrvAddr });
    await admin.start();
    try {
      await admin.createTopic(topic, { writeQueueNums: 2, readQueueNums: 2 });
      await admin.updateSubscriptionGroup({ groupName: group, consumeMessageOrderly: true });
    } finally {
      await admin.shutdown();
    }
    const perGroup = 8;
    // Interleaved, each send acknowledged before the next: the order to keep within each group.
    for (let i = 0; i < perGroup; i++) {
      for (const g of ['a', 'b']) await producer.send({ topic, messageGroup: `fifo-${g}`, body: Buffer.from(`fifo-${g}-${i}`) });
    }
    const consumed: string[] = [];
    let failedOnce = false;
    const push = new PushConsumer({
      endpoints: endpoint,
      consumerGroup: group,
      subscriptions: new Map([[topic, '*']]),
      logger: quiet,
      messageListener: {
        consume(m: MessageView) {
          const body = m.body.toString();
          consumed.push(body);
          if (body === 'fifo-a-3' && !failedOnce) {
            failedOnce = true;
            return ConsumeResult.FAILURE;
          }
          return ConsumeResult.SUCCESS;
        },
      },
    } as ConstructorParameters<typeof PushConsumer>[0]);
    try {
      await push.startup();
      await until('every message was consumed', 60_000, () => new Set(consumed).size >= 2 * perGroup);
    } finally {
      await push.shutdown();
    }
    const order = (g: string): string[] => consumed.filter((b) => b.startsWith(`fifo-${g}-`));
    const expected = (g: string): string[] => Array.from({ length: perGroup }, (_, i) => `fifo-${g}-${i}`);
    // The failed fifo-a-3 came again at once, before fifo-a-4.
    expect(order('a')).toEqual([...expected('a').slice(0, 4), 'fifo-a-3', ...expected('a').slice(4)]);
    expect(order('b')).toEqual(expected('b'));
  }, 120_000);
});
