// Releasing the log's resident pages: after reading every entry through the mapping, the process
// holds the log in its RSS; releaseResident drops that (keeping a tail) and every entry still
// reads back byte for byte, before and after a reopen.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { makeEntries, TempDirs } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** Resident file-backed memory of this process, in KiB (shared-memory mappings included). */
function rssFileKiB(): number {
  const m = /RssFile:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}

describe('MmapLogStorage.releaseResident', () => {
  it('drops the mapped pages behind the kept tail from the resident set and keeps every entry readable', () => {
    const dir = dirs.make();
    const segmentBytes = 8 * 1024 * 1024;
    const log = MmapLogStorage.open(dir, { segmentBytes, indexSegmentEntries: 4096 });
    const entries = makeEntries(1, 6000, 1, () => 4000);
    for (let i = 0; i < entries.length; i += 500) log.append(entries.slice(i, i + 500));
    // Read every payload through the mapping (as dispatch does), touching each page.
    let sum = 0;
    for (const e of log.entries(1, 6001, Number.MAX_SAFE_INTEGER)) for (let i = 0; i < e.payload.length; i += 512) sum += e.payload[i]!;
    const before = rssFileKiB();
    log.releaseResident(1024 * 1024);
    const after = rssFileKiB();
    // About 24 MB of data was mapped and read; all but the last MiB is released.
    expect(before - after).toBeGreaterThan(16 * 1024);
    const again = log.entries(1, 6001, Number.MAX_SAFE_INTEGER);
    expect(again.length).toBe(6000);
    let sum2 = 0;
    for (let k = 0; k < again.length; k++) {
      expect(Buffer.from(again[k]!.payload).equals(Buffer.from(entries[k]!.payload))).toBe(true);
      for (let i = 0; i < again[k]!.payload.length; i += 512) sum2 += again[k]!.payload[i]!;
    }
    expect(sum2).toBe(sum);
    log.close();
    const reopened = MmapLogStorage.open(dir, { segmentBytes, indexSegmentEntries: 4096 });
    expect(reopened.lastIndex()).toBe(6000);
    expect(Buffer.from(reopened.entries(3000, 3001, Number.MAX_SAFE_INTEGER)[0]!.payload).equals(Buffer.from(entries[2999]!.payload))).toBe(true);
    reopened.close();
  });
});
