// Crash recovery and a model-based test of the mmap Raft log. A "crash" abandons the storage
// without close(): its writes already sit in the page cache (as after kill -9), then the test
// damages the files the way a crash or a bad disk would, and reopens.
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/core/types.js';
import { ENTRY_HEADER_BYTES, INDEX_RECORD_BYTES } from '../raft/storage/entry-codec.js';
import type { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { encodeStartData, readMeta, writeMeta } from '../raft/storage/state-files.js';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import { INDEX_ENTRIES, SEGMENT_BYTES, TempDirs, assertHolds, expectedPositions, makeEntries, openLog } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const segmentPath = (dir: string, k: number) => join(dir, 'data', String(k * SEGMENT_BYTES).padStart(20, '0'));
const sizesFrom = (seed: number) => (i: number) => ((i * 2654435761 + seed * 7919) >>> 0) % (i % 9 === 0 ? 9000 : 2500);

/** Builds a log of `count` entries without closing it, and returns the entries and their positions. */
function crashedLog(dir: string, count: number, seed: number): { entries: Entry[]; positions: number[]; ends: number[] } {
  const log = openLog(dir);
  const entries = makeEntries(1, count, 1, sizesFrom(seed), seed);
  for (let i = 0; i < count; i += 13) log.append(entries.slice(i, i + 13));
  const { positions } = expectedPositions(0, entries.map((e) => e.payload.length));
  const ends = entries.map((e, i) => positions[i]! + ENTRY_HEADER_BYTES + e.payload.length);
  return { entries, positions, ends };
}

describe('MmapLogStorage recovery', () => {
  it('keeps exactly the entries before a torn tail, and a later append cannot resurrect what followed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, cutFraction) => {
        const dir = dirs.make();
        const { entries, positions, ends } = crashedLog(dir, 120, seed);
        const lastSegment = Math.floor((ends.at(-1)! - 1) / SEGMENT_BYTES);
        const used = ends.at(-1)! - lastSegment * SEGMENT_BYTES;
        const cut = Math.floor(cutFraction * used);
        truncateSync(segmentPath(dir, lastSegment), cut);
        const cutPosition = lastSegment * SEGMENT_BYTES + cut;
        let kept = ends.filter((e) => e <= cutPosition).length;
        // A short file is extended with zeros at open: an entry that lost only zero payload
        // bytes is whole again (seed 450 ends its last payload with a 0 byte).
        const payloadFrom = (positions[kept] ?? Infinity) + ENTRY_HEADER_BYTES;
        if (kept < entries.length && cutPosition >= payloadFrom && entries[kept]!.payload.subarray(cutPosition - payloadFrom).every((b) => b === 0)) kept++;

        const log = openLog(dir);
        assertHolds(log, entries.slice(0, kept), 1);
        const fresh = makeEntries(kept + 1, 30, 2, sizesFrom(seed + 1), seed + 1);
        log.append(fresh);
        // Crash again and reopen: the new entries, then nothing of the old tail.
        assertHolds(openLog(dir), [...entries.slice(0, kept), ...fresh], 1);
      }),
      { numRuns: 40 },
    );
  });

  it('stops before an entry with a flipped bit in the tail segments, and never returns a corrupt entry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 }), (seed, where, bit) => {
        const dir = dirs.make();
        const { entries, positions, ends } = crashedLog(dir, 150, seed);
        const lastSegment = Math.floor((ends.at(-1)! - 1) / SEGMENT_BYTES);
        const from = Math.max(0, lastSegment - 1) * SEGMENT_BYTES;
        const at = from + Math.floor(where * (ends.at(-1)! - from));
        const k = Math.floor(at / SEGMENT_BYTES);
        const path = segmentPath(dir, k);
        const bytes = readFileSync(path);
        bytes[at - k * SEGMENT_BYTES] = bytes[at - k * SEGMENT_BYTES]! ^ (1 << bit);
        writeFileSync(path, bytes);

        // The byte belongs to an entry, to an end-of-segment marker, or to unread padding.
        const hit = positions.findIndex((p, i) => p <= at && at < ends[i]!);
        let kept = entries.length;
        if (hit >= 0) kept = hit;
        else {
          const before = ends.filter((e) => e <= at).length; // entries wholly before the byte
          const markerAt = ends[before - 1] ?? 0;
          const room = (k + 1) * SEGMENT_BYTES - markerAt;
          if (room >= ENTRY_HEADER_BYTES && at < markerAt + 8) kept = before;
        }
        const log = openLog(dir);
        assertHolds(log, entries.slice(0, kept), 1);
        log.append(makeEntries(kept + 1, 3, 2, () => 100));
        assertHolds(openLog(dir), [...entries.slice(0, kept), ...makeEntries(kept + 1, 3, 2, () => 100)], 1);
      }),
      { numRuns: 40 },
    );
  });

  it('rebuilds a dropped index tail from the data, even one reaching back before the scanned segments', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 400 * INDEX_RECORD_BYTES }), (seed, dropBytes) => {
        const dir = dirs.make();
        const { entries } = crashedLog(dir, 400, seed);
        const indexDir = join(dir, 'index');
        // Drop `dropBytes` from the end of the index files, deleting files that empty out.
        let left = dropBytes;
        for (const name of readdirSync(indexDir).sort().reverse()) {
          if (left <= 0) break;
          const path = join(indexDir, name);
          const highest = Math.min(INDEX_ENTRIES, 401 - Number(name)) * INDEX_RECORD_BYTES;
          if (left >= highest) {
            unlinkSync(path);
            left -= highest;
          } else {
            truncateSync(path, Math.min(statSync(path).size, highest - left));
            left = 0;
          }
        }
        const log = openLog(dir);
        assertHolds(log, entries, 1);
        if (dropBytes >= INDEX_RECORD_BYTES) expect(log.recovery.rebuiltIndexRecords).toBeGreaterThan(0);
      }),
      { numRuns: 25 },
    );
  });

  it('removes index records that point past a data tail that was lost', () => {
    const dir = dirs.make();
    const { entries, ends } = crashedLog(dir, 200, 3);
    const lastSegment = Math.floor((ends.at(-1)! - 1) / SEGMENT_BYTES);
    unlinkSync(segmentPath(dir, lastSegment));
    const kept = ends.filter((e) => e <= lastSegment * SEGMENT_BYTES).length;
    const log = openLog(dir);
    assertHolds(log, entries.slice(0, kept), 1);
    expect(log.locate(kept + 1)).toBeUndefined();
    expect(log.recovery.zeroedBytes).toBeGreaterThan(0);
    const more = makeEntries(kept + 1, 5, 4, () => 10);
    log.append(more);
    assertHolds(openLog(dir), [...entries.slice(0, kept), ...more], 1);
  });

  it('zeroes the stale tail so a same-size replacement cannot line up with the old successor', () => {
    const dir = dirs.make();
    const { entries, positions } = crashedLog(dir, 60, 11);
    const j = 50; // entry 50 gets a flipped bit; 51.. are valid but must not come back
    const k = Math.floor(positions[j - 1]! / SEGMENT_BYTES);
    const bytes = readFileSync(segmentPath(dir, k));
    const off = positions[j - 1]! - k * SEGMENT_BYTES + ENTRY_HEADER_BYTES;
    bytes[off] = bytes[off]! ^ 1;
    writeFileSync(segmentPath(dir, k), bytes);
    const log = openLog(dir);
    expect(log.lastIndex()).toBe(j - 1);
    expect(log.recovery.stopReason).toMatch(/CRC/);
    const replacement: Entry = { index: j, term: 1, type: 0, payload: new Uint8Array(entries[j - 1]!.payload.length).fill(9) };
    log.append([replacement]);
    const again = openLog(dir);
    assertHolds(again, [...entries.slice(0, j - 1), replacement], 1);
  });

  it('finishes a reset that a crash interrupted after writing the new start', () => {
    const dir = dirs.make();
    const { positions } = crashedLog(dir, 100, 5);
    // Exactly the state reset() leaves between its first step and the deletions; the old entry
    // 41 even sits at the new start position, and must not pass for the new log's first entry.
    writeMeta(realFileLayer, dir, { segmentBytes: SEGMENT_BYTES, indexSegmentEntries: INDEX_ENTRIES, startIndex: 40, startTerm: 9, startPosition: positions[40]!, wipePending: true });
    const log = openLog(dir);
    expect(log.firstIndex()).toBe(41);
    expect(log.lastIndex()).toBe(40);
    expect(log.term(40)).toBe(9);
    expect(log.endPosition()).toBe(positions[40]);
    expect(readMeta(realFileLayer, dir)!.wipePending).toBe(false);
    log.append(makeEntries(41, 3, 9, () => 10));
    assertHolds(openLog(dir), makeEntries(41, 3, 9, () => 10), 41);
  });

  it('finishes a head deletion that a crash interrupted after writing the new start', () => {
    const dir = dirs.make();
    const { entries, positions } = crashedLog(dir, 300, 6);
    const i = positions.findIndex((p) => p >= 2 * SEGMENT_BYTES); // first entry of segment 2
    writeMeta(realFileLayer, dir, { segmentBytes: SEGMENT_BYTES, indexSegmentEntries: INDEX_ENTRIES, startIndex: i, startTerm: 1, startPosition: positions[i]!, wipePending: false });
    const log = openLog(dir);
    assertHolds(log, entries.slice(i), i + 1);
    expect(existsSync(segmentPath(dir, 0))).toBe(false);
    expect(existsSync(segmentPath(dir, 2))).toBe(true);
  });
});

