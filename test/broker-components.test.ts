// Unit tests of the broker's building blocks: the control-entry codec, the metadata state
// machine (idempotent apply, snapshot round trip, replay after a crash), long-poll holds, the
// client registry and its consumer-ids notifications, and the delay-level rewrite.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeControlEntry, encodeControlEntry, isControlPayload, type ControlCommand } from '../src/broker/control-entry.js';
import { ConsumerIdsNotifier } from '../src/broker/consumer-ids-notifier.js';
import { ConsumerManager } from '../src/broker/consumer-manager.js';
import { applyDelayLevel, replaceProperty } from '../src/broker/delay-rewrite.js';
import { MetadataState } from '../src/broker/metadata-state.js';
import { BUSY_HOLD_MS, PullHoldService } from '../src/broker/pull-hold-service.js';
import { tagFilter } from '../src/broker/processors/pull-message.js';
import { SerializeType, type RemotingChannel, type RemotingCommand } from '../src/protocol/index.js';
import { encodeMessageRecord, isMessageRecordPayload, javaStringHash, type MessageRecord } from '../src/store/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const name = fc.stringMatching(/^[A-Za-z0-9_%-]{1,40}$/);
const command: fc.Arbitrary<ControlCommand> = fc.oneof(
  fc.record({ kind: fc.constant('topic-upsert' as const), config: fc.record({ topicName: name, readQueueNums: fc.nat(64), writeQueueNums: fc.nat(64), perm: fc.nat(7), topicSysFlag: fc.nat() }) }),
  fc.record({ kind: fc.constant('topic-delete' as const), topic: name }),
  fc.record({ kind: fc.constant('consumer-offsets' as const), offsets: fc.array(fc.record({ group: name, topic: name, queueId: fc.nat(1024), offset: fc.maxSafeNat() }), { maxLength: 20 }) }),
  fc.record({ kind: fc.constant('delay-offsets' as const), offsets: fc.array(fc.record({ level: fc.integer({ min: 1, max: 18 }), offset: fc.maxSafeNat() }), { maxLength: 18 }) }),
  fc.record({ kind: fc.constant('leader' as const), announcement: fc.record({ nodeId: name, term: fc.nat(), brokerAddr: fc.constant('127.0.0.1:10911') }) }),
);

function channel(): RemotingChannel & { closed: boolean; oneway: RemotingCommand[] } {
  const oneway: RemotingCommand[] = [];
  return {
    id: 1, remoteAddress: '127.0.0.1:1', closed: false, inflightRequests: 0, serializeType: SerializeType.JSON, oneway,
    send: () => true,
    sendOneway: (cmd) => oneway.push(cmd) > 0,
    close() { this.closed = true; },
  };
}

describe('control entries', () => {
  it('decode to exactly what was encoded and are never mistaken for message records', () => {
    fc.assert(fc.property(command, (c) => {
      const bytes = encodeControlEntry(c);
      expect(isControlPayload(bytes)).toBe(true);
      expect(isMessageRecordPayload(bytes)).toBe(false);
      expect(decodeControlEntry(bytes)).toEqual(c);
    }));
  });

  it('are told apart from message record payloads', () => {
    const record: MessageRecord = { topic: 'T', queueId: 0, flag: 0, queueOffset: 0, physicalOffset: -1, sysFlag: 0, bornTimestamp: 1, bornHost: '127.0.0.1', bornPort: 1, storeTimestamp: 2, storeHost: '127.0.0.1', storePort: 2, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('b'), properties: '' };
    expect(isControlPayload(encodeMessageRecord(record))).toBe(false);
  });

  it('refuse a payload of another version or kind with a typed error', () => {
    const bytes = encodeControlEntry({ kind: 'topic-delete', topic: 'T' });
    bytes[8] = 9;
    expect(() => decodeControlEntry(bytes)).toThrow(/version 9/);
    expect(() => decodeControlEntry(Buffer.from('RMQBCTL1\x01\xc0'))).toThrow(expect.objectContaining({ code: 'ERR_BROKER_BAD_CONTROL_ENTRY' }));
  });
});

