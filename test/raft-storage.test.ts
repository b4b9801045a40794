// Behaviour of the segmented mmap Raft log: round trips through close/reopen, the position
// rule, conflict truncation, head deletion, reset, hard state, warm-up, and typed errors.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTRY_HEADER_BYTES } from '../raft/storage/entry-codec.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { decodeStartData, encodeStartData, MAX_START_APP_BYTES, readMeta, writeMeta } from '../raft/storage/state-files.js';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import fc from 'fast-check';
import { LogStorageError } from '../raft/storage/storage-errors.js';
import { INDEX_ENTRIES, SEGMENT_BYTES, TempDirs, assertHolds, expectedPositions, makeEntries, openLog } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof LogStorageError ? err.code : `untyped: ${String(err)}`;
  }
  return undefined;
}

const sizes = (i: number) => (i * 733) % 3100;

describe('MmapLogStorage', () => {
  it('reads back what it appended, as views of the mapping, before and after a reopen', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const es = makeEntries(1, 300, 1, sizes);
    for (let i = 0; i < es.length; i += 17) log.append(es.slice(i, i + 17));
    assertHolds(log, es, 1);
    const loc = log.locate(123)!;
    expect(loc.payloadBytes).toBe(es[122]!.payload.length);
    expect(Buffer.from(log.slice(loc.payloadPosition, loc.payloadBytes)).equals(Buffer.from(es[122]!.payload))).toBe(true);
    // A view, not a copy: the payload handed out shares memory with a slice of the same bytes.
    const [viaEntries] = log.entries(123, 124, 0);
    const viaSlice = log.slice(loc.payloadPosition, loc.payloadBytes);
    if (loc.payloadBytes > 0) {
      viaSlice[0] = viaSlice[0]! ^ 0xff;
      expect(viaEntries!.payload[0]).toBe(viaSlice[0]);
      viaSlice[0] = viaSlice[0]! ^ 0xff;
    }
    const end = log.endPosition();
    log.close();

    const again = openLog(dir);
    assertHolds(again, es, 1);
    expect(again.endPosition()).toBe(end);
    expect(again.recovery.zeroedBytes).toBe(0);
    expect(again.recovery.rebuiltIndexRecords).toBe(0);
    expect(readdirSync(join(dir, 'data')).length).toBeGreaterThan(3);
    again.close();
  });

  it('places entries where the position rule says, whatever the batching', () => {
    const es = makeEntries(1, 250, 3, sizes);
    const { positions, end } = expectedPositions(0, es.map((e) => e.payload.length));
    for (const batch of [1, 7, 250]) {
      const log = openLog(dirs.make());
      for (let i = 0; i < es.length; i += batch) log.append(es.slice(i, i + batch));
      for (let i = 0; i < es.length; i++) {
        const loc = log.locate(i + 1)!;
        expect(loc.position).toBe(positions[i]);
        expect(Math.floor(loc.position / SEGMENT_BYTES)).toBe(Math.floor((loc.position + ENTRY_HEADER_BYTES + loc.payloadBytes - 1) / SEGMENT_BYTES));
      }
      expect(log.endPosition()).toBe(end);
      log.close();
    }
  });

  it('truncates a conflicting suffix on append and keeps positions equal to a replica that never saw it', () => {
    // Entry 21 is large and moves to the next segment; its smaller replacement must not.
    const big = (i: number) => (i === 21 ? 30_000 : 3000);
    const old = makeEntries(1, 25, 1, big);
    const replacement = makeEntries(21, 10, 2, () => 100, 5);
    const a = openLog(dirs.make());
    a.append(old);
    expect(Math.floor(a.locate(21)!.position / SEGMENT_BYTES)).toBe(1);
    a.append(replacement);
    const b = openLog(dirs.make());
    b.append(old.slice(0, 20));
    b.append(replacement);
    const model = [...old.slice(0, 20), ...replacement];
    assertHolds(a, model, 1);
    for (let i = 1; i <= 30; i++) expect(a.locate(i)).toEqual(b.locate(i));
    expect(a.endPosition()).toBe(b.endPosition());
    const dir = a.dir;
    a.close();
    assertHolds(openLog(dir), model, 1);
  });

  it('truncateSuffix removes entries for good, also across a reopen', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const es = makeEntries(1, 200, 1, sizes);
    log.append(es);
    log.sync();
    expect(log.durableIndex()).toBe(200);
    log.truncateSuffix(90);
    expect(log.durableIndex()).toBe(89);
    expect(log.lastIndex()).toBe(89);
    expect(log.term(90)).toBeUndefined();
    expect(log.locate(90)).toBeUndefined();
    expect(log.endPosition()).toBe(log.locate(89)!.payloadPosition + log.locate(89)!.payloadBytes);
    log.truncateSuffix(500); // nothing there: a no-op
    expect(log.lastIndex()).toBe(89);
    log.close();
    const again = openLog(dir);
    assertHolds(again, es.slice(0, 89), 1);
    again.truncateSuffix(1);
    expect(again.lastIndex()).toBe(0);
    expect(again.endPosition()).toBe(0);
    again.close();
    assertHolds(openLog(dir), [], 1);
  });

  it('deleteHead removes whole segments from the head and tracks the first index across reopen', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const es = makeEntries(1, 400, 2, sizes);
    log.append(es);
    const target = 250;
    const segmentOfTarget = Math.floor(log.locate(target)!.position / SEGMENT_BYTES);
    const first = log.deleteHead(target);
    expect(first).toBeLessThanOrEqual(target);
    expect(log.locate(first)!.position).toBe(segmentOfTarget * SEGMENT_BYTES);
    expect(log.firstIndex()).toBe(first);
    expect(log.term(first - 1)).toBe(2);
    expect(log.term(first - 2)).toBeUndefined();
    expect(log.entries(first - 1, first + 5, 1e9)).toEqual([]);
    expect(log.logStart().index).toBe(first - 1);
    expect(decodeStartData(log.logStart())).toEqual({ position: segmentOfTarget * SEGMENT_BYTES, app: undefined });
    expect(log.startAppData()).toBeUndefined();
    const names = readdirSync(join(dir, 'data')).sort();
    expect(Number(names[0])).toBe(segmentOfTarget * SEGMENT_BYTES);
    expect(log.segmentFiles().map((f) => f.path)).toEqual(names.map((n) => join(dir, 'data', n)));
    expect(log.segmentFiles()[0]!.basePosition).toBe(segmentOfTarget * SEGMENT_BYTES);
    expect(() => log.slice(segmentOfTarget * SEGMENT_BYTES - 10, 5)).toThrow(LogStorageError);
    // Never the segment of the last entry, however far the request reaches.
    const lastSegment = Math.floor(log.locate(400)!.position / SEGMENT_BYTES);
    const first2 = log.deleteHead(10_000);
    expect(log.locate(first2)!.position).toBe(lastSegment * SEGMENT_BYTES);
    expect(log.lastIndex()).toBe(400);
    log.close();
    const again = openLog(dir);
    assertHolds(again, es.slice(first2 - 1), first2);
    // Appending continues at the same positions as before.
    again.append(makeEntries(401, 5, 3, sizes));
    expect(again.lastIndex()).toBe(405);
    again.close();
  });

  it('reset discards everything and continues after the start, at the position it carries', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.append(makeEntries(1, 50, 1, sizes));
    const position = 5 * SEGMENT_BYTES + 1000;
    log.reset({ index: 1000, term: 7, data: encodeStartData(position) });
    expect(log.firstIndex()).toBe(1001);
    expect(log.lastIndex()).toBe(1000);
    expect(log.term(1000)).toBe(7);
    expect(log.term(50)).toBeUndefined();
    expect(log.endPosition()).toBe(position);
    expect(log.durableIndex()).toBe(1000);
    expect(readdirSync(join(dir, 'data'))).toEqual([]);
    const es = makeEntries(1001, 60, 8, sizes);
    log.append(es);
    expect(log.locate(1001)!.position).toBe(position);
    const { positions } = expectedPositions(position, es.map((e) => e.payload.length));
    expect(log.locate(1060)!.position).toBe(positions[59]);
    log.close();
    const again = openLog(dir);
    assertHolds(again, es, 1001);
    expect(again.term(1000)).toBe(7);
    expect(again.logStart().index).toBe(1000);
    expect(codeOf(() => again.reset({ index: 5, term: 1, data: new Uint8Array(3) }))).toBe('ERR_LOG_BAD_START');
    again.close();
  });

  it('round-trips the start data, a position alone (the original 8 bytes) or followed by an application section', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }), (position, app) => {
        const data = encodeStartData(position, app);
        expect(data.length).toBe(app === undefined ? 8 : 9 + app.length);
        const decoded = decodeStartData({ index: 3, term: 1, data });
        expect(decoded?.position).toBe(position);
        expect(decoded?.app === undefined ? undefined : [...decoded.app]).toEqual(app === undefined ? undefined : [...app]);
      }),
    );
    // The layout the storage wrote before it had an application section: 8 little-endian bytes.
    const old = Buffer.alloc(8);
    old.writeUInt32LE(123_456, 0);
    expect(decodeStartData({ index: 1, term: 1, data: old })).toEqual({ position: 123_456, app: undefined });
    for (const bad of [new Uint8Array(7), new Uint8Array(9).fill(2), new Uint8Array(12).fill(0)]) expect(decodeStartData({ index: 1, term: 1, data: bad })).toBeUndefined();
  });

  it('keeps the application section deleteHead asked for in the start record, across a reopen, and hands it to a reset replica', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.append(makeEntries(1, 400, 2, sizes));
    const asked: { index: number; position: number }[] = [];
    const first = log.deleteHead(250, (at) => {
      asked.push(at);
      return Buffer.from(`counters at ${at.position}`);
    });
    // Asked once, with where the log now starts.
    expect(asked).toEqual([{ index: first, position: log.locate(first)!.position }]);
    const app = Buffer.from(`counters at ${asked[0]!.position}`);
    expect(Buffer.from(log.startAppData()!).equals(app)).toBe(true);
    expect(decodeStartData(log.logStart())).toEqual({ position: asked[0]!.position, app: new Uint8Array(app) });
    log.close();
    const again = openLog(dir);
    expect(Buffer.from(again.startAppData()!).equals(app)).toBe(true);
    expect(readMeta(realFileLayer, dir)!.startApp).toEqual(new Uint8Array(app));

    // A follower reset to this start keeps the section too, across its own reopen.
    const followerDir = dirs.make();
    const follower = openLog(followerDir);
    follower.append(makeEntries(1, 5, 1, sizes));
    follower.reset(again.logStart());
    expect(Buffer.from(follower.startAppData()!).equals(app)).toBe(true);
    follower.close();
    const followerAgain = openLog(followerDir);
    expect(Buffer.from(followerAgain.startAppData()!).equals(app)).toBe(true);
    expect(followerAgain.logStart()).toEqual(again.logStart());
    followerAgain.close();

    // A later deletion without a section drops the old one: it described an older start.
    const lastBefore = again.firstIndex();
    expect(again.deleteHead(again.lastIndex())).toBeGreaterThan(lastBefore);
    expect(again.startAppData()).toBeUndefined();
    again.close();
    expect(openLog(dir).startAppData()).toBeUndefined();
  });

  it('refuses an application section over the bound, or one that throws, leaving the log as it was', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.append(makeEntries(1, 400, 2, sizes));
    const before = { first: log.firstIndex(), start: log.logStart(), files: readdirSync(join(dir, 'data')).length };
    expect(codeOf(() => log.deleteHead(250, () => new Uint8Array(MAX_START_APP_BYTES + 1)))).toBe('ERR_LOG_START_TOO_LARGE');
    expect(() => log.deleteHead(250, () => {
      throw new RangeError('no counters');
    })).toThrow('no counters');
    expect({ first: log.firstIndex(), start: log.logStart(), files: readdirSync(join(dir, 'data')).length }).toEqual(before);
    expect(readMeta(realFileLayer, dir)!.startIndex).toBe(0);
    // A section at the bound fits.
    const first = log.deleteHead(250, () => new Uint8Array(MAX_START_APP_BYTES).fill(7));
    expect(first).toBeGreaterThan(1);
    expect(log.startAppData()!.length).toBe(MAX_START_APP_BYTES);
    // A reset whose start carries more than the bound is not a start this storage takes.
    expect(codeOf(() => log.reset({ index: 5000, term: 3, data: encodeStartData(9 * SEGMENT_BYTES, new Uint8Array(MAX_START_APP_BYTES + 1)) }))).toBe('ERR_LOG_BAD_START');
    expect(log.firstIndex()).toBe(first);
  });

  it('reads a version 1 meta file (no application section) and rewrites it unchanged while none is given', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.append(makeEntries(1, 400, 2, sizes));
    log.deleteHead(250);
    log.close();
    // Without a section the meta keeps its original 48-byte layout, version 1.
    const frame = readFileSync(join(dir, 'meta'));
    expect(frame.readUInt32LE(4)).toBe(48);
    expect(frame.readUInt32LE(8)).toBe(1);
    const again = openLog(dir);
    expect(again.startAppData()).toBeUndefined();
    expect(again.firstIndex()).toBe(readMeta(realFileLayer, dir)!.startIndex + 1);
    again.close();
    // With one, version 2 appends it; a damaged length is a damaged file.
    const meta = readMeta(realFileLayer, dir)!;
    writeMeta(realFileLayer, dir, { ...meta, startApp: new Uint8Array([1, 2, 3]) });
    const v2 = readFileSync(join(dir, 'meta'));
    expect([v2.readUInt32LE(4), v2.readUInt32LE(8)]).toEqual([48 + 4 + 3, 2]);
    expect(readMeta(realFileLayer, dir)!.startApp).toEqual(new Uint8Array([1, 2, 3]));
    expect([...openLog(dir).startAppData()!]).toEqual([1, 2, 3]);
  });

  it('keeps term and vote durably, and the commit at least by close', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    expect(log.hardState()).toEqual({ term: 0, vote: '', commit: 0 });
    log.append(makeEntries(1, 20, 3, () => 10));
    log.setHardState({ term: 3, vote: 'n2', commit: 0 });
    expect(MmapLogStorage.open(dir, { segmentBytes: SEGMENT_BYTES, indexSegmentEntries: INDEX_ENTRIES }).hardState()).toEqual({ term: 3, vote: 'n2', commit: 0 });
    log.setHardState({ term: 3, vote: 'n2', commit: 17 });
    expect(log.hardState().commit).toBe(17);
    log.close();
    const again = openLog(dir);
    expect(again.hardState()).toEqual({ term: 3, vote: 'n2', commit: 17 });
    // A commit past the recovered log (async flush and a power loss) is lowered to the log's end.
    again.truncateSuffix(11);
    again.close();
    expect(openLog(dir).hardState()).toEqual({ term: 3, vote: 'n2', commit: 10 });
  });

  it('warmAhead pre-creates the next segment near the end of one and leaves the content alone', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const es = makeEntries(1, 20, 1, () => 3000);
    log.append(es);
    expect(readdirSync(join(dir, 'data')).length).toBe(1);
    log.warmAhead(8 * 1024);
    expect(readdirSync(join(dir, 'data')).length).toBe(2);
    assertHolds(log, es, 1);
    const more = makeEntries(21, 40, 1, () => 3000);
    log.append(more);
    log.warmAhead(SEGMENT_BYTES * 4);
    assertHolds(log, [...es, ...more], 1);
    log.close();
    const again = openLog(dir);
    assertHolds(again, [...es, ...more], 1);
    expect(again.recovery.zeroedBytes).toBe(0);
  });

  it('answers bad input with typed errors and stays usable', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.append(makeEntries(1, 10, 2, () => 10));
    expect(codeOf(() => log.append(makeEntries(12, 1, 2, () => 10)))).toBe('ERR_LOG_BAD_APPEND');
    expect(codeOf(() => log.append([...makeEntries(11, 1, 2, () => 10), ...makeEntries(13, 1, 2, () => 10)]))).toBe('ERR_LOG_BAD_APPEND');
    expect(codeOf(() => log.append(makeEntries(11, 1, 1, () => 10)))).toBe('ERR_LOG_BAD_APPEND');
    expect(codeOf(() => log.append([{ index: 11, term: 2, type: 9 as 0, payload: new Uint8Array(1) }]))).toBe('ERR_LOG_BAD_APPEND');
    expect(codeOf(() => log.append(makeEntries(11, 1, 2, () => SEGMENT_BYTES)))).toBe('ERR_LOG_ENTRY_TOO_LARGE');
    expect(codeOf(() => log.slice(log.endPosition() - 4, 8))).toBe('ERR_LOG_OUT_OF_RANGE');
    expect(codeOf(() => log.slice(-1, 2))).toBe('ERR_LOG_OUT_OF_RANGE');
    expect(codeOf(() => log.truncateSuffix(0))).toBe('ERR_LOG_OUT_OF_RANGE');
    expect(log.lastIndex()).toBe(10);
    log.append(makeEntries(11, 1, 2, () => SEGMENT_BYTES - ENTRY_HEADER_BYTES));
    expect(log.lastIndex()).toBe(11);
    log.close();
    expect(codeOf(() => log.append(makeEntries(12, 1, 2, () => 1)))).toBe('ERR_LOG_CLOSED');
    expect(codeOf(() => MmapLogStorage.open(dir, { segmentBytes: SEGMENT_BYTES * 2, indexSegmentEntries: INDEX_ENTRIES }))).toBe('ERR_LOG_CONFIG_MISMATCH');
    const hs = join(dir, 'hardstate');
    openLog(dir).setHardState({ term: 1, vote: 'n1', commit: 0 });
    const bytes = readFileSync(hs);
    bytes[9] = bytes[9]! ^ 1;
    writeFileSync(hs, bytes);
    expect(codeOf(() => openLog(dir))).toBe('ERR_LOG_STATE_CORRUPT');
  });

  it('reports an entry whose payload rotted in the verified region as ERR_LOG_CORRUPT, not a crash', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const es = makeEntries(1, 300, 1, () => 2000);
    log.append(es);
    log.close();
    // Entry 3 lives in the first segment, far before the tail that recovery scans.
    const reopened = openLog(dir);
    const loc = reopened.locate(3)!;
    reopened.close();
    const seg = join(dir, 'data', '0'.repeat(20));
    const bytes = readFileSync(seg);
    bytes[loc.payloadPosition + 5] = bytes[loc.payloadPosition + 5]! ^ 0x10;
    writeFileSync(seg, bytes);
    const again = openLog(dir);
    expect(again.lastIndex()).toBe(300);
    expect(codeOf(() => again.entries(1, 10, 1e9))).toBe('ERR_LOG_CORRUPT');
    expect(again.entries(4, 6, 1e9).map((e) => e.index)).toEqual([4, 5]);
  });

  it('rebuilds the index with a new geometry when indexSegmentEntries changes', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    const es = makeEntries(1, 300, 1, sizes);
    log.append(es);
    log.close();
    const again = MmapLogStorage.open(dir, { segmentBytes: SEGMENT_BYTES, indexSegmentEntries: 256 });
    assertHolds(again, es, 1);
    expect(again.recovery.rebuiltIndexRecords).toBe(300);
    expect(existsSync(join(dir, 'index', '00000000000000000256'))).toBe(true);
    again.close();
  });
});
