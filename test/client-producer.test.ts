// The Producer against in-process fake brokers and the real NameServer: sync, async, oneway,
// batch and ordered sends; retry and re-route through a leader change with nothing acknowledged
// lost; typed, actionable errors for bad input.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NameServer } from '../src/namesrv/namesrv.js';
import { Producer, selectByHash, TransactionProducer, type SendResult } from '../src/client/index.js';
import { RequestCode } from '../src/protocol/index.js';
import { until } from './helpers/poll.js';
import { FakeBroker, FakeGroupStore, portAllocator, startNameServer } from './helpers/fake-broker.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';
const nextPort = portAllocator(await findFreeBlock(100));

let namesrv: NameServer;
let namesrvAddr: string;
let store: FakeGroupStore;
const closers: (() => Promise<void>)[] = [];

async function startBroker(options: Partial<ConstructorParameters<typeof FakeBroker>[0]> = {}): Promise<FakeBroker> {
  const b = new FakeBroker({ store, namesrvAddr, port: nextPort, ...options });
  await b.start();
  closers.push(() => b.close());
  return b;
}

async function startProducer(options: ConstructorParameters<typeof Producer>[0] = {}): Promise<Producer> {
  const p = new Producer({ namesrvAddr, producerGroup: 'pg', ...options });
  await p.start();
  closers.push(() => p.shutdown());
  return p;
}

beforeEach(async () => {
  ({ namesrv, namesrvAddr } = await startNameServer(nextPort));
  store = new FakeGroupStore();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await namesrv.close();
});

describe('TransactionProducer', () => {
  it('heartbeats a replica that joined the route after its last refresh within a heartbeat period, so the replica can check with it when it leads', async () => {
    store.createTopic('TxT', 2);
    await startBroker();
    const producer = new TransactionProducer({
      namesrvAddr, producerGroup: 'tx', topics: ['TxT'], heartbeatIntervalMs: 200,
      listener: { executeLocalTransaction: () => 'COMMIT_MESSAGE', checkLocalTransaction: () => 'COMMIT_MESSAGE' },
    });
    await producer.start();
    closers.push(() => producer.shutdown());
    // Registered after the producer cached the route (the route refresh is 30 s away).
    const late = await startBroker({ brokerId: 1 });
    await until('the late replica hears a heartbeat', 5000, () => (late.requestCounts.get(RequestCode.HEART_BEAT) ?? 0) > 0);
  });
});