describe('the metadata state machine', () => {
  it('ignores a command redelivered at or below its applied index', () => {
    const m = new MetadataState();
    expect(m.apply(5, { kind: 'consumer-offsets', offsets: [{ group: 'G', topic: 'T', queueId: 0, offset: 10 }] })).toBe(true);
    expect(m.apply(5, { kind: 'consumer-offsets', offsets: [{ group: 'G', topic: 'T', queueId: 0, offset: 99 }] })).toBe(false);
    expect(m.apply(4, { kind: 'consumer-offsets', offsets: [{ group: 'G', topic: 'T', queueId: 0, offset: 98 }] })).toBe(false);
    expect(m.consumerOffset('G', 'T', 0)).toBe(10);
    expect(m.appliedIndex).toBe(5);
  });

  it('keeps the announcement of the highest term and every node address it learned', () => {
    const m = new MetadataState();
    m.apply(1, { kind: 'leader', announcement: { nodeId: 'n0', term: 1, brokerAddr: 'a:1' } });
    m.apply(2, { kind: 'leader', announcement: { nodeId: 'n1', term: 2, brokerAddr: 'b:2' } });
    expect(m.leaderAnnouncement()).toEqual({ nodeId: 'n1', term: 2, brokerAddr: 'b:2' });
    expect(m.brokerAddrOf('n0')).toBe('a:1');
  });

  it('saves and loads a snapshot that equals the state applied from the same commands', () => {
    const dir = mkdtempSync(join(tmpdir(), 'broker-meta-'));
    dirs.push(dir);
    fc.assert(fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
      const m = new MetadataState();
      commands.forEach((c, i) => m.apply(i + 1, c));
      const file = join(dir, 'metadata.json');
      m.save(file);
      const loaded = MetadataState.load(file);
      expect(loaded.toSnapshot()).toEqual(m.toSnapshot());
      expect(loaded.dirty).toBe(false);
    }), { numRuns: 30 });
    expect(MetadataState.load(join(dir, 'absent.json')).appliedIndex).toBe(0);
  });
});

describe('long-poll holds', () => {
  it('wake the pulls of a queue when a message arrives there and not those of other queues', async () => {
    const holds = new PullHoldService();
    holds.start();
    try {
      const a = holds.wait('T', 0, 5000, channel());
      const b = holds.wait('T', 1, 200, channel());
      expect(holds.heldCount).toBe(2);
      holds.notify('T', 0);
      expect(await a).toBe('arrived');
      expect(await b).toBe('timeout');
      expect(holds.heldCount).toBe(0);
    } finally {
      holds.stop();
    }
  });

  it('make a pull past a bound wait a short back-off instead of answering it at once, and release a pull whose channel closed', async () => {
    const holds = new PullHoldService({ maxHolds: 1 });
    holds.start();
    try {
      const ch = channel();
      const held = holds.wait('T', 0, 5000, ch);
      const t0 = Date.now();
      expect(await holds.wait('T', 0, 5000, channel())).toBe('full');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(BUSY_HOLD_MS - 50);
      ch.closed = true;
      expect(await held).toBe('closed');
    } finally {
      holds.stop();
    }
  });

  it('bound the pulls each connection holds, not only the total', async () => {
    const holds = new PullHoldService({ maxHoldsPerChannel: 2 });
    holds.start();
    try {
      const a = channel();
      const b = channel();
      const aHeld = [holds.wait('T', 0, 5000, a), holds.wait('T', 0, 5000, a)];
      const aBusy = holds.wait('T', 0, 5000, a);
      const bHeld = holds.wait('T', 0, 5000, b);
      expect([holds.heldCount, holds.busyCount]).toEqual([3, 1]);
      holds.notify('T', 0);
      expect(await Promise.all([...aHeld, bHeld])).toEqual(['arrived', 'arrived', 'arrived']);
      expect(await aBusy).toBe('full');
      // Places are given back: the connection holds again.
      const again = holds.wait('T', 0, 5000, a);
      expect(holds.heldCount).toBe(1);
      holds.notify('T', 0);
      expect(await again).toBe('arrived');
    } finally {
      holds.stop();
    }
  });
});

