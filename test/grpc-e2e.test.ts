// End to end with Apache's own RocketMQ 5 Node client (rocketmq-client-nodejs), unmodified and
// with its default settings, against a local 3-node broker group whose nodes each serve the gRPC
// endpoint (NameServer and brokers as OS processes): a Producer sends normal, FIFO and delayed
// messages, a SimpleConsumer receives and acknowledges them, a message left unacknowledged comes
// back after its invisible duration with one more delivery attempt, and our remoting
// PullConsumer reads the very same messages from the one store.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ConsumeResult, Producer, PushConsumer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { PullConsumer } from '../src/client/index.js';
import { metricSum, readMetrics } from '../src/client/metrics-json.js';
import { messagingServiceDefinition } from '../src/grpc/proto.js';
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
/** The node the failover test killed: later tests talk to a live one. */
let killedId: string | undefined;
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

function newConsumer(group: string, awaitDurationMs?: number): SimpleConsumer {
  const c = new SimpleConsumer({ endpoints, consumerGroup: group, subscriptions: new Map([[TOPIC, '*']]), logger, ...(awaitDurationMs !== undefined ? { awaitDuration: awaitDurationMs } : {}) } as ConstructorParameters<typeof SimpleConsumer>[0]);
  consumers.push(c);
  return c;
}

/**
 * Receives until every id in `want` came, and returns the first copy of each (acknowledged unless
 * told not to). A producer's retry can store a message twice (sends are at-least-once), so a
 * repeated copy, or a message not wanted here, is acknowledged and left out.
 */