describe('Producer', () => {
  it('sends a message that is stored with its tags, keys, properties and a unique id', async () => {
    store.createTopic('TopicA', 4);
    await startBroker();
    const producer = await startProducer();
    const r = await producer.send({ topic: 'TopicA', body: 'hello', tags: 'TagA', keys: ['k1', 'k2'], properties: { color: 'red' } });
    expect(r.status).toBe('SEND_OK');
    expect(r.msgId).toMatch(/^[0-9A-F]{32}$/);
    expect(r.offsetMsgId).toMatch(/^[0-9A-F]{32}$/);
    const stored = store.messages('TopicA');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.body.toString()).toBe('hello');
    expect(stored[0]!.queueId).toBe(r.queueId);
    expect(stored[0]!.queueOffset).toBe(r.queueOffset);
    expect(stored[0]!.props).toMatchObject({ TAGS: 'TagA', KEYS: 'k1 k2', color: 'red', UNIQ_KEY: r.msgId });
  });

  it('spreads sends over the queues and compresses large bodies', async () => {
    store.createTopic('TopicA', 4);
    await startBroker();
    const producer = await startProducer();
    const results: SendResult[] = [];
    for (let i = 0; i < 8; i++) results.push(await producer.send({ topic: 'TopicA', body: `m${i}` }));
    expect(new Set(results.map((r) => r.queueId)).size).toBe(4);
    const big = Buffer.alloc(10_000, 'x');
    await producer.send({ topic: 'TopicA', body: big });
    const stored = store.messages('TopicA').find((m) => (m.sysFlag & 1) === 1);
    expect(stored).toBeDefined();
    expect(stored!.body.length).toBeLessThan(big.length);
  });

  it('sends asynchronously with a callback and a promise, and one-way without a reply', async () => {
    store.createTopic('TopicA', 2);
    await startBroker();
    const producer = await startProducer();
    const viaCallback = new Promise<SendResult>((resolve, reject) =>
      producer.sendAsync({ topic: 'TopicA', body: 'cb' }, (err, r) => (err ? reject(err) : resolve(r!))),
    );
    const viaPromise = producer.sendAsync({ topic: 'TopicA', body: 'p' });
    const [a, b] = await Promise.all([viaCallback, viaPromise]);
    expect(a.status).toBe('SEND_OK');
    expect(b.status).toBe('SEND_OK');
    await producer.sendOneway({ topic: 'TopicA', body: 'oneway' });
    await expect.poll(() => store.messages('TopicA').length, { timeout: 2000 }).toBe(3);
  });

  it('can use the binary header type and still get typed results', async () => {
    store.createTopic('TopicA', 2);
    await startBroker();
    const producer = await startProducer({ binaryHeaders: true });
    const r = await producer.send({ topic: 'TopicA', body: 'bin', tags: 'B' });
    expect(r.status).toBe('SEND_OK');
    expect(store.messages('TopicA')[0]!.props['TAGS']).toBe('B');
  });

  it('sends a batch to one queue in order with SEND_BATCH_MESSAGE', async () => {
    store.createTopic('TopicB', 4);
    const broker = await startBroker();
    const producer = await startProducer();
    const msgs = Array.from({ length: 10 }, (_, i) => ({ topic: 'TopicB', body: `b${i}`, keys: `key${i}` }));
    const r = await producer.sendBatch(msgs);
    expect(broker.count(320)).toBe(1);
    expect(r.msgId.split(',')).toHaveLength(10);
    const q = store.queue('TopicB', r.queueId)!;
    expect(q.map((m) => m.body.toString())).toEqual(msgs.map((m) => m.body));
    expect(q.map((m) => m.props['KEYS'])).toEqual(msgs.map((m) => m.keys));
  });

  it('refuses a batch that mixes topics with a message that says what to change', async () => {
    await startBroker();
    const producer = await startProducer();
    await expect(producer.sendBatch([{ topic: 'T1', body: 'a' }, { topic: 'T2', body: 'b' }])).rejects.toMatchObject({
      code: 'ERR_CLIENT_INVALID_MESSAGE',
      message: expect.stringContaining('same topic'),
    });
  });

  it('sends every message with the same selector argument to the same queue, in order', async () => {
    store.createTopic('Orders', 8);
    await startBroker();
    const producer = await startProducer();
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'Orders', body: `order-7-step-${i}` }, { selector: selectByHash, arg: 'order-7' });
      await producer.send({ topic: 'Orders', body: `order-9-step-${i}` }, { selector: selectByHash, arg: 'order-9' });
    }
    for (const id of ['order-7', 'order-9']) {
      const mine = store.messages('Orders').filter((m) => m.body.toString().startsWith(`${id}-`));
      expect(new Set(mine.map((m) => m.queueId)).size).toBe(1);
      expect(mine.map((m) => m.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `${id}-step-${i}`));
    }
  });

  it('follows a leader change: retries re-query the NameServer and no acknowledged send is lost', async () => {
    store.createTopic('Failover', 4);
    const first = await startBroker({ raftTerm: 1, nodeId: 'n0' });
    const producer = await startProducer({ sendMsgTimeoutMs: 3000, retryTimesWhenSendFailed: 3 });
    const acked: SendResult[] = [];
    const failed: unknown[] = [];
    const leaders = [first];
    const starts: Promise<void>[] = [];
    /** A new leader with a higher term registers as brokerId 0 a moment after the old one went. */
    const electLater = (term: number): void => {
      const next = new FakeBroker({ store, namesrvAddr, port: nextPort, raftTerm: term, nodeId: `n${term - 1}` });
      closers.push(() => next.close());
      leaders.push(next);
      starts.push(new Promise((resolve, reject) => setTimeout(() => next.start().then(resolve, reject), 150)));
    };
    for (let i = 0; i < 120; i++) {
      // The first leader steps down (answers "not leader") while a new one is being elected.
      if (i === 40) {
        first.refuseSendsAsNotLeader = true;
        electLater(2);
      }
      // The second leader dies outright (connection refused) and a third takes over.
      if (i === 80) {
        await leaders[1]!.close();
        electLater(3);
      }
      try {
        acked.push(await producer.send({ topic: 'Failover', body: `v${i}` }));
      } catch (err) {
        failed.push(err);
      }
    }
    await Promise.all(starts);
    expect(failed).toEqual([]);
    expect(acked).toHaveLength(120);
    const storedBodies = new Set(store.messages('Failover').map((m) => m.body.toString()));
    for (let i = 0; i < 120; i++) expect(storedBodies.has(`v${i}`)).toBe(true);
    for (const leader of leaders) expect(leader.count(310)).toBeGreaterThan(0);
  });

  it('avoids a broker group whose last send failed and sends to the other one', async () => {
    store.createTopic('Spread', 2);
    const storeB = new FakeGroupStore();
    storeB.createTopic('Spread', 2);
    const a = await startBroker({ brokerName: 'broker-a' });
    const b = await startBroker({ brokerName: 'broker-b', store: storeB });
    a.refuseSendsAsNotLeader = true;
    const producer = await startProducer({ retryTimesWhenSendFailed: 1, retryBackoffMs: 1 });
    for (let i = 0; i < 20; i++) expect((await producer.send({ topic: 'Spread', body: `s${i}` })).brokerName).toBe('broker-b');
    // Only the first send tried broker-a; after that its address was in back-off.
    expect(a.count(310)).toBe(1);
    expect(b.count(310)).toBe(20);
  });

  it('bounds the asynchronous sends in flight', async () => {
    store.createTopic('Async', 1);
    const broker = await startBroker();
    broker.sendDelayMs = 100;
    const producer = await startProducer({ maxAsyncSendsInFlight: 2 });
    const first = [producer.sendAsync({ topic: 'Async', body: '1' }), producer.sendAsync({ topic: 'Async', body: '2' })];
    await expect(producer.sendAsync({ topic: 'Async', body: '3' })).rejects.toMatchObject({ code: 'ERR_CLIENT_TOO_MANY_ASYNC_SENDS', outcomeUnknown: false });
    await Promise.all(first);
    await expect(producer.sendAsync({ topic: 'Async', body: '4' })).resolves.toMatchObject({ status: 'SEND_OK' });
  });

  it('fails a send that gets no answer in time with ERR_CLIENT_SEND_TIMEOUT and outcomeUnknown', async () => {
    store.createTopic('Slow', 1);
    const broker = await startBroker();
    const producer = await startProducer({ sendMsgTimeoutMs: 300, retryTimesWhenSendFailed: 0 });
    broker.sendDelayMs = 1000;
    const err = await producer.send({ topic: 'Slow', body: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CLIENT_SEND_TIMEOUT', outcomeUnknown: true });
    expect((err as Error).message).toContain('outcome is unknown');
  });
});

