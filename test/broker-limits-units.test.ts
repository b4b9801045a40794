// Unit tests of the broker's bounds on hostile input: a consumer the registry refuses gets no
// replicated group or retry topic, metadata holding names an older version let in loads without
// them (so metadata snapshots work again), the background metadata save writes the same JSON
// while letting the event loop run, and the new broker.conf limits parse.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BROKER_CONFIG, parseBrokerConfig } from '../src/broker/broker-config.js';
import type { BrokerContext } from '../src/broker/broker-context.js';
import { ConsumerManager } from '../src/broker/consumer-manager.js';
import { checkTopicLimits } from '../src/broker/metadata-limits.js';
import { jsonSlices } from '../src/broker/metadata-file.js';
import { MetadataState } from '../src/broker/metadata-state.js';
import { encodeSnapshotParts } from '../src/broker/metadata-snapshot.js';
import { heartbeatProcessor } from '../src/broker/processors/heartbeat.js';
import { makeRequest, RequestCode, ResponseCode, SerializeType, type RemotingChannel, type RemotingCommand } from '../src/protocol/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'broker-limits-'));
  dirs.push(d);
  return d;
}

const channel: RemotingChannel = {
  id: 1, remoteAddress: '127.0.0.1:1', closed: false, inflightRequests: 0, serializeType: SerializeType.JSON,
  send: () => true, sendOneway: () => true, close: () => undefined,
};

const consumerData = (group: string) => ({
  groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
  subscriptionDataSet: [{ topic: 'T', subString: '*', tagsSet: [], codeSet: [], subVersion: 1 }],
});

function fakeContext(consumers: ConsumerManager): { ctx: BrokerContext; proposed: unknown[]; ensured: string[] } {
  const proposed: unknown[] = [];
  const ensured: string[] = [];
  const ctx = {
    config: DEFAULT_BROKER_CONFIG,
    log: pino({ level: 'silent' }),
    consumers,
    nowMs: () => 0,
    metadata: { subscriptionGroup: () => undefined, subscriptionGroupCount: () => 0 },
    raft: { isLeader: () => true, proposeControl: (c: unknown) => { proposed.push(c); return Promise.resolve({ index: 1 }); } },
    ensureTopic: (topic: string) => { ensured.push(topic); return Promise.resolve(undefined); },
  } as unknown as BrokerContext;
  return { ctx, proposed, ensured };
}