async function receiveIds(c: SimpleConsumer, want: ReadonlySet<string>, timeoutMs: number, options: { ack?: boolean; invisibleMs?: number } = {}): Promise<MessageView[]> {
  const got = new Map<string, MessageView>();
  const deadline = Date.now() + timeoutMs;
  while (got.size < want.size && Date.now() < deadline) {
    const batch = await c.receive(16, options.invisibleMs ?? 15_000);
    for (const m of batch) {
      const keep = want.has(m.messageId) && !got.has(m.messageId);
      if (keep) got.set(m.messageId, m);
      if (!keep || options.ack !== false) await c.ack(m);
    }
  }
  return [...got.values()];
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
    const got = await receiveIds(c, new Set(sent.keys()), 60_000);
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
    const first = await receiveIds(c, new Set(sent.keys()), 60_000, { ack: false, invisibleMs: 3_000 });
    expect(first).toHaveLength(12);
    expect(first.every((m) => m.deliveryAttempt === 1)).toBe(true);
    const keep = first.find((m) => m.body.toString() === 'normal-0')!;
    for (const m of first) if (m !== keep) await c.ack(m);
    const again = await receiveIds(c, new Set([keep.messageId]), 30_000, { ack: false, invisibleMs: 3_000 });
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

  it('moves a message\'s invisible time with ChangeInvisibleDuration', async () => {
    const c = newConsumer('grpc-e2e-change');
    await c.startup();
    const got = await receiveIds(c, new Set(sent.keys()), 60_000, { ack: false, invisibleMs: 60_000 });
    expect(got).toHaveLength(12);
    const keep = got.find((m) => m.body.toString() === 'normal-1')!;
    for (const m of got) if (m !== keep) await c.ack(m);
    // From a minute to one second: it comes back within the test's bound.
    await c.changeInvisibleDuration(keep, 1_000);
    const again = await receiveIds(c, new Set([keep.messageId]), 20_000, { ack: false });
    expect(again.map((m) => m.messageId)).toEqual([keep.messageId]);
    expect(again[0]!.deliveryAttempt).toBe(2);
    await c.ack(again[0]!);
  }, 90_000);

  it('delivers an unacknowledged message again once the node serving it restarted (at-least-once)', async () => {
    const group = 'grpc-e2e-restart';
    const c = newConsumer(group);
    await c.startup();
    expect(await receiveIds(c, new Set(sent.keys()), 60_000)).toHaveLength(12);
    // Acknowledgements commit the group's offsets through Raft: wait until they reach every queue's end.
    const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: group });
    await pc.start();
    try {
      await until('the acknowledged offsets are committed', 20_000, async () => {
        try {
          for (const mq of await pc.fetchQueues(TOPIC)) if ((await pc.queryOffset(mq)) < (await pc.maxOffset(mq))) return false;
          return true;
        } catch {
          return false; // a node busy catching up answers later
        }
      });
    } finally {
      await pc.shutdown();
    }
    const sentLast = await producer.send({ topic: TOPIC, body: Buffer.from('before-restart') });
    const first = await receiveIds(c, new Set([sentLast.messageId]), 30_000, { ack: false, invisibleMs: 60_000 });
    expect(first.map((m) => m.messageId)).toEqual([sentLast.messageId]);
    // The invisibility state lives in the serving node's memory: a restart forgets the delivery.
    await cluster.restartNode(cluster.nodes.find((n) => n.grpcAddr === endpoints)!.id);
    const again: MessageView[] = [];
    await until('the message comes back from the restarted node', 40_000, async () => {
      try {
        for (const m of await c.receive(16, 15_000)) {
          if (m.messageId === sentLast.messageId) again.push(m);
          else await c.ack(m); // a stray second copy of an older message (see receiveIds)
        }
      } catch {
        // the node is still starting
      }
      return again.length > 0;
    });
    expect(again.map((m) => m.messageId)).toEqual([sentLast.messageId]);
    // A fresh node knows of no earlier delivery.
    expect(again[0]!.deliveryAttempt).toBe(1);
    await c.ack(again[0]!);
  }, 150_000);

  it('feeds a PushConsumer every message, and a failed one again with attempt + 1', async () => {
    const seen: { id: string; body: string; attempt: number | undefined }[] = [];
    let failedOnce = false;
    const pushConsumer = new PushConsumer({
      endpoints,
      consumerGroup: 'grpc-e2e-push',
      subscriptions: new Map([[TOPIC, '*']]),
      logger,
      messageListener: {
        consume(m: MessageView) {
          seen.push({ id: m.messageId, body: m.body.toString(), attempt: m.deliveryAttempt });
          if (m.body.toString() === 'normal-2' && !failedOnce) {
            failedOnce = true;
            return ConsumeResult.FAILURE;
          }
          return ConsumeResult.SUCCESS;
        },
      },
    } as ConstructorParameters<typeof PushConsumer>[0]);
    try {
      await pushConsumer.startup();
      // Every message sent so far (12, and the one of the restart test), the failed one twice.
      await until('the push consumer saw every message and the retry', 60_000, () => new Set(seen.map((s) => s.id)).size >= 13 && seen.filter((s) => s.body === 'normal-2').length >= 2);
      const retried = seen.filter((s) => s.body === 'normal-2');
      expect(retried.map((s) => s.attempt)).toEqual([1, 2]);
      for (const id of sent.keys()) expect(seen.some((s) => s.id === id), id).toBe(true);
    } finally {
      await pushConsumer.shutdown();
    }
  }, 90_000);

  it('moves a message delivered as often as the group allows (17 by default) to %DLQ%<group>', async () => {
    const group = 'grpc-e2e-dlq';
    // A 2 s long polling time (an ordinary option) so that a receive finding nothing ends soon.
    const c = newConsumer(group, 2_000);
    await c.startup();
    const attempts = new Map<string, number>();
    const deadline = Date.now() + 60_000;
    // Never acknowledged: every message comes back each second until its 17th delivery.
    while (Date.now() < deadline && [...sent.keys()].some((id) => (attempts.get(id) ?? 0) < 17)) {
      for (const m of await c.receive(32, 1_000)) if (sent.has(m.messageId)) attempts.set(m.messageId, Math.max(attempts.get(m.messageId) ?? 0, m.deliveryAttempt ?? 0));
    }
    expect([...sent.keys()].map((id) => attempts.get(id))).toEqual([...sent.keys()].map(() => 17));
    // The next receive (held until their last invisible time ends) finds them due an 18th
    // delivery: they move to the dead-letter topic instead and nothing of them is delivered.
    expect((await c.receive(32, 1_000)).filter((m) => sent.has(m.messageId))).toEqual([]);
    const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'grpc-e2e-dlq-reader' });
    await pc.start();
    try {
      const ids = new Set<string>();
      await until('every message is in the dead-letter topic', 30_000, async () => {
        try {
          for (const mq of await pc.fetchQueues(`%DLQ%${group}`)) for (const m of (await pc.pull(mq, 0, 32)).messages) ids.add(m.properties['UNIQ_KEY'] ?? '');
        } catch {
          return false; // the dead-letter topic is created with its first message
        }
        return [...sent.keys()].every((id) => ids.has(id));
      });
    } finally {
      await pc.shutdown();
    }
  }, 120_000);

  it('keeps taking sends through a follower while the leader is killed, and loses none acknowledged', async () => {
    const leader = await cluster.waitForLeader(30_000);
    // Through a node that survives: the one the other tests use, unless it leads now.
    const survivors = cluster.nodes.filter((n) => n.id !== leader.id);
    const via = survivors.find((n) => n.grpcAddr === endpoints) ?? survivors[0]!;
    const p = new Producer({ endpoints: via.grpcAddr!, logger } as ConstructorParameters<typeof Producer>[0]);
    await p.startup();
    const acked = new Set<string>();
    try {
      for (let i = 0; i < 20; i++) {
        if (i === 5) {
          await cluster.killNode(leader.id);
          killedId = leader.id;
        }
        const deadline = Date.now() + 30_000;
        // The client retries by itself; a send that still fails (no leader yet) is sent again.
        for (;;) {
          try {
            acked.add((await p.send({ topic: TOPIC, tag: 'failover', body: Buffer.from(`failover-${i}`) })).messageId);
            break;
          } catch (err) {
            if (Date.now() > deadline) throw err;
          }
        }
      }
    } finally {
      await p.shutdown();
    }
    expect(acked.size).toBe(20);
    const c = new SimpleConsumer({ endpoints: via.grpcAddr!, consumerGroup: 'grpc-e2e-failover', subscriptions: new Map([[TOPIC, 'failover']]), logger } as ConstructorParameters<typeof SimpleConsumer>[0]);
    consumers.push(c);
    await c.startup();
    const got = await receiveIds(c, acked, 60_000);
    expect(new Set(got.map((m) => m.messageId))).toEqual(acked);
  }, 150_000);
});

