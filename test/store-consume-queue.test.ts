// Unit tests of one ConsumeQueue and of the IndexFile set.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BLANK_UNIT_SIZE, ConsumeQueue, consumeQueueDir, type ConsumeQueueUnit } from '../src/store/consume-queue.js';
import { IndexService } from '../src/store/index-service.js';
import { indexFileBytes } from '../src/store/index-file.js';
import { removeDir, snapshotFiles, tempDir } from './store-helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
function root(): string {
  const d = tempDir('cq');
  dirs.push(d);
  return d;
}

describe('ConsumeQueue', () => {
  it('assigns dense offsets, rolls files named by their byte offset and reads units back', () => {
    const r = root();
    const cq = ConsumeQueue.open(r, 'T', 2, 4);
    for (let i = 0; i < 10; i++) expect(cq.append(1000 + i * 100, 100, i - 5)).toBe(i);
    expect(cq.minOffset).toBe(0);
    expect(cq.maxOffset).toBe(10);
    const names = readdirSync(consumeQueueDir(r, 'T', 2)).sort();
    expect(names).toEqual(['00000000000000000000', '00000000000000000080', '00000000000000000160']);
    expect(statSync(join(consumeQueueDir(r, 'T', 2), names[0]!)).size).toBe(80);
    const u: ConsumeQueueUnit = { physicalOffset: 0, size: 0, tagHash: 0 };
    for (let i = 0; i < 10; i++) {
      expect(cq.read(i, u)).toBe(true);
      expect(u).toEqual({ physicalOffset: 1000 + i * 100, size: 100, tagHash: i - 5 });
    }
    expect(cq.read(10, u)).toBe(false);
    expect(cq.queueOffsetOf(1500)).toBe(5);
    expect(cq.queueOffsetOf(1550)).toBe(-1);
    cq.close();
  });

  it('recovers its max offset on reopen', () => {
    const r = root();
    const cq = ConsumeQueue.open(r, 'T', 0, 4);
    for (let i = 0; i < 6; i++) cq.append(100 * (i + 1), 50, 0);
    cq.flush();
    cq.close();
    const again = ConsumeQueue.open(r, 'T', 0, 4);
    expect(again.maxOffset).toBe(6);
    expect(again.physicalOffsetAt(5)).toBe(600);
    expect(again.append(700, 50, 0)).toBe(6);
    again.close();
  });

  it('truncating past a physical offset leaves the same files as never writing those units', () => {
    const a = root();
    const b = root();
    const cqA = ConsumeQueue.open(a, 'T', 0, 4);
    const cqB = ConsumeQueue.open(b, 'T', 0, 4);
    for (let i = 0; i < 11; i++) cqA.append(100 * (i + 1), 50, 7);
    for (let i = 0; i < 5; i++) cqB.append(100 * (i + 1), 50, 7);
    cqA.truncateFrom(550);
    expect(cqA.maxOffset).toBe(5);
    expect(snapshotFiles(a)).toEqual(snapshotFiles(b));
    cqA.truncateFrom(0);
    expect(cqA.maxOffset).toBe(0);
    expect(existsSync(consumeQueueDir(a, 'T', 0))).toBe(false);
    cqA.close();
    cqB.close();
  });

  it('retention deletes head files below a physical offset, never the last, and moves the min offset', () => {
    const r = root();
    const cq = ConsumeQueue.open(r, 'T', 0, 4);
    for (let i = 0; i < 10; i++) cq.append(100 * (i + 1), 50, 0);
    expect(cq.deleteBelow(650)).toBe(1);
    expect(cq.minOffset).toBe(6);
    expect(cq.filePaths().length).toBe(2);
    expect(cq.deleteBelow(5000)).toBe(1);
    expect(cq.filePaths().length).toBe(1);
    expect(cq.minOffset).toBe(10);
    expect(cq.maxOffset).toBe(10);
    cq.close();
    const again = ConsumeQueue.open(r, 'T', 0, 4);
    expect(again.maxOffset).toBe(10);
    expect(again.minOffset).toBe(8);
    again.correctMinOffset(5000);
    expect(again.minOffset).toBe(10);
    again.close();
  });

  it('starts at an offset mid-file with blanks before it, the same files as a queue whose earlier units retention removed, and a reopen finds its max', () => {
    const a = root();
    const b = root();
    const cqA = ConsumeQueue.open(a, 'T', 0, 4);
    for (let i = 0; i < 11; i++) cqA.append(100 * (i + 1), 50, 7);
    // Units 0..5 point below 650: file 0 goes, units 4 and 5 of file 1 become blanks.
    expect(cqA.deleteBelow(650, false)).toBe(1);
    expect(cqA.minOffset).toBe(6);
    const cqB = ConsumeQueue.open(b, 'T', 0, 4);
    cqB.startAt(6);
    expect([cqB.minOffset, cqB.maxOffset, cqB.hasFiles]).toEqual([6, 6, false]);
    for (let i = 6; i < 11; i++) expect(cqB.append(100 * (i + 1), 50, 7)).toBe(i);
    cqA.flush();
    cqB.flush();
    expect(snapshotFiles(b)).toEqual(snapshotFiles(a));
    const blank = snapshotFiles(b).get(join('consumequeue', 'T', '0', '00000000000000000080'))!;
    expect([blank.readInt32BE(8), blank.readInt32BE(28), blank.readInt32BE(48)]).toEqual([BLANK_UNIT_SIZE, BLANK_UNIT_SIZE, 50]);
    cqB.close();
    // The blanks are not empty units: the max offset is found again; the min once corrected.
    const again = ConsumeQueue.open(b, 'T', 0, 4);
    expect(again.maxOffset).toBe(11);
    again.correctMinOffset(650);
    expect(again.minOffset).toBe(6);
    const u: ConsumeQueueUnit = { physicalOffset: 0, size: 0, tagHash: 0 };
    expect(again.read(5, u)).toBe(false);
    expect(again.read(6, u) && u.physicalOffset).toBe(700);
    again.close();

    // A queue left without a unit at or past the offset keeps no file (its end lives in the
    // log's start record), unless asked to keep the last one.
    expect(cqA.deleteBelow(5000, false)).toBe(2);
    expect([cqA.minOffset, cqA.maxOffset, cqA.hasFiles, existsSync(consumeQueueDir(a, 'T', 0))]).toEqual([11, 11, false, false]);
    expect(cqA.append(6000, 50, 7)).toBe(11);
    expect(cqA.filePaths().map((p) => p.slice(-20))).toEqual(['00000000000000000160']);
    cqA.close();
  });

  it('finds the first queue offset stored at or after a time', () => {
    const r = root();
    const cq = ConsumeQueue.open(r, 'T', 0, 3);
    const times = [10, 20, 20, 30, 40, 50, 60];
    times.forEach((_, i) => cq.append(1000 + i, 1, 0));
    const at = (p: number) => times[p - 1000]!;
    expect(cq.offsetByTime(5, at)).toBe(0);
    expect(cq.offsetByTime(20, at)).toBe(1);
    expect(cq.offsetByTime(21, at)).toBe(3);
    expect(cq.offsetByTime(60, at)).toBe(6);
    expect(cq.offsetByTime(61, at)).toBe(7);
    cq.close();
  });

  it('refuses a file of the wrong size with a typed error', () => {
    const r = root();
    const cq = ConsumeQueue.open(r, 'T', 0, 4);
    cq.append(100, 10, 0);
    cq.close();
    expect(() => ConsumeQueue.open(r, 'T', 0, 5)).toThrow(expect.objectContaining({ code: 'ERR_STORE_BAD_FILE' }));
  });

  it('keeps topics that are not plain names inside the root', () => {
    const r = root();
    const cq = ConsumeQueue.open(r, '../../evil', 0, 4);
    cq.append(100, 10, 0);
    expect(cq.dir.startsWith(join(r, 'consumequeue'))).toBe(true);
    expect(readdirSync(join(r, 'consumequeue'))).toEqual([`=${Buffer.from('../../evil').toString('hex')}`]);
    cq.close();
  });
});