describe('the heartbeat', () => {
  it('creates no subscription group or retry topic for a consumer the client registry refuses', async () => {
    const consumers = new ConsumerManager();
    // Bounded: the registry's group bound (10,000), reached once.
    for (let i = 0; ; i++) if (!consumers.registerConsumer(`c${i}`, channel, consumerData(`Fill${i}`), 0)) break;
    const { ctx, proposed, ensured } = fakeContext(consumers);
    const body = Buffer.from(JSON.stringify({ clientID: '10.0.0.1@1', producerDataSet: [], consumerDataSet: [consumerData('OneTooMany')] }));
    const resp = await heartbeatProcessor.handle(ctx, makeRequest(RequestCode.HEART_BEAT, {}, { body }), channel) as RemotingCommand;
    await new Promise((r) => setImmediate(r));
    expect(resp.code).toBe(ResponseCode.SUCCESS);
    expect(consumers.consumerIds('OneTooMany')).toEqual([]);
    expect(proposed).toEqual([]);
    expect(ensured).toEqual([]);
  });

  it('refuses a subscription larger than the registry keeps, and keeps nothing of that heartbeat', async () => {
    const consumers = new ConsumerManager();
    const { ctx, proposed } = fakeContext(consumers);
    const data = consumerData('BigSub');
    data.subscriptionDataSet[0]!.subString = 'x'.repeat(20_000);
    const body = Buffer.from(JSON.stringify({ clientID: '10.0.0.1@1', producerDataSet: [], consumerDataSet: [data] }));
    const resp = await heartbeatProcessor.handle(ctx, makeRequest(RequestCode.HEART_BEAT, {}, { body }), channel) as RemotingCommand;
    expect(resp.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(resp.remark).toMatch(/subString must be a string of at most/);
    expect(consumers.consumerIds('BigSub')).toEqual([]);
    expect(proposed).toEqual([]);
  });
});

describe('topic and queue limits', () => {
  const topic = (topicName: string, queues: number) => ({ topicName, readQueueNums: queues, writeQueueNums: queues, perm: 6, topicSysFlag: 0 });
  const view = (topics: ReturnType<typeof topic>[]) => ({ topic: (n: string) => topics.find((t) => t.topicName === n), topics: () => topics.values() }) as unknown as Parameters<typeof checkTopicLimits>[1];
  const config = { ...DEFAULT_BROKER_CONFIG, maxTopicCount: 3, maxQueueCount: 10 };

  it('count queues over all topics, so growing a topic past maxQueueCount is refused but shrinking it is not', () => {
    const tables = view([topic('A', 4), topic('B', 4)]);
    expect(() => checkTopicLimits(config, tables, topic('C', 2))).not.toThrow();
    expect(() => checkTopicLimits(config, tables, topic('C', 3))).toThrow(/maxQueueCount/);
    expect(() => checkTopicLimits(config, tables, topic('A', 7))).toThrow(/maxQueueCount/);
    expect(() => checkTopicLimits({ ...config, maxQueueCount: 5 }, tables, topic('A', 1))).not.toThrow();
  });

  it('refuse a new topic past maxTopicCount and still let an existing one change', () => {
    const tables = view([topic('A', 1), topic('B', 1), topic('C', 1)]);
    expect(() => checkTopicLimits(config, tables, topic('D', 1))).toThrow(/maxTopicCount/);
    expect(() => checkTopicLimits(config, tables, topic('C', 2))).not.toThrow();
  });
});

describe('metadata with names an older version let in', () => {
  it('loads without them, so a metadata snapshot of the tables fits its entries again', () => {
    const file = join(tempDir(), 'metadata.json');
    const hugeGroup = 'G'.repeat(2 * 1024 * 1024);
    writeFileSync(file, JSON.stringify({
      version: 1, appliedIndex: 7,
      topics: [
        { topicName: 'Good', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 },
        { topicName: '%RETRY%bad group', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicSysFlag: 0 },
      ],
      groups: [{ groupName: 'bad group', consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16 }],
      offsets: [[hugeGroup, 'Good@0', 5], ['GoodGroup', 'Good@1', 9]],
      delayOffsets: [], leader: null, brokerAddrs: [],
    }));
    const m = MetadataState.load(file);
    expect([...m.topics()].map((t) => t.topicName)).toEqual(['Good']);
    expect(m.subscriptionGroup('bad group')).toBeUndefined();
    expect(m.consumerOffset(hugeGroup, 'Good', 0)).toBeUndefined();
    expect(m.consumerOffset('GoodGroup', 'Good', 1)).toBe(9);
    expect(() => encodeSnapshotParts(m.toTables(), 7, { maxEntryBytes: 1024 * 1024, maxParts: 16 })).not.toThrow();
  });

  it('applies the valid part of a committed command and skips names that break the rules', () => {
    const m = new MetadataState();
    m.apply(1, { kind: 'consumer-offsets', offsets: [{ group: 'bad group', topic: 'T', queueId: 0, offset: 3 }, { group: 'G', topic: 'T', queueId: 0, offset: 4 }] });
    m.apply(2, { kind: 'group-upsert', config: { groupName: 'x'.repeat(256), consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16 } });
    expect(m.consumerOffset('bad group', 'T', 0)).toBeUndefined();
    expect(m.consumerOffset('G', 'T', 0)).toBe(4);
    expect(m.subscriptionGroupCount()).toBe(0);
    expect(m.appliedIndex).toBe(2);
  });
});

describe('the background metadata save', () => {
  it('slices into exactly the text JSON.stringify gives, for any object of scalars and lists', () => {
    const list = fc.array(fc.oneof(fc.integer(), fc.string(), fc.tuple(fc.string(), fc.integer())), { maxLength: 4500 });
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.oneof(list, fc.integer(), fc.constant(null), fc.string())), (obj) => {
      expect([...jsonSlices(obj)].join('')).toBe(JSON.stringify(obj));
    }), { numRuns: 60 });
  });

  it('writes the JSON a synchronous save writes, and lets the event loop run while it writes', async () => {
    const m = new MetadataState();
    const offsets = Array.from({ length: 50_000 }, (_, i) => ({ group: `Group${i % 50}`, topic: `Topic${i % 7}`, queueId: i, offset: i }));
    m.apply(1, { kind: 'consumer-offsets', offsets });
    m.apply(2, { kind: 'topic-upsert', config: { topicName: 'T', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicSysFlag: 0 } });
    const dir = tempDir();
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const turnsBefore = turns;
    await m.saveInBackground(join(dir, 'bg.json'));
    spinning = false;
    expect(m.dirty).toBe(false);
    // More event-loop turns than file writes alone would give: the tables go in several slices.
    expect(turns - turnsBefore).toBeGreaterThan(10);
    m.save(join(dir, 'sync.json'));
    expect(readFileSync(join(dir, 'bg.json'), 'utf8')).toBe(readFileSync(join(dir, 'sync.json'), 'utf8'));
    expect(MetadataState.load(join(dir, 'bg.json')).consumerOffset('Group3', 'Topic3', 3)).toBe(3);
  });

  it('leaves the newest tables on disk when a synchronous save runs while a background one writes', async () => {
    const file = join(tempDir(), 'metadata.json');
    const m = new MetadataState();
    m.apply(1, { kind: 'consumer-offsets', offsets: Array.from({ length: 20_000 }, (_, i) => ({ group: 'G', topic: 'T', queueId: i, offset: 1 })) });
    const background = m.saveInBackground(file);
    m.apply(2, { kind: 'topic-upsert', config: { topicName: 'Newer', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicSysFlag: 0 } });
    m.save(file);
    await background;
    const loaded = MetadataState.load(file);
    expect(loaded.appliedIndex).toBe(2);
    expect(loaded.topic('Newer')).toBeDefined();
  });
});

describe('broker.conf limits', () => {
  const base = ['dLegerPeers=n0-127.0.0.1:40911', 'dLegerSelfId=n0'];

  it('read every limit key and refuse a value out of range naming the key', () => {
    const { config, warnings } = parseBrokerConfig([...base, 'maxTopicCount=10', 'maxQueueCount=20', 'maxSubscriptionGroupCount=30', 'maxConsumerOffsetCount=40', 'maxControlEntryBytes=65536', 'maxHeldPullsPerConnection=5'].join('\n'));
    expect(warnings).toEqual([]);
    expect([config.maxTopicCount, config.maxQueueCount, config.maxSubscriptionGroupCount, config.maxConsumerOffsetCount, config.maxControlEntryBytes, config.maxHeldPullsPerConnection]).toEqual([10, 20, 30, 40, 65536, 5]);
    expect(() => parseBrokerConfig([...base, 'maxTopicCount=0'].join('\n'))).toThrow(/maxTopicCount=0 is invalid/);
  });
});
