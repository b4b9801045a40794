// The fast paths of the mmap Raft log: appends written with one positioned write per batch (not
// through the mapping), payload CRCs checked on read only for entries that came from disk and
// were not verified by recovery, the background flush of async mode, and the recovery check
// that an index record before the scanned tail agrees with the entry it points at.
import { readFileSync, readdirSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTRY_HEADER_BYTES, INDEX_RECORD_BYTES } from '../raft/storage/entry-codec.js';
import { readHardState } from '../raft/storage/state-files.js';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import { LogStorageError } from '../raft/storage/storage-errors.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { SEGMENT_BYTES, TempDirs, assertHolds, expectedPositions, makeEntries, openLog } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const segmentPath = (dir: string, k: number, segmentBytes = SEGMENT_BYTES) => join(dir, 'data', String(k * segmentBytes).padStart(20, '0'));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof LogStorageError) return err.code;
    throw err;
  }
  return undefined;
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x40;
  writeFileSync(path, bytes);
}

describe('MmapLogStorage fast paths', () => {
  it('writes a batch spanning several segments and index files so that the files, the mapping and a reopen agree', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    // 700 entries of 900..1400 bytes: about 12 segments and 6 index files in one append.
    const entries = makeEntries(1, 700, 3, (i) => 900 + ((i * 37) % 500));
    log.append(entries);
    assertHolds(log, entries, 1);
    const { positions } = expectedPositions(0, entries.map((e) => e.payload.length));
    // What the file holds (read with read(2), not through the mapping) is what the mapping shows.
    for (const i of [0, 61, 62, 350, 699]) {
      const pos = positions[i]!;
      const k = Math.floor(pos / SEGMENT_BYTES);
      const onDisk = readFileSync(segmentPath(dir, k)).subarray(pos - k * SEGMENT_BYTES + ENTRY_HEADER_BYTES, pos - k * SEGMENT_BYTES + ENTRY_HEADER_BYTES + entries[i]!.payload.length);
      expect(Buffer.from(onDisk).equals(Buffer.from(entries[i]!.payload))).toBe(true);
      expect(log.slice(pos + ENTRY_HEADER_BYTES, entries[i]!.payload.length).equals(onDisk)).toBe(true);
    }
    log.close();
    const again = openLog(dir);
    assertHolds(again, entries, 1);
    expect(again.recovery.rebuiltIndexRecords).toBe(0);
    again.close();
  });

  it('writes an entry too big for the batch straight from its payload, between batched ones, across a segment end', () => {
    const dir = dirs.make();
    const segmentBytes = 8 * 1024 * 1024;
    const open = () => MmapLogStorage.open(dir, { segmentBytes, indexSegmentEntries: 128 });
    const log = open();
    // Big ones go straight from their payload; 600 and 900 KiB ones make the batch grow.
    const sizes = [100, 3 * 1024 * 1024, 200, 2 * 1024 * 1024 + 5, 300, 4 * 1024 * 1024, 600 * 1024, 900 * 1024, 10];
    const entries = makeEntries(1, sizes.length, 1, (i) => sizes[i - 1]!);
    log.append(entries);
    assertHolds(log, entries, 1);
    const { positions, end } = expectedPositions(0, sizes, segmentBytes);
    expect(log.endPosition()).toBe(end);
    expect(log.locate(6)!.position).toBe(positions[5]);
    log.close();
    assertHolds(open(), entries, 1);
  });

  it('checks the payload CRC on read for entries recovery did not scan, and trusts the ones it scanned or this process wrote', () => {
    const dir = dirs.make();
    const log = openLog(dir, { recoveryScanSegments: 1 });
    const entries = makeEntries(1, 200, 1, () => 1000); // 62 entries per segment: 4 segments
    log.append(entries);
    const { positions } = expectedPositions(0, entries.map((e) => e.payload.length));
    // This process wrote entry 10: a byte damaged on disk behind its back is not re-checked.
    expect(positions[9]! < SEGMENT_BYTES).toBe(true);
    flipByte(segmentPath(dir, 0), positions[9]! + ENTRY_HEADER_BYTES + 5);
    expect(log.entries(10, 11, Infinity)[0]!.payload[5]).toBe(entries[9]!.payload[5]! ^ 0x40);
    log.close();

    // After a reopen that scans only the last segment, entry 10 comes from disk unverified.
    const again = openLog(dir, { recoveryScanSegments: 1 });
    expect(again.lastIndex()).toBe(200);
    expect(codeOf(() => again.entries(10, 11, Infinity))).toBe('ERR_LOG_CORRUPT');
    expect(again.entries(11, 12, Infinity)).toHaveLength(1);
    // The last segment (entries 187..200) was verified by recovery: it is not checked again.
    expect(Math.floor(positions[186]! / SEGMENT_BYTES)).toBe(3);
    flipByte(segmentPath(dir, 3), positions[189]! - 3 * SEGMENT_BYTES + ENTRY_HEADER_BYTES + 7);
    expect(again.entries(190, 191, Infinity)[0]!.payload[7]).toBe(entries[189]!.payload[7]! ^ 0x40);
    // Entries rewritten after a truncation are this process's own again.
    again.truncateSuffix(5);
    const fresh = makeEntries(5, 10, 2, () => 1000);
    again.append(fresh);
    assertHolds(again, [...entries.slice(0, 4), ...fresh], 1);
    again.close();
  });

  it('flushes in the background one flush at a time, and a truncation meanwhile keeps durableIndex below what was rewritten', async () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.append(makeEntries(1, 50, 1, () => 700));
    expect(log.durableIndex()).toBe(0);
    const first = new Promise<Error | null>((resolve) => expect(log.syncInBackground(resolve)).toBe(true));
    expect(log.syncInBackground()).toBe(false);
    expect(await first).toBeNull();
    expect(log.durableIndex()).toBe(50);

    log.append(makeEntries(51, 50, 1, () => 700));
    const second = new Promise<Error | null>((resolve) => log.syncInBackground(resolve));
    log.truncateSuffix(40);
    log.append(makeEntries(40, 70, 2, () => 700));
    expect(await second).toBeNull();
    // The flush covered entries 51..100 of term 1, which are gone: it proves nothing about 40..109.
    expect(log.durableIndex()).toBe(39);
    log.sync();
    expect(log.durableIndex()).toBe(109);
    log.close();
  });

  it('closes during a background flush, and the log reopens whole', async () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const entries = makeEntries(1, 300, 1, () => 800);
    log.append(entries);
    const done = new Promise<Error | null>((resolve) => log.syncInBackground(resolve));
    log.close();
    expect(await done).toBeNull();
    const again = openLog(dir);
    assertHolds(again, entries, 1);
    expect(again.durableIndex()).toBe(300);
    again.close();
  });

  it('writes a due commit-only hard-state change in the background, and a term written meanwhile is never overwritten by it', async () => {
    const dir = dirs.make();
    const log = openLog(dir, { commitPersistIntervalMs: 0 });
    log.append(makeEntries(1, 20, 1, () => 100));
    log.sync(); // the commit written is never above the durable log (see raft-storage-durable-commit)
    log.setHardState({ term: 1, vote: 'n1', commit: 0 });
    log.setHardState({ term: 1, vote: 'n1', commit: 12 });
    expect(readHardState(realFileLayer, dir)).toEqual({ term: 1, vote: 'n1', commit: 0 });
    expect(await new Promise((resolve) => log.syncInBackground(resolve))).toBeNull();
    expect(readHardState(realFileLayer, dir)).toEqual({ term: 1, vote: 'n1', commit: 12 });

    log.setHardState({ term: 1, vote: 'n1', commit: 15 });
    const flushed = new Promise((resolve) => log.syncInBackground(resolve));
    log.setHardState({ term: 2, vote: 'n2', commit: 15 }); // synchronous and durable on return
    expect(await flushed).toBeNull();
    expect(readHardState(realFileLayer, dir)).toEqual({ term: 2, vote: 'n2', commit: 15 });
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    log.close();
  });

  it('rescans from the log start when the index file was cut inside the record before the scanned tail', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const entries = makeEntries(1, 150, 1, () => 1000); // 62 per segment: entry 63 starts segment 1
    for (let i = 0; i < entries.length; i += 10) log.append(entries.slice(i, i + 10));
    const { positions } = expectedPositions(0, entries.map((e) => e.payload.length));
    expect(Math.floor(positions[62]! / SEGMENT_BYTES)).toBe(1);
    // Keep entry 62's record without its term (the last 8 bytes), and nothing after it.
    const indexDir = join(dir, 'index');
    const names = readdirSync(indexDir).sort();
    for (const name of names.slice(1)) unlinkSync(join(indexDir, name));
    truncateSync(join(indexDir, names[0]!), 62 * INDEX_RECORD_BYTES + 24);
    const again = openLog(dir);
    assertHolds(again, entries, 1);
    expect(again.recovery.scanFromPosition).toBe(0);
    expect(again.recovery.rebuiltIndexRecords).toBeGreaterThan(0);
    again.close();
  });
});