describe('IndexService', () => {
  const options = { slotCount: 7, maxEntries: 5, maxKeyBytes: 40 };

  it('finds every offset put under a key within the time range, newest first, across rolled files', () => {
    const r = root();
    const index = IndexService.open(r, options);
    const base = 1_700_000_000_000;
    for (let i = 0; i < 20; i++) index.putKey('T', `k${i % 3}`, 1000 + i * 10, base + i * 1000);
    expect(index.filePaths().length).toBe(5); // 4 entries per file (entry 0 is unused)
    expect(statSync(index.filePaths()[0]!).size).toBe(indexFileBytes(7, 5));
    const all = index.query('T', 'k1', 100, 0, Number.MAX_SAFE_INTEGER);
    expect(all).toEqual([1190, 1160, 1130, 1100, 1070, 1040, 1010]);
    expect(index.query('T', 'k1', 2, 0, Number.MAX_SAFE_INTEGER)).toEqual([1190, 1160]);
    expect(index.query('T', 'k1', 100, base + 4000, base + 10_000)).toEqual([1100, 1070, 1040]);
    expect(index.query('U', 'k1', 100, 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
    index.close();
    const again = IndexService.open(r, options);
    expect(again.query('T', 'k1', 100, 0, Number.MAX_SAFE_INTEGER)).toEqual(all);
    again.close();
  });

  it('names files by the first store timestamp and keeps them in order when the clock goes back', () => {
    const r = root();
    const index = IndexService.open(r, options);
    const base = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    for (let i = 0; i < 4; i++) index.putKey('T', 'k', i, base);
    index.putKey('T', 'k', 10, base - 60_000);
    const names = index.filePaths().map((p) => p.slice(-17));
    expect(names).toEqual(['20240102030405678', '20240102030405679']);
    index.close();
  });

  it('truncating past a physical offset leaves the same bytes as never indexing those entries', () => {
    const a = root();
    const b = root();
    const ia = IndexService.open(a, options);
    const ib = IndexService.open(b, options);
    const ts = (p: number) => 1_700_000_000_000 + p * 37;
    for (let i = 0; i < 14; i++) ia.putKey('T', `k${i % 4}`, i * 10, ts(i * 10));
    for (let i = 0; i < 6; i++) ib.putKey('T', `k${i % 4}`, i * 10, ts(i * 10));
    ia.truncateFrom(60, ts);
    expect(snapshotFiles(a)).toEqual(snapshotFiles(b));
    ia.close();
    ib.close();
  });

  it('hasCandidate says yes exactly when query finds a candidate, for any keys, topics and time range', () => {
    const r = root();
    // A few hash slots and short files: many collisions and rolls; keys of 1..12 UTF-16 units,
    // non-ASCII included, near the 40-byte limit.
    const index = IndexService.open(r, { slotCount: 3, maxEntries: 6, maxKeyBytes: 40 });
    const base = 1_700_000_000_000;
    const key = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', 'é', '漢', '😀', '#') });
    const topic = fc.constantFrom('T', 'U', 'Ünï');
    fc.assert(
      fc.property(fc.array(fc.tuple(topic, key), { maxLength: 12 }), topic, key, fc.nat(20), fc.nat(20), (puts, t, k, from, span) => {
        for (const [pt, pk] of puts) index.putKey(pt, pk, 1000 + index.skippedKeyCount, base + from * 500);
        const beginMs = base + from * 500;
        const endMs = beginMs + span * 700;
        let expected: boolean;
        try {
          expected = index.query(t, k, 1, beginMs, endMs).length > 0;
        } catch {
          expected = false; // too long to be indexed
        }
        expect(index.hasCandidate(t, k, beginMs, endMs)).toBe(expected);
      }),
      { numRuns: 300 },
    );
    index.close();
  });

  it('skips and counts keys longer than the limit at put, and refuses them at query with a typed error', () => {
    const r = root();
    const index = IndexService.open(r, options);
    index.putKey('T', 'x'.repeat(60), 10, 1);
    expect(index.skippedKeyCount).toBe(1);
    expect(index.filePaths()).toEqual([]);
    expect(() => index.query('T', 'x'.repeat(60), 1, 0, 10)).toThrow(expect.objectContaining({ code: 'ERR_STORE_INDEX_KEY_TOO_LONG' }));
    index.close();
  });
});
