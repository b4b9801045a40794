// Unit and property tests of the client's pure parts: queue allocation, the batch body codec, the
// stored-record decoder (including garbage input), message ids, the process queue's commit
// offset, tag subscriptions and the leader-change classifier.
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocateAveragely,
  buildSubscription,
  createOffsetMsgId,
  createUniqueId,
  decodeBatch,
  decodeMessageRecord,
  decodeMessageRecords,
  encodeBatch,
  javaStringHash,
  matchesSubscription,
  MalformedResponseError,
  parseOffsetMsgId,
  queueKey,
  type MessageExt,
  type MessageQueue,
} from '../src/client/index.js';
import { ProcessQueue } from '../src/client/process-queue.js';
import { isLeaderChangeResponse } from '../src/client/producer.js';
import { encodeRecord } from './helpers/fake-broker.js';

describe('allocateAveragely', () => {
  it('gives every queue to exactly one consumer and sizes differ by at most one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 10 }), (n, cids) => {
        const queues: MessageQueue[] = Array.from({ length: n }, (_, i) => ({ topic: 'T', brokerName: i % 2 === 0 ? 'b' : 'a', queueId: i }));
        const shares = cids.map((c) => allocateAveragely(queues, [...cids].reverse(), c));
        const all = shares.flat().map(queueKey);
        expect(new Set(all).size).toBe(all.length);
        expect(all.sort()).toEqual(queues.map(queueKey).sort());
        const sizes = shares.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('gives nothing to a consumer that is not in the list', () => {
    expect(allocateAveragely([{ topic: 'T', brokerName: 'a', queueId: 0 }], ['x'], 'y')).toEqual([]);
  });
});

describe('batch body codec', () => {
  it('decodes what it encodes, in order', () => {
    const entry = fc.record({
      body: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)),
      flag: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      properties: fc.string({ maxLength: 50 }).map((s) => s.replace(/[\x01\x02]/g, '')),
    });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 20 }), (entries) => {
        const decoded = decodeBatch(encodeBatch(entries));
        expect(decoded.map((e) => [e.body.toString('hex'), e.flag, e.properties])).toEqual(entries.map((e) => [e.body.toString('hex'), e.flag, e.properties]));
      }),
    );
  });

  it('writes the CRC of each body like RocketMQ (crc32 & 0x7fffffff)', () => {
    const buf = encodeBatch([{ body: Buffer.from('abc'), flag: 0, properties: '' }]);
    expect(buf.readInt32BE(8)).toBe(zlib.crc32(Buffer.from('abc')) & 0x7fffffff);
    expect(buf.readInt32BE(0)).toBe(buf.length);
  });
});

function record(over: Partial<Parameters<typeof encodeRecord>[0]> = {}): Buffer {
  return encodeRecord({
    topic: 'TopicX',
    queueId: 3,
    queueOffset: 17,
    physicalOffset: 5_000_000_000,
    body: Buffer.from('payload'),
    sysFlag: 0,
    flag: 7,
    properties: 'TAGS\x01A\x02KEYS\x01k1 k2\x02UNIQ_KEY\x01ABCDEF\x02',
    reconsumeTimes: 2,
    bornTimestamp: 1_700_000_000_000,
    storeTimestamp: 1_700_000_000_123,
    storeHost: '10.1.2.3',
    storePort: 10911,
    ...over,
  });
}

