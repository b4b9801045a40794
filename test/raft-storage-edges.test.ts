// Edge cases of the mmap Raft log found by the model-based test and by review: a log whose first
// entry opens a later segment than its start position, and recovery's check of the entry just
// before the segment where its scan begins.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeStartData } from '../raft/storage/state-files.js';
import { SEGMENT_BYTES, TempDirs, assertHolds, makeEntries, openLog } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const segmentPath = (dir: string, k: number) => join(dir, 'data', String(k * SEGMENT_BYTES).padStart(20, '0'));

describe('MmapLogStorage head deletion after a reset near a segment end', () => {
  it('deletes nothing, and reports no corruption, when the first entry opens the segment the target is in', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    // 100 bytes before the end of segment 2: the first entry does not fit, so segment 2 holds
    // only an end-of-segment marker and entries 11.. start at the base of segment 3.
    log.reset({ index: 10, term: 3, data: encodeStartData(3 * SEGMENT_BYTES - 100) });
    const es = makeEntries(11, 3, 3, () => 500);
    log.append(es);
    expect(log.locate(11)!.position).toBe(3 * SEGMENT_BYTES);

    expect(log.deleteHead(12)).toBe(11);
    expect(log.deleteHead(1000)).toBe(11);
    assertHolds(log, es, 11);
    expect(log.logStart().index).toBe(10);
    log.close();
    const again = openLog(dir);
    assertHolds(again, es, 11);

    // Once entries reach a later segment, the head moves past both older segments.
    const more = makeEntries(14, 200, 3, () => 500);
    again.append(more);
    const first = again.deleteHead(214);
    expect(first).toBeGreaterThan(14);
    expect(again.locate(first)!.position % SEGMENT_BYTES).toBe(0);
    expect(again.segmentFiles()[0]!.basePosition).toBe(again.locate(first)!.position);
    again.close();
    assertHolds(openLog(dir), [...es, ...more].slice(first - 11), first);
  });
});

describe('MmapLogStorage recovery of the entry before the scanned segments', () => {
  it('verifies that entry payload and all, and ends the log before it when its payload is torn', () => {
    const dir = dirs.make();
    const log = openLog(dir, { recoveryScanSegments: 1 });
    const es = makeEntries(1, 200, 1, () => 2000);
    log.append(es);
    const lastSegment = Math.floor(log.locate(200)!.position / SEGMENT_BYTES);
    // The entry just before the first entry of the last segment (the only one scanned).
    const firstOfLast = es.findIndex((e) => log.locate(e.index)!.position === lastSegment * SEGMENT_BYTES) + 1;
    const victim = firstOfLast - 1;
    const loc = log.locate(victim)!;
    expect(Math.floor(loc.position / SEGMENT_BYTES)).toBe(lastSegment - 1);
    log.close();
    // A torn payload, as a power loss leaves when the later segment's pages reached the disk and
    // this one's did not: header and index record intact, payload CRC wrong.
    const path = segmentPath(dir, lastSegment - 1);
    const bytes = readFileSync(path);
    const at = loc.payloadPosition - (lastSegment - 1) * SEGMENT_BYTES + 7;
    bytes[at] = bytes[at]! ^ 0x40;
    writeFileSync(path, bytes);

    const again = openLog(dir, { recoveryScanSegments: 1 });
    expect(again.lastIndex()).toBe(victim - 1);
    expect(again.recovery.stopReason).toMatch(/payload CRC/);
    assertHolds(again, es.slice(0, victim - 1), 1);
    // The log continues after its last good entry, and the old tail never comes back.
    const fresh = makeEntries(victim, 3, 2, () => 100);
    again.append(fresh);
    again.close();
    assertHolds(openLog(dir, { recoveryScanSegments: 1 }), [...es.slice(0, victim - 1), ...fresh], 1);
  });
});