// ---- model-based test ----

type Op =
  | { kind: 'append'; back: number; count: number; seed: number; bump: boolean }
  | { kind: 'truncate'; back: number }
  | { kind: 'deleteHead'; fraction: number }
  | { kind: 'reset'; ahead: number; skip: number }
  | { kind: 'reopen'; crash: boolean }
  | { kind: 'sync' }
  | { kind: 'warm'; bytes: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.integer({ min: 0, max: 6 }), count: fc.integer({ min: 1, max: 12 }), seed: fc.nat(), bump: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteHead' as const), fraction: fc.double({ min: 0, max: 1.2, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), ahead: fc.integer({ min: 0, max: 30 }), skip: fc.integer({ min: 0, max: 3 * SEGMENT_BYTES }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reopen' as const), crash: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('warm' as const), bytes: fc.integer({ min: 0, max: 2 * SEGMENT_BYTES }) }) },
);

interface Model {
  startIndex: number;
  startTerm: number;
  startPosition: number;
  entries: Entry[];
  positions: number[];
  maxTerm: number;
}

function modelEnd(m: Model): number {
  const n = m.entries.length;
  return n === 0 ? m.startPosition : m.positions[n - 1]! + ENTRY_HEADER_BYTES + m.entries[n - 1]!.payload.length;
}