describe('the client registry', () => {
  const consumer = (group: string) => ({ groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', subscriptionDataSet: [{ topic: 'T', subString: 'a', tagsSet: ['a'], codeSet: [97], subVersion: 2 }] });

  it('expires clients silent for longer than the expiry and drops a closed channel from every group', () => {
    const m = new ConsumerManager();
    const ch1 = channel();
    m.registerConsumer('c1', ch1, consumer('G1'), 0);
    m.registerConsumer('c1', ch1, consumer('G2'), 0);
    m.registerConsumer('c2', channel(), consumer('G1'), 100_000);
    expect(m.consumerIds('G1')).toEqual(['c1', 'c2']);
    expect(m.expire(121_000)).toBe(2);
    expect(m.consumerIds('G1')).toEqual(['c2']);
    m.registerConsumer('c1', ch1, consumer('G2'), 121_000);
    m.channelClosed(ch1);
    expect(m.groups()).toEqual(['G1']);
    expect(m.subscription('G1', 'T')?.subVersion).toBe(2);
  });

  it('keeps a client that heartbeats over two connections (two front doors) while one of them is still open', () => {
    const { m, notifier, told } = notifying();
    const [door0, door1, other] = [channel(), channel(), channel()];
    m.registerConsumer('c1', door0, consumer('G1'), 0);
    m.registerConsumer('c1', door1, consumer('G1'), 0);
    m.registerConsumer('c2', other, consumer('G1'), 0);
    m.registerProducer('c1', door0, 'P', 0);
    m.registerProducer('c1', door1, 'P', 0);
    notifier.flush();
    for (const ch of [door0, door1, other]) told(ch);
    door1.closed = true;
    m.channelClosed(door1);
    expect(m.consumerIds('G1')).toEqual(['c1', 'c2']);
    expect(m.producerIds('P')).toEqual(['c1']);
    // Still reachable: its remaining channel is the one it is told through.
    expect(m.channels('G1').find((c) => c.clientId === 'c1')?.channel).toBe(door0);
    expect(notifier.flush()).toBe(0);
    m.channelClosed(door0);
    expect(m.consumerIds('G1')).toEqual(['c2']);
    expect(m.producerIds('P')).toEqual([]);
  });

  /** A registry whose changes a notifier turns into NOTIFY_CONSUMER_IDS_CHANGED, flushed by the test. */
  function notifying(): { m: ConsumerManager; notifier: ConsumerIdsNotifier; told: (ch: ReturnType<typeof channel>) => string[] } {
    const m = new ConsumerManager();
    const notifier = new ConsumerIdsNotifier(m, pino({ level: 'silent' }));
    m.onConsumerIdsChanged((group) => notifier.changed(group));
    const told = (ch: ReturnType<typeof channel>): string[] => {
      const out = ch.oneway.map((c) => `${c.code}:${c.extFields['consumerGroup']}`);
      ch.oneway.length = 0;
      return out;
    };
    return { m, notifier, told };
  }

  it('tells every consumer of a group, and no other group, when a new client id joins it, but not on a repeated heartbeat', () => {
    const { m, notifier, told } = notifying();
    const [a, b, other] = [channel(), channel(), channel()];
    m.registerConsumer('a', a, consumer('G1'), 0);
    m.registerConsumer('x', other, consumer('G2'), 0);
    notifier.flush();
    expect([told(a), told(other)]).toEqual([['40:G1'], ['40:G2']]);
    m.registerConsumer('b', b, consumer('G1'), 1);
    expect(notifier.flush()).toBe(2);
    // The one that joined is told too, as Apache does; G2's member hears nothing of G1.
    expect([told(a), told(b), told(other)]).toEqual([['40:G1'], ['40:G1'], []]);
    m.registerConsumer('a', a, consumer('G1'), 30_000);
    m.registerConsumer('b', channel(), consumer('G1'), 30_000); // b reconnected: same ids
    expect(notifier.flush()).toBe(0);
    expect(told(a)).toEqual([]);
  });

  it('tells the remaining consumers of a group when one unregisters, its channel closes or it expires', () => {
    const { m, notifier, told } = notifying();
    const [a, b, c, d, other] = [channel(), channel(), channel(), channel(), channel()];
    m.registerConsumer('a', a, consumer('G1'), 100_000);
    m.registerConsumer('b', b, consumer('G1'), 100_000);
    m.registerConsumer('c', c, consumer('G1'), 100_000);
    m.registerConsumer('d', d, consumer('G1'), 0);
    m.registerConsumer('x', other, consumer('G2'), 100_000);
    notifier.flush();
    for (const ch of [a, b, c, d, other]) told(ch);

    m.unregisterConsumer('G1', 'b');
    m.unregisterConsumer('G1', 'nobody');
    notifier.flush();
    expect([told(a), told(b), told(c), told(d), told(other)]).toEqual([['40:G1'], [], ['40:G1'], ['40:G1'], []]);

    c.closed = true;
    m.channelClosed(c);
    notifier.flush();
    expect([told(a), told(c), told(d), told(other)]).toEqual([['40:G1'], [], ['40:G1'], []]);

    expect(m.expire(121_000)).toBe(1);
    notifier.flush();
    expect([told(a), told(d), told(other)]).toEqual([['40:G1'], [], []]);
    expect(m.consumerIds('G1')).toEqual(['a']);
  });

  it('sends one notification per group and channel for the changes of one event-loop turn, and none after stop', async () => {
    const { m, notifier, told } = notifying();
    const a = channel();
    m.registerConsumer('a', a, consumer('G1'), 0);
    m.registerConsumer('b', channel(), consumer('G1'), 0);
    m.registerConsumer('c', channel(), consumer('G1'), 0);
    m.unregisterConsumer('G1', 'c');
    await new Promise((r) => setImmediate(r));
    expect(told(a)).toEqual(['40:G1']);
    notifier.stop();
    m.unregisterConsumer('G1', 'b');
    await new Promise((r) => setImmediate(r));
    expect(told(a)).toEqual([]);
  });
});

describe('tag filters and delay levels', () => {
  it('matches the tag hashes of "A || B" and everything for "*"', () => {
    const f = tagFilter('A || B')!;
    expect(f(javaStringHash('A'))).toBe(true);
    expect(f(javaStringHash('B'))).toBe(true);
    expect(f(javaStringHash('C'))).toBe(false);
    expect(tagFilter('*')).toBeUndefined();
    expect(tagFilter(undefined)).toBeUndefined();
  });

  it('moves a delayed message to the schedule topic, capping the level at the last one', () => {
    const m = { topic: 'T', queueId: 3, sysFlag: 0, properties: 'DELAY\x0140\x02TAGS\x01x\x02' } as MessageRecord;
    expect(applyDelayLevel(m, 18)).toBe(18);
    expect(m.topic).toBe('SCHEDULE_TOPIC_XXXX');
    expect(m.queueId).toBe(17);
    expect(m.properties).toBe('DELAY\x0118\x02TAGS\x01x\x02REAL_TOPIC\x01T\x02REAL_QID\x013\x02');
    const plain = { topic: 'T', queueId: 0, sysFlag: 0, properties: 'DELAY\x010\x02' } as MessageRecord;
    expect(applyDelayLevel(plain, 18)).toBe(0);
    expect(plain.topic).toBe('T');
    expect(replaceProperty('A\x011\x02B\x012\x02', 'A', undefined)).toBe('B\x012\x02');
  });
});
