// PushConsumer and PullConsumer against in-process fake brokers and the real NameServer:
// clustering with rebalance on join and leave, broadcasting, orderly consumption, tag filters,
// offsets that never pass an unfinished message and survive a restart, RECONSUME_LATER through
// send-back, flow control, and explicit-offset pulls.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NameServer } from '../src/namesrv/namesrv.js';
import {
  ConsumeFromWhere,
  ConsumeResult,
  MessageModel,
  Producer,
  PullConsumer,
  PushConsumer,
  selectByHash,
  type MessageExt,
  type PushConsumerOptions,
} from '../src/client/index.js';
import { FakeBroker, FakeGroupStore, portAllocator, startNameServer } from './helpers/fake-broker.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';
const nextPort = portAllocator(await findFreeBlock(100));

let namesrv: NameServer;
let namesrvAddr: string;
let store: FakeGroupStore;
let broker: FakeBroker;
let producer: Producer;
const closers: (() => Promise<void>)[] = [];

function consumer(options: Partial<PushConsumerOptions> & { handler: PushConsumerOptions['handler'] }, topic = 'TopicC', tags = '*'): PushConsumer {
  const c = new PushConsumer({
    namesrvAddr,
    consumerGroup: 'cg',
    consumeFromWhere: ConsumeFromWhere.FIRST_OFFSET,
    consumerListPollIntervalMs: 300,
    persistOffsetIntervalMs: 200,
    brokerSuspendMaxTimeMs: 1000,
    ...options,
  });
  c.subscribe(topic, tags);
  closers.push(() => c.shutdown());
  return c;
}

/** Creates a topic on the group and tells the NameServer about it. */
async function createTopic(topic: string, queueNums: number): Promise<void> {
  store.createTopic(topic, queueNums);
  await broker.registerWithNamesrv();
}

function owned(c: PushConsumer, topic = 'TopicC'): number[] {
  return c.assignedQueues().filter((q) => q.topic === topic).map((q) => q.queueId).sort();
}

async function sendN(topic: string, n: number, prefix = 'm'): Promise<void> {
  for (let i = 0; i < n; i++) await producer.send({ topic, body: `${prefix}${i}` });
}

beforeEach(async () => {
  ({ namesrv, namesrvAddr } = await startNameServer(nextPort));
  store = new FakeGroupStore();
  store.createTopic('TopicC', 4);
  broker = new FakeBroker({ store, namesrvAddr, port: nextPort });
  await broker.start();
  producer = new Producer({ namesrvAddr, producerGroup: 'pg' });
  await producer.start();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await producer.shutdown();
  await broker.close();
  await namesrv.close();
});