describe('the gRPC endpoint\'s refusals', () => {
  type Call = (req: unknown, cb: (err: grpc.ServiceError | null, resp: { status: { code: string; message: string } }) => void) => void;
  let raw: grpc.Client & Record<string, Call>;
  const call = (method: string, req: unknown): Promise<{ status: { code: string; message: string } }> =>
    new Promise((resolve, reject) => raw[method]!.call(raw, req, (err, resp) => (err ? reject(err) : resolve(resp))));
  const message = (topic: string, extra: Record<string, unknown> = {}): unknown => ({
    topic: { name: topic },
    body: Buffer.from('x'),
    systemProperties: { messageId: 'RAW-1', bodyEncoding: 'IDENTITY', messageType: 'NORMAL', bornHost: 'h', queueId: 0 },
    ...extra,
  });

  beforeAll(() => {
    const Ctor = grpc.makeGenericClientConstructor(messagingServiceDefinition(), 'MessagingService');
    // The failover test killed the leader, which by then may be the node at `endpoints`.
    const live = cluster.nodes.find((n) => n.id !== killedId && n.grpcAddr === endpoints) ?? cluster.nodes.find((n) => n.id !== killedId)!;
    raw = new Ctor(live.grpcAddr!, grpc.credentials.createInsecure()) as typeof raw;
  });
  afterAll(() => raw?.close());

  it('answers each with a v5 status code and a reason', async () => {
    const forbidden = await call('SendMessage', { messages: [message('SCHEDULE_TOPIC_XXXX')] });
    expect(forbidden.status.code).toBe('FORBIDDEN');
    expect(forbidden.status.message).toMatch(/system topic/);
    const reserved = await call('SendMessage', { messages: [message(TOPIC, { userProperties: { UNIQ_KEY: 'x' } })] });
    expect(reserved.status.code).toBe('ILLEGAL_MESSAGE_PROPERTY_KEY');
    const badTopic = await call('QueryRoute', { topic: { name: 'bad topic!' } });
    expect(badTopic.status.code).toBe('ILLEGAL_TOPIC');
    const ack = await call('AckMessage', { group: { name: 'g' }, topic: { name: TOPIC }, entries: [{ messageId: 'm', receiptHandle: 'garbage' }] });
    expect(ack.status.code).toBe('INVALID_RECEIPT_HANDLE');
    const offsets = await call('GetOffset', { group: { name: 'g' }, messageQueue: { topic: { name: TOPIC }, id: 0 } });
    expect(offsets.status.code).toBe('UNSUPPORTED');
    expect(offsets.status.message).toMatch(/remoting pull consumer/);
  }, 30_000);

  it('counts its sends in the node\'s send latency and refusal metrics, as remoting sends are', async () => {
    const id = cluster.nodes.find((n) => n.grpcAddr === endpoints)!.id;
    const metricsAddr = String((await cluster.status(id))?.['metricsAddr']);
    const figures = async (): Promise<{ sends: number; refused: number }> => {
      const m = await readMetrics(metricsAddr, 5000);
      return { sends: metricSum(m, 'rmq_send_duration_seconds', 'rmq_send_duration_seconds_count'), refused: metricSum(m, 'rmq_requests_refused_total', undefined, { request: 'SEND_MESSAGE' }) };
    };
    const before = await figures();
    await producer.send({ topic: TOPIC, tag: 'counted', body: Buffer.from('counted') });
    expect((await call('SendMessage', { messages: [message('SCHEDULE_TOPIC_XXXX')] })).status.code).toBe('FORBIDDEN');
    const after = await figures();
    expect(after.sends - before.sends).toBeGreaterThanOrEqual(2);
    expect(after.refused - before.refused).toBe(1);
  }, 30_000);

  type ReceiveOut = { status?: { code: string }; message?: { systemProperties: { messageId: string; receiptHandle: string } } };
  const receive = (req: unknown): Promise<ReceiveOut[]> =>
    new Promise((resolve, reject) => {
      const out: ReceiveOut[] = [];
      const stream = (raw as unknown as Record<string, (r: unknown) => grpc.ClientReadableStream<ReceiveOut>>)['ReceiveMessage']!.call(raw, req);
      stream.on('data', (d) => out.push(d));
      stream.on('end', () => resolve(out));
      stream.on('error', reject);
    });

  it('answers a receive on an unknown topic or with a too short invisible time without holding it', async () => {
    const base = { group: { name: 'g' }, batchSize: 1, longPollingTimeout: { seconds: 20, nanos: 0 } };
    const unknown = await receive({ ...base, messageQueue: { topic: { name: 'NO_SUCH_TOPIC' }, id: 0 }, invisibleDuration: { seconds: 10, nanos: 0 } });
    expect(unknown.map((o) => o.status?.code)).toEqual(['TOPIC_NOT_FOUND']);
    const short = await receive({ ...base, messageQueue: { topic: { name: TOPIC }, id: 0 }, invisibleDuration: { seconds: 0, nanos: 10_000_000 } });
    expect(short.map((o) => o.status?.code)).toEqual(['ILLEGAL_INVISIBLE_TIME']);
  }, 30_000);

  it('stores a message a client gives up on (ForwardMessageToDeadLetterQueue) in %DLQ%<group>', async () => {
    const group = 'grpc-e2e-forward';
    const got = await receive({ group: { name: group }, messageQueue: { topic: { name: TOPIC }, id: 0 }, batchSize: 1, invisibleDuration: { seconds: 30, nanos: 0 }, longPollingTimeout: { seconds: 5, nanos: 0 } });
    const m = got.find((o) => o.message)!.message!;
    const req = { group: { name: group }, topic: { name: TOPIC }, receiptHandle: m.systemProperties.receiptHandle, messageId: m.systemProperties.messageId, deliveryAttempt: 1, maxDeliveryAttempts: 1 };
    expect((await call('ForwardMessageToDeadLetterQueue', req)).status.code).toBe('OK');
    // Acknowledged with it: the same handle is no longer valid.
    expect((await call('ForwardMessageToDeadLetterQueue', req)).status.code).toBe('INVALID_RECEIPT_HANDLE');
    const pc = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'grpc-e2e-forward-reader' });
    await pc.start();
    try {
      await until('the message is in the dead-letter topic', 30_000, async () => {
        try {
          for (const mq of await pc.fetchQueues(`%DLQ%${group}`)) {
            if ((await pc.pull(mq, 0, 32)).messages.some((x) => x.properties['UNIQ_KEY'] === m.systemProperties.messageId)) return true;
          }
        } catch {
          // the dead-letter topic is created with its first message
        }
        return false;
      });
    } finally {
      await pc.shutdown();
    }
  }, 60_000);
});
