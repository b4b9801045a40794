// End to end with Apache's own RocketMQ 5 Node client (rocketmq-client-nodejs), unmodified and
// with its default settings, against a local 3-node broker group whose nodes each serve the gRPC
// endpoint (NameServer and brokers as OS processes): a Producer sends normal, FIFO and delayed
// messages, a SimpleConsumer receives and acknowledges them, a message left unacknowledged comes
// back after its invisible duration with one more delivery attempt, and our remoting
// PullConsumer reads the very same messages from the one store.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../src/broker/local-cluster.js';
import { findFreeBlock } from '../src/cli/cluster/free-ports.js';
import { PullConsumer } from '../src/client/index.js';
import { until } from './broker-helpers.js';

const TOPIC = 'GRPC_E2E_TOPIC';
const errors: string[] = [];
// The client's default logger writes under ~/logs; this one keeps what went wrong for the report.
const logger = {
  info() {},
  debug() {},
  warn(...args: unknown[]) { errors.push(`warn ${args.map(String).join(' ')}`); },
  error(...args: unknown[]) { errors.push(`error ${args.map(String).join(' ')}`); },
};

let dir = '';
let cluster: LocalCluster;
let endpoints = '';
let producer: Producer;
const consumers: SimpleConsumer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grpc-e2e-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), grpc: true, logLevel: 'warn' });
  const leader = await cluster.waitForLeader(30_000);
  // A follower's endpoint: its writes travel to the leader the way remoting sends do.
  endpoints = cluster.nodes.find((n) => n.id !== leader.id)!.grpcAddr!;
  producer = new Producer({ endpoints, logger } as ConstructorParameters<typeof Producer>[0]);
  await producer.startup();
}, 60_000);

afterAll(async () => {
  for (const c of consumers) await c.shutdown().catch(() => undefined);
  await producer?.shutdown().catch(() => undefined);
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

function newConsumer(group: string): SimpleConsumer {
  const c = new SimpleConsumer({ endpoints, consumerGroup: group, subscriptions: new Map([[TOPIC, '*']]), logger } as ConstructorParameters<typeof SimpleConsumer>[0]);
  consumers.push(c);
  return c;
}

/** Receives (and acknowledges unless told not to) until `count` messages came, bounded in time. */
async function receiveAll(c: SimpleConsumer, count: number, timeoutMs: number, options: { ack?: boolean; invisibleMs?: number } = {}): Promise<MessageView[]> {
  const got: MessageView[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    const batch = await c.receive(16, options.invisibleMs ?? 15_000);
    for (const m of batch) {
      got.push(m);
      if (options.ack !== false) await c.ack(m);
    }
  }
  return got;
}

describe('the gRPC endpoint with rocketmq-client-nodejs', () => {
  const sent = new Map<string, { body: string; sentAtMs: number }>();

  it('takes normal, FIFO (message group) and delayed messages from an unmodified Producer', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await producer.send({ topic: TOPIC, tag: 'normal', keys: [`n-${i}`], body: Buffer.from(`normal-${i}`) });
      sent.set(r.messageId, { body: `normal-${i}`, sentAtMs: Date.now() });
    }
    for (let i = 0; i < 6; i++) {
      const group = i % 2 === 0 ? 'order-a' : 'order-b';
      const r = await producer.send({ topic: TOPIC, tag: 'fifo', messageGroup: group, body: Buffer.from(`${group}-${i}`) });
      sent.set(r.messageId, { body: `${group}-${i}`, sentAtMs: Date.now() });
    }
    const r = await producer.send({ topic: TOPIC, tag: 'delayed', delay: 2_000, body: Buffer.from('delayed-0') });
    sent.set(r.messageId, { body: 'delayed-0', sentAtMs: Date.now() });
    expect(sent.size).toBe(12);
  }, 60_000);

  it('delivers them to a SimpleConsumer, each group in order and the delayed one not early', async () => {
    const c = newConsumer('grpc-e2e-simple');
    await c.startup();
    const got = await receiveAll(c, 12, 60_000);
    const receivedAtMs = Date.now();
    expect(new Set(got.map((m) => m.messageId))).toEqual(new Set(sent.keys()));
    for (const m of got) expect(m.body.toString()).toBe(sent.get(m.messageId)!.body);
    for (const group of ['order-a', 'order-b']) {
      const bodies = got.filter((m) => m.messageGroup === group).map((m) => m.body.toString());
      expect(bodies).toEqual([...bodies].sort((a, b) => Number(a.split('-').pop()) - Number(b.split('-').pop())));
      expect(bodies).toHaveLength(3);
    }
    const delayed = got.find((m) => m.body.toString() === 'delayed-0')!;
    expect(delayed.tag).toBe('delayed');
    // Stored at send time; delivered by the delay service no earlier than the 2 s asked for.
    expect(receivedAtMs - sent.get(delayed.messageId)!.sentAtMs).toBeGreaterThanOrEqual(1_900);
    expect(got.filter((m) => m.tag === 'normal').map((m) => m.keys[0]).sort()).toEqual(['n-0', 'n-1', 'n-2', 'n-3', 'n-4']);
  }, 90_000);

  it('delivers a message left unacknowledged again after its invisible duration, attempt + 1', async () => {
    const c = newConsumer('grpc-e2e-redeliver');
    await c.startup();
    const first = await receiveAll(c, 12, 60_000, { ack: false, invisibleMs: 3_000 });
    expect(first).toHaveLength(12);
    expect(first.every((m) => m.deliveryAttempt === 1)).toBe(true);
    const keep = first.find((m) => m.body.toString() === 'normal-0')!;
    for (const m of first) if (m !== keep) await c.ack(m);
    const again = await receiveAll(c, 1, 30_000, { ack: false, invisibleMs: 3_000 });
    expect(again.map((m) => m.messageId)).toEqual([keep.messageId]);
    expect(again[0]!.deliveryAttempt).toBe(2);
    // The old receipt handle is stale now; the new one acknowledges.
    await expect(c.ack(keep)).rejects.toThrow(/receipt handle/);
    await c.ack(again[0]!);
  }, 90_000);

  it('stores them where our remoting PullConsumer reads them (one store)', async () => {
    const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'grpc-e2e-pull' });
    await pc.start();
    try {
      const bodies = new Map<string, string>();
      await until('the pull consumer read every message', 30_000, async () => {
        for (const mq of await pc.fetchQueues(TOPIC)) {
          const r = await pc.pull(mq, 0, 32);
          for (const m of r.messages) bodies.set(m.properties['UNIQ_KEY'] ?? m.msgId, m.body.toString());
        }
        return bodies.size >= sent.size;
      });
      for (const [id, s] of sent) expect(bodies.get(id)).toBe(s.body);
    } finally {
      await pc.shutdown();
    }
  }, 60_000);
});