describe('Producer bad input', () => {
  it('names the NameServer address it could not reach', async () => {
    const producer = await startProducer({ namesrvAddr: `127.0.0.1:${nextPort()}` });
    const err = await producer.send({ topic: 'TopicA', body: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CLIENT_NAMESRV_UNREACHABLE' });
    expect((err as Error).message).toMatch(/check namesrvAddr/);
  });

  it('rejects a malformed NameServer address at start with ERR_CLIENT_CONFIG', async () => {
    const producer = new Producer({ namesrvAddr: 'localhost' });
    await expect(producer.start()).rejects.toMatchObject({ code: 'ERR_CLIENT_CONFIG', message: expect.stringContaining('host:port') });
  });

  it('says how to create a topic that does not exist when auto-create is off', async () => {
    await startBroker({ autoCreateTopicEnable: false });
    const producer = await startProducer();
    const err = await producer.send({ topic: 'NoSuchTopic', body: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CLIENT_TOPIC_NOT_EXIST' });
    expect((err as Error).message).toMatch(/updateTopic|autoCreateTopicEnable/);
  });

  it('refuses a body over 4 MiB before sending anything', async () => {
    const broker = await startBroker();
    const producer = await startProducer();
    const err = await producer.send({ topic: 'TopicA', body: Buffer.alloc(4 * 1024 * 1024 + 1) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CLIENT_MESSAGE_TOO_LARGE' });
    expect((err as Error).message).toMatch(/4194305 bytes exceeds the limit of 4194304/);
    expect(broker.count(310)).toBe(0);
  });

  it('rejects invalid topic and group names with the rule to follow', async () => {
    expect(() => new Producer({ namesrvAddr, producerGroup: 'bad group!' })).toThrow(expect.objectContaining({ code: 'ERR_CLIENT_INVALID_GROUP' }));
    const producer = await startProducer();
    await expect(producer.send({ topic: 'bad topic', body: 'x' })).rejects.toMatchObject({
      code: 'ERR_CLIENT_INVALID_TOPIC',
      message: expect.stringContaining('[%|a-zA-Z0-9_-]'),
    });
    await expect(producer.send({ topic: 'T', body: '' })).rejects.toMatchObject({ code: 'ERR_CLIENT_INVALID_MESSAGE' });
  });

  it('refuses to send before start and after shutdown', async () => {
    const producer = new Producer({ namesrvAddr });
    await expect(producer.send({ topic: 'T', body: 'x' })).rejects.toMatchObject({ code: 'ERR_CLIENT_STATE' });
    await producer.start();
    await producer.shutdown();
    await expect(producer.send({ topic: 'T', body: 'x' })).rejects.toMatchObject({ code: 'ERR_CLIENT_STATE' });
  });
});