describe('stored record decoder', () => {
  it('reads every field of a V1 record', () => {
    const { msg, next } = decodeMessageRecord(record(), 0, 'broker-a');
    expect(next).toBe(record().length);
    expect(msg).toMatchObject({
      topic: 'TopicX',
      queueId: 3,
      queueOffset: 17,
      physicalOffset: 5_000_000_000,
      flag: 7,
      tags: 'A',
      keys: ['k1', 'k2'],
      msgId: 'ABCDEF',
      offsetMsgId: createOffsetMsgId('10.1.2.3', 10911, 5_000_000_000),
      reconsumeTimes: 2,
      storeHost: '10.1.2.3:10911',
      brokerName: 'broker-a',
    });
    expect(msg.body.toString()).toBe('payload');
  });

  it('inflates a compressed body and reads records placed back to back', () => {
    const compressed = record({ body: zlib.deflateSync(Buffer.from('big body')), sysFlag: 1, queueOffset: 18 });
    const msgs = decodeMessageRecords(Buffer.concat([record(), compressed]));
    expect(msgs.map((m: MessageExt) => [m.queueOffset, m.body.toString()])).toEqual([
      [17, 'payload'],
      [18, 'big body'],
    ]);
  });

  it('turns truncated or random bytes into MalformedResponseError, never another error', () => {
    const good = record();
    for (let cut = 1; cut < good.length; cut += 7) expect(() => decodeMessageRecords(good.subarray(0, cut))).toThrow(MalformedResponseError);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 200 }), (bytes, at) => {
        const buf = Buffer.from(good);
        Buffer.from(bytes).copy(buf, Math.min(at, buf.length - 1));
        try {
          decodeMessageRecords(buf);
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedResponseError);
        }
      }),
    );
  });
});

describe('message ids', () => {
  it('parses the offset id it creates', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), fc.maxSafeNat(), (ip, port, offset) => {
        expect(parseOffsetMsgId(createOffsetMsgId(ip, port, offset))).toEqual({ addr: `${ip}:${port}`, physicalOffset: offset });
      }),
    );
    expect(parseOffsetMsgId('not-an-id')).toBeUndefined();
  });

  it('creates unique 32-hex-character ids', () => {
    const ids = new Set(Array.from({ length: 5000 }, () => createUniqueId()));
    expect(ids.size).toBe(5000);
    for (const id of ids) expect(id).toMatch(/^[0-9A-F]{32}$/);
  });
});

describe('ProcessQueue', () => {
  it('commits the lowest unfinished offset whatever order messages finish in', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: n, maxLength: n }))), ([n, order]) => {
        const pq = new ProcessQueue({ topic: 'T', brokerName: 'a', queueId: 0 }, 100);
        const msgs = Array.from({ length: n }, (_, i) => ({ queueOffset: 100 + i, body: Buffer.alloc(3) }) as unknown as MessageExt);
        pq.putMessages(msgs, 100 + n + 5);
        const done = new Set<number>();
        for (const i of order) {
          done.add(i);
          const committed = pq.removeMessage(msgs[i]!);
          let lowest = 0;
          while (done.has(lowest)) lowest++;
          expect(committed).toBe(lowest === n ? 100 + n + 5 : 100 + lowest);
        }
        expect(pq.msgCount).toBe(0);
        expect(pq.msgBytes).toBe(0);
      }),
    );
  });
});

describe('subscriptions and classifiers', () => {
  it('hashes tags like Java String.hashCode and matches only subscribed tags', () => {
    expect(javaStringHash('abc')).toBe(96354);
    expect(javaStringHash('TagA')).toBe(2598919);
    const sub = buildSubscription('T', 'A || B', 1);
    expect(sub.tagsSet).toEqual(['A', 'B']);
    expect(sub.codeSet).toEqual([65, 66]);
    expect(matchesSubscription(sub, 'A')).toBe(true);
    expect(matchesSubscription(sub, 'C')).toBe(false);
    expect(matchesSubscription(sub, undefined)).toBe(false);
    expect(matchesSubscription(buildSubscription('T', '*', 1), undefined)).toBe(true);
    expect(() => buildSubscription('T', 'A || ', 1)).toThrow(/empty tag/);
  });

  it('recognizes leader-change refusals so the route is refreshed', () => {
    expect(isLeaderChangeResponse(14, 'service not available now')).toBe(true);
    expect(isLeaderChangeResponse(1, 'NOT_LEADER: the leader is n2')).toBe(true);
    expect(isLeaderChangeResponse(1, 'disk full')).toBe(false);
  });
});