describe('PushConsumer (clustering)', () => {
  it('consumes every message once and commits offsets on the broker', async () => {
    await sendN('TopicC', 40);
    const seen: string[] = [];
    const c = consumer({ handler: (m) => void seen.push(m.body.toString()) });
    await c.start();
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(40);
    expect(new Set(seen).size).toBe(40);
    await c.shutdown();
    const committed = [0, 1, 2, 3].map((q) => store.offsets.get(`cg@TopicC@${q}`) ?? -1);
    expect(committed).toEqual([0, 1, 2, 3].map((q) => store.queue('TopicC', q)!.length));
    expect(broker.count(35)).toBeGreaterThan(0);
  });

  it.each([
    ['JSON', false],
    ['binary', true],
  ])('moves queues at once when a consumer joins and when it leaves, on the broker\'s notice alone (%s headers)', async (_name, binaryHeaders) => {
    // Periodic rebalance and consumer-list polling are minutes away: only the broker's
    // NOTIFY_CONSUMER_IDS_CHANGED can move the queues within the few seconds allowed.
    const slow = { rebalanceIntervalMs: 600_000, consumerListPollIntervalMs: 600_000, binaryHeaders };
    const a = consumer({ handler: () => undefined, ...slow });
    await a.start();
    expect(owned(a)).toEqual([0, 1, 2, 3]);
    const b = consumer({ handler: () => undefined, ...slow });
    await b.start();
    await expect.poll(() => owned(a).length, { timeout: 3000 }).toBe(2);
    await expect.poll(() => owned(b).length, { timeout: 3000 }).toBe(2);
    expect([...owned(a), ...owned(b)].sort()).toEqual([0, 1, 2, 3]);
    await b.shutdown();
    await expect.poll(() => owned(a), { timeout: 3000 }).toEqual([0, 1, 2, 3]);
  });

  it('delivers only the tags it subscribed to', async () => {
    const seen: string[] = [];
    const c = consumer({ handler: (m) => void seen.push(m.tags ?? '') }, 'TopicC', 'A || B');
    await c.start();
    for (const tags of ['A', 'B', 'C', 'A', 'C']) await producer.send({ topic: 'TopicC', body: tags, tags });
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.sort()).toEqual(['A', 'A', 'B']);
  });

  it('sends a message back when the handler asks to reconsume it, and gets it again with its original topic', async () => {
    const deliveries: MessageExt[] = [];
    const c = consumer({
      handler: (m) => {
        deliveries.push(m);
        return m.body.toString() === 'retry-me' && m.reconsumeTimes === 0 ? ConsumeResult.RECONSUME_LATER : ConsumeResult.CONSUME_SUCCESS;
      },
    });
    await c.start();
    await producer.send({ topic: 'TopicC', body: 'retry-me' });
    await producer.send({ topic: 'TopicC', body: 'fine' });
    await expect.poll(() => deliveries.filter((m) => m.body.toString() === 'retry-me').length, { timeout: 5000 }).toBe(2);
    expect(store.sendBacks).toHaveLength(1);
    expect(store.sendBacks[0]).toMatchObject({ group: 'cg', originTopic: 'TopicC' });
    const again = deliveries.filter((m) => m.body.toString() === 'retry-me')[1]!;
    expect(again.topic).toBe('TopicC');
    expect(again.reconsumeTimes).toBe(1);
  });

  it('re-sends a message to the retry topic itself when the broker refuses the send-back', async () => {
    broker.failSendBack = true;
    const deliveries: MessageExt[] = [];
    const c = consumer({
      handler: (m) => {
        deliveries.push(m);
        return m.reconsumeTimes === 0 ? ConsumeResult.RECONSUME_LATER : ConsumeResult.CONSUME_SUCCESS;
      },
    });
    await c.start();
    await producer.send({ topic: 'TopicC', body: 'again', tags: 'T1' });
    await expect.poll(() => deliveries.length, { timeout: 5000 }).toBe(2);
    expect(store.sendBacks).toHaveLength(0);
    const retried = store.messages('%RETRY%cg');
    expect(retried).toHaveLength(1);
    expect(retried[0]!.props).toMatchObject({ RETRY_TOPIC: 'TopicC', TAGS: 'T1', RECONSUME_TIME: '1' });
    expect(deliveries[1]).toMatchObject({ topic: 'TopicC', reconsumeTimes: 1, tags: 'T1' });
    expect(deliveries[1]!.body.toString()).toBe('again');
  });

  it('waits for a running handler at shutdown and commits its offset', async () => {
    await createTopic('Slow', 1);
    let started = false;
    let finished = false;
    const c = consumer(
      {
        handler: async () => {
          started = true;
          await new Promise((r) => setTimeout(r, 300));
          finished = true;
        },
      },
      'Slow',
    );
    await c.start();
    await producer.send({ topic: 'Slow', body: 'x' });
    await expect.poll(() => started, { timeout: 5000 }).toBe(true);
    await c.shutdown();
    expect(finished).toBe(true);
    expect(store.offsets.get('cg@Slow@0')).toBe(1);
  });

  it('never commits past a message that is still being processed', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const done: number[] = [];
    await createTopic('One', 1);
    const c = consumer(
      {
        handler: async (m) => {
          if (m.queueOffset === 2) await blocked;
          done.push(m.queueOffset);
        },
      },
      'One',
    );
    await sendN('One', 6);
    await c.start();
    await expect.poll(() => done.length, { timeout: 5000 }).toBe(5);
    await new Promise((r) => setTimeout(r, 500));
    expect(store.offsets.get('cg@One@0')).toBe(2);
    release();
    await expect.poll(() => store.offsets.get('cg@One@0'), { timeout: 5000 }).toBe(6);
  });

  it('stops pulling a queue while its in-flight count is over pullThresholdForQueue', async () => {
    await createTopic('Flow', 1);
    await sendN('Flow', 60);
    let started = 0;
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const c = consumer(
      {
        pullThresholdForQueue: 5,
        pullBatchSize: 4,
        handler: async () => {
          started++;
          await blocked;
        },
      },
      'Flow',
    );
    await c.start();
    await expect.poll(() => started, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    await new Promise((r) => setTimeout(r, 400));
    expect(started).toBeLessThanOrEqual(8);
    release();
    await expect.poll(() => started, { timeout: 5000 }).toBe(60);
  });

  it('resumes from the committed offset after a restart without redelivering', async () => {
    await sendN('TopicC', 20, 'old');
    const first: string[] = [];
    const c1 = consumer({ handler: (m) => void first.push(m.body.toString()) });
    await c1.start();
    await expect.poll(() => first.length, { timeout: 5000 }).toBe(20);
    await c1.shutdown();
    await sendN('TopicC', 10, 'new');
    const second: string[] = [];
    const c2 = consumer({ handler: (m) => void second.push(m.body.toString()), consumeFromWhere: ConsumeFromWhere.FIRST_OFFSET });
    await c2.start();
    await expect.poll(() => second.length, { timeout: 5000 }).toBe(10);
    await new Promise((r) => setTimeout(r, 300));
    expect(second.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `new${i}`).sort());
  });

  it('keeps consuming through a leader change and never moves a committed offset backwards', async () => {
    const history = new Map<string, number[]>();
    const originalSet = store.offsets.set.bind(store.offsets);
    store.offsets.set = (key: string, value: number) => {
      history.set(key, [...(history.get(key) ?? []), value]);
      return originalSet(key, value);
    };
    const seen = new Set<string>();
    const c = consumer({ handler: (m) => void seen.add(m.body.toString()) });
    await c.start();
    await sendN('TopicC', 30, 'a');
    await expect.poll(() => seen.size, { timeout: 5000 }).toBe(30);
    // The leader dies; a new one (same replicated store) registers with a higher term.
    await broker.close();
    const next = new FakeBroker({ store, namesrvAddr, port: nextPort, raftTerm: 2, nodeId: 'n1' });
    await next.start();
    closers.push(() => next.close());
    await sendN('TopicC', 30, 'b');
    await expect.poll(() => seen.size, { timeout: 8000 }).toBe(60);
    // The new leader gets the consumer's heartbeat without waiting for the 30 s cycle.
    await expect.poll(() => next.count(34), { timeout: 3000 }).toBeGreaterThan(0);
    await c.shutdown();
    for (const [key, values] of history) {
      for (let i = 1; i < values.length; i++) expect(values[i], `${key} went from ${values[i - 1]} to ${values[i]}`).toBeGreaterThanOrEqual(values[i - 1]!);
    }
    expect(next.count(11)).toBeGreaterThan(0);
  });

  it('starts a new group at the end of the queues by default (CONSUME_FROM_LAST_OFFSET)', async () => {
    await sendN('TopicC', 8, 'before');
    const seen: string[] = [];
    const c = consumer({ handler: (m) => void seen.push(m.body.toString()), consumeFromWhere: ConsumeFromWhere.LAST_OFFSET });
    await c.start();
    await sendN('TopicC', 4, 'after');
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(4);
    expect(seen.every((s) => s.startsWith('after'))).toBe(true);
  });

  it('consumes one queue in order with orderly: true even when handlers take varying time', async () => {
    await createTopic('Ordered', 4);
    for (let i = 0; i < 30; i++) await producer.send({ topic: 'Ordered', body: String(i) }, { selector: selectByHash, arg: 'k' });
    const seen: number[] = [];
    const c = consumer(
      {
        orderly: true,
        handler: async (m) => {
          await new Promise((r) => setTimeout(r, (Number(m.body.toString()) * 7) % 5));
          seen.push(Number(m.body.toString()));
        },
      },
      'Ordered',
    );
    await c.start();
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(30);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('rejects an invalid group name and a start without a handler', async () => {
    expect(() => new PushConsumer({ namesrvAddr, consumerGroup: 'no spaces allowed' })).toThrow(expect.objectContaining({ code: 'ERR_CLIENT_INVALID_GROUP' }));
    const c = new PushConsumer({ namesrvAddr, consumerGroup: 'cg' });
    c.subscribe('TopicC');
    await expect(c.start()).rejects.toMatchObject({ code: 'ERR_CLIENT_STATE' });
    expect(() => c.subscribe('bad topic')).toThrow(expect.objectContaining({ code: 'ERR_CLIENT_INVALID_TOPIC' }));
  });

  it('fails start with a typed error for a NameServer that does not answer', async () => {
    const c = new PushConsumer({ namesrvAddr: `127.0.0.1:${nextPort()}`, consumerGroup: 'cg', handler: () => undefined });
    c.subscribe('TopicC');
    await expect(c.start()).rejects.toMatchObject({ code: 'ERR_CLIENT_NAMESRV_UNREACHABLE', message: expect.stringContaining('check namesrvAddr') });
  });
});

