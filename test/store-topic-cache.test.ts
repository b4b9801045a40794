// The dispatcher's topic cache: topics are found from their bytes, Java-hash collisions are told
// apart by the bytes, the cache starts over when full, and interleaved topics dispatch exactly as
// one topic per entry would.
import { describe, expect, it } from 'vitest';
import { TopicCache } from '../src/store/topic-cache.js';
import { javaStringHash } from '../src/common/message/java-hash.js';
import { MessageStore } from '../src/store/message-store.js';
import { encodeMessageRecords } from '../src/common/message/message-record.js';
import { formatProperties } from '../src/common/message/message-properties.js';
import { FakeLog, message, removeDir, snapshotFiles, tempDir } from './store-helpers.js';

const bytes = (s: string): Buffer => Buffer.from(`xx${s}yy`, 'utf8');
const find = (c: TopicCache, s: string) => c.find(bytes(s), 2, 2 + Buffer.byteLength(s));

describe('topic cache', () => {
  it('finds each topic by its bytes, with its string, hashes and schedule flag, and tells hash collisions apart', () => {
    expect(javaStringHash('Aa')).toBe(javaStringHash('BB'));
    const c = new TopicCache('SCHEDULE_TOPIC_XXXX');
    const aa = find(c, 'Aa');
    const bb = find(c, 'BB');
    const cc = find(c, 'Cc');
    expect(aa.topic).toBe('Aa');
    expect(bb.topic).toBe('BB');
    expect(aa).not.toBe(bb);
    // Found again, also when not the last one, and also the third of a colliding hash.
    expect(find(c, 'Aa')).toBe(aa);
    expect(find(c, 'BB')).toBe(bb);
    expect(find(c, 'Aa')).toBe(aa);
    expect(find(c, 'Cc')).toBe(cc);
    expect(aa.hash).toBe(javaStringHash('Aa'));
    expect(aa.prefixHash).toBe(javaStringHash('Aa#'));
    expect(find(c, 'héllo').prefixHash).toBe(javaStringHash('héllo#'));
    expect(aa.isScheduleTopic).toBe(false);
    expect(find(c, 'SCHEDULE_TOPIC_XXXX').isScheduleTopic).toBe(true);
  });

  it('starts over when full, so memory stays bounded', () => {
    const c = new TopicCache('S', 2);
    const a = find(c, 'A');
    find(c, 'B');
    expect(find(c, 'A')).toBe(a);
    find(c, 'C'); // third topic: the cache is cleared first
    const again = find(c, 'A');
    expect(again).not.toBe(a);
    expect(again.topic).toBe('A');
  });

  it('interleaved topics (colliding hashes among them) build the same files as the same messages one topic per entry', () => {
    const topics = ['Aa', 'BB', 'T1', 'T2', 'C#'];
    const ms = Array.from({ length: 60 }, (_, i) => message({ topic: topics[i % topics.length]!, queueId: i % 3, properties: formatProperties({ TAGS: `t${i % 2}`, KEYS: `k${i % 7}`, UNIQ_KEY: `u${i}` }) }));
    const interleaved = new FakeLog(4096);
    for (let i = 0; i < ms.length; i += 6) interleaved.appendPayload(encodeMessageRecords(ms.slice(i, i + 6)));
    const single = new FakeLog(4096);
    for (const m of ms) single.appendPayload(encodeMessageRecords([m]));
    const options = { unitsPerFile: 8, index: { slotCount: 11, maxEntries: 50, maxKeyBytes: 64 } };
    const a = tempDir('topics-a');
    const b = tempDir('topics-b');
    try {
      const sa = MessageStore.open(a, interleaved, options);
      sa.dispatchUpTo(interleaved.lastIndex());
      for (const t of topics) for (let q = 0; q < 3; q++) expect(sa.getMaxOffsetInQueue(t, q)).toBe(ms.filter((m) => m.topic === t && m.queueId === q).length);
      expect(sa.queryByKey('BB', 'u1', 4, 0, Number.MAX_SAFE_INTEGER).messages).toHaveLength(1);
      expect(sa.queryByKey('Aa', 'u1', 4, 0, Number.MAX_SAFE_INTEGER).messages).toHaveLength(0);
      sa.close();
      // Same messages, same order, one per entry: only physical offsets differ, so compare units by count and keys.
      const sb = MessageStore.open(b, single, options);
      sb.dispatchUpTo(single.lastIndex());
      for (const t of topics) for (let q = 0; q < 3; q++) expect(sb.getMaxOffsetInQueue(t, q)).toBe(ms.filter((m) => m.topic === t && m.queueId === q).length);
      sb.close();
      expect([...snapshotFiles(a).keys()].filter((k) => k.startsWith('consumequeue')).sort()).toEqual([...snapshotFiles(b).keys()].filter((k) => k.startsWith('consumequeue')).sort());
    } finally {
      removeDir(a);
      removeDir(b);
    }
  });
});