function check(log: MmapLogStorage, m: Model): void {
  assertHolds(log, m.entries, m.startIndex + 1);
  if (log.term(m.startIndex) !== m.startTerm) throw new Error(`start term ${log.term(m.startIndex)} != ${m.startTerm}`);
  for (let i = 0; i < m.entries.length; i++) {
    const at = log.locate(m.entries[i]!.index)!.position;
    if (at !== m.positions[i]) throw new Error(`entry ${m.entries[i]!.index} at ${at}, model says ${m.positions[i]}`);
  }
  if (log.endPosition() !== modelEnd(m)) throw new Error(`end ${log.endPosition()} != ${modelEnd(m)}`);
}

describe('MmapLogStorage against an in-memory model', () => {
  it('agrees with the model through appends with conflicts, truncations, head deletions, resets and reopens', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const dir = dirs.make();
        let log = openLog(dir);
        const m: Model = { startIndex: 0, startTerm: 0, startPosition: 0, entries: [], positions: [], maxTerm: 1 };
        for (const op of ops) {
          const last = m.startIndex + m.entries.length;
          switch (op.kind) {
            case 'append': {
              const first = Math.max(m.startIndex + 1, last + 1 - op.back);
              if (first <= last || op.bump) m.maxTerm++;
              const es = makeEntries(first, op.count, m.maxTerm, sizesFrom(op.seed), op.seed);
              log.append(es);
              const keep = first - m.startIndex - 1;
              m.entries = m.entries.slice(0, keep);
              m.positions = m.positions.slice(0, keep);
              const { positions } = expectedPositions(modelEnd(m), es.map((e) => e.payload.length));
              m.entries.push(...es);
              m.positions.push(...positions);
              break;
            }
            case 'truncate': {
              const from = Math.max(m.startIndex + 1, last + 1 - op.back);
              log.truncateSuffix(from);
              m.entries = m.entries.slice(0, from - m.startIndex - 1);
              m.positions = m.positions.slice(0, m.entries.length);
              break;
            }
            case 'deleteHead': {
              const before = m.startIndex + 1 + Math.floor(op.fraction * (m.entries.length + 1));
              const oldFirst = m.startIndex + 1;
              const first = log.deleteHead(before);
              if (first < oldFirst || (first > oldFirst && (first > Math.max(oldFirst, Math.min(before, last)) || m.positions[first - oldFirst]! % SEGMENT_BYTES !== 0))) {
                throw new Error(`deleteHead(${before}) returned ${first} (first ${oldFirst}, last ${last})`);
              }
              if (first > oldFirst) {
                const drop = first - oldFirst;
                m.startTerm = m.entries[drop - 1]!.term;
                m.startPosition = m.positions[drop]!;
                m.startIndex = first - 1;
                m.entries = m.entries.slice(drop);
                m.positions = m.positions.slice(drop);
              }
              break;
            }
            case 'reset': {
              m.startIndex = last + op.ahead;
              m.startTerm = m.maxTerm;
              m.startPosition = modelEnd(m) + op.skip;
              m.entries = [];
              m.positions = [];
              log.reset({ index: m.startIndex, term: m.startTerm, data: encodeStartData(m.startPosition) });
              break;
            }
            case 'reopen':
              if (!op.crash) log.close();
              log = openLog(dir);
              break;
            case 'sync':
              log.sync();
              if (log.durableIndex() !== last) throw new Error(`durableIndex ${log.durableIndex()} != ${last} after sync`);
              break;
            case 'warm':
              log.warmAhead(op.bytes);
              break;
          }
          check(log, m);
        }
        log.close();
        check(openLog(dir), m);
        expect(existsSync(join(dir, 'meta'))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