describe('PushConsumer (broadcasting)', () => {
  it('delivers every message to every consumer and keeps offsets in a local file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rmq-client-bcast-'));
    try {
      const seenA: string[] = [];
      const seenB: string[] = [];
      const common = { messageModel: MessageModel.BROADCASTING, offsetStoreDir: dir, consumeFromWhere: ConsumeFromWhere.LAST_OFFSET };
      const a = consumer({ ...common, instanceName: 'bcast-a', handler: (m) => void seenA.push(m.body.toString()) });
      const b = consumer({ ...common, instanceName: 'bcast-b', handler: (m) => void seenB.push(m.body.toString()) });
      await a.start();
      await b.start();
      expect(owned(a)).toEqual([0, 1, 2, 3]);
      expect(owned(b)).toEqual([0, 1, 2, 3]);
      await sendN('TopicC', 12);
      await expect.poll(() => seenA.length, { timeout: 5000 }).toBe(12);
      await expect.poll(() => seenB.length, { timeout: 5000 }).toBe(12);
      await a.shutdown();
      // A restarted broadcasting consumer resumes from its file: it sees only what is new.
      await sendN('TopicC', 3, 'late');
      const seenA2: string[] = [];
      const a2 = consumer({ ...common, instanceName: 'bcast-a', handler: (m) => void seenA2.push(m.body.toString()) });
      await a2.start();
      await expect.poll(() => seenA2.length, { timeout: 5000 }).toBe(3);
      expect(seenA2.sort()).toEqual(['late0', 'late1', 'late2']);
      expect(store.offsets.size).toBe(0);
    } finally {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PullConsumer', () => {
  it('pulls from explicit offsets and commits and queries the group offset', async () => {
    await sendN('TopicC', 12);
    const pc = new PullConsumer({ namesrvAddr, consumerGroup: 'pull-group' });
    await pc.start();
    closers.push(() => pc.shutdown());
    const queues = await pc.fetchQueues('TopicC');
    expect(queues.map((q) => q.queueId)).toEqual([0, 1, 2, 3]);
    let total = 0;
    for (const mq of queues) {
      const max = await pc.maxOffset(mq);
      expect(await pc.minOffset(mq)).toBe(0);
      const r = await pc.pull(mq, 0, 32);
      expect(r.status).toBe('FOUND');
      expect(r.messages.map((m) => m.queueOffset)).toEqual(Array.from({ length: max }, (_, i) => i));
      expect(r.nextBeginOffset).toBe(max);
      const empty = await pc.pull(mq, max, 32);
      expect(empty.status).toBe('NO_NEW_MSG');
      total += r.messages.length;
      expect(await pc.queryOffset(mq)).toBe(-1);
      await pc.commitOffset(mq, max);
      expect(await pc.queryOffset(mq)).toBe(max);
    }
    expect(total).toBe(12);
    const moved = await pc.pull(queues[0]!, 1_000, 32);
    expect(moved.status).toBe('OFFSET_ILLEGAL');
  });
});
