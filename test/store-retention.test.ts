// Retention over the real mmap Raft log with small segments, a fake clock and a fake disk: age
// at the deleteWhen hour, the 75% / 85% / 90% disk rules, the follower-retention bound and its
// exception, the manual commands, what readers see after the head moved, and a restart after it.
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../raft/index.js';
import { MmapLogStorage } from '../raft/storage/index.js';
import { MessageStore, GetMessageStatus } from '../src/store/message-store.js';
import { decodeMessageRecord, encodeMessageRecords } from '../src/common/message/message-record.js';
import { formatProperties } from '../src/common/message/message-properties.js';
import { CleanService, parseDeleteWhen, type RetentionConfig } from '../src/store/retention/index.js';
import { message, removeDir, tempDir } from './store-helpers.js';

const LOG_OPTIONS = { segmentBytes: 64 * 1024, indexSegmentEntries: 512 };
const STORE_OPTIONS = { unitsPerFile: 20, index: { slotCount: 31, maxEntries: 40, maxKeyBytes: 64 } };
const HOUR_MS = 3_600_000;
/** Local noon and 04:30 of one day: the default deleteWhen is the local hour 4. */
const NOON = new Date(2026, 0, 10, 12, 0, 0).getTime();
const FOUR_THIRTY = new Date(2026, 0, 10, 4, 30, 0).getTime();

interface Fixture {
  dir: string;
  log: MmapLogStorage;
  store: MessageStore;
  clock: { now: number };
  disk: { ratio: number };
  service: (config?: Partial<RetentionConfig>, minRetainIndex?: () => number) => CleanService;
}

const open: { log: MmapLogStorage; store: MessageStore }[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const o of open.splice(0)) {
    o.store.close();
    o.log.close();
  }
  for (const d of dirs.splice(0)) removeDir(d);
});

/** Appends `count` entries of one ~1 KiB message each, alternating queues 0 and 1 of topic T. */
function append(log: MmapLogStorage, count: number): void {
  for (let i = 0; i < count; i++) {
    const index = log.lastIndex() + 1;
    const m = message({ topic: 'T', queueId: index % 2, body: Buffer.alloc(1000, index & 0xff), storeTimestamp: 1_700_000_000_000 + index * 1000, properties: formatProperties({ TAGS: 't', KEYS: `k${index}` }) });
    log.append([{ index, term: 1, type: EntryType.Normal, payload: encodeMessageRecords([m]) }]);
  }
}

function fixture(entries: number, dispatchTo = entries): Fixture {
  const dir = tempDir('retention');
  dirs.push(dir);
  const log = MmapLogStorage.open(join(dir, 'log'), LOG_OPTIONS);
  const store = MessageStore.open(join(dir, 'store'), log, STORE_OPTIONS);
  open.push({ log, store });
  append(log, entries);
  store.dispatchUpTo(dispatchTo);
  const clock = { now: NOON };
  const disk = { ratio: 0.5 };
  const f: Fixture = {
    dir,
    log,
    store,
    clock,
    disk,
    service: (config = {}, minRetainIndex) =>
      new CleanService(
        {
          log: f.log,
          store: f.store,
          nowMs: () => clock.now,
          diskUsage: () => ({ usedRatio: disk.ratio, totalBytes: 1e12, availableBytes: (1 - disk.ratio) * 1e12 }),
          ...(minRetainIndex ? { minRetainIndex } : {}),
        },
        config,
      ),
  };
  return f;
}

/** Sets the mtime of every data segment: the first `oldCount` to `oldMs`, the rest to `newMs`. */
function ageSegments(log: MmapLogStorage, oldCount: number, oldMs: number, newMs: number): void {
  log.segmentFiles().forEach((s, i) => {
    const t = (i < oldCount ? oldMs : newMs) / 1000;
    utimesSync(s.path, t, t);
  });
}

/** Index of the segment holding Raft entry `index`. */
function segmentOf(log: MmapLogStorage, index: number): number {
  return Math.floor(log.locate(index)!.position / log.segmentBytes);
}

describe('retention', () => {
  it('deletes segments older than fileReservedTime at a deleteWhen hour only, and keeps younger ones', () => {
    const f = fixture(400);
    const segments = f.log.segmentFiles().length;
    expect(segments).toBeGreaterThan(5);
    // At 04:30 three segments are 73 hours old, the rest one hour (at noon, 80.5 and 8.5 hours).
    ageSegments(f.log, 3, FOUR_THIRTY - 73 * HOUR_MS, FOUR_THIRTY - HOUR_MS);
    const service = f.service();

    const atNoon = service.runOnce();
    expect(atNoon).toMatchObject({ reason: 'none', deletedSegments: 0 });
    expect(f.log.firstIndex()).toBe(1);

    f.clock.now = FOUR_THIRTY;
    const atFour = service.runOnce();
    expect(atFour).toMatchObject({ reason: 'scheduled-hour', deletedSegments: 3, stoppedBy: 'unexpired' });
    expect(f.log.segmentFiles()).toHaveLength(segments - 3);
    expect(f.log.firstIndex()).toBe(atFour.firstIndex);
    expect(f.log.locate(f.log.firstIndex())!.position).toBe(3 * LOG_OPTIONS.segmentBytes);
    // A second run at the same hour finds nothing more expired.
    expect(service.runOnce().deletedSegments).toBe(0);
  });

  it('moves ConsumeQueue min offsets forward, removes dead ConsumeQueue and IndexFile files, and answers OFFSET_TOO_SMALL below the new minimum', () => {
    const f = fixture(400);
    const cq = f.store.queues.find('T', 0)!;
    const cqFiles = cq.filePaths();
    const indexFiles = f.store.index.filePaths();
    expect(cqFiles.length).toBeGreaterThan(3);
    expect(indexFiles.length).toBeGreaterThan(3);
    ageSegments(f.log, 4, NOON - 100 * HOUR_MS, NOON);

    const report = f.service().deleteExpiredNow();
    expect(report).toMatchObject({ reason: 'manual-expired', deletedSegments: 4 });
    expect(report.deletedStoreFiles).toBeGreaterThan(0);

    const firstIndex = f.log.firstIndex();
    // The queue's new min offset is its first message still in the log.
    const min = f.store.getMinOffsetInQueue('T', 0);
    const atMin = f.store.getMessage('T', 0, min, 1, 1 << 20);
    expect(atMin.status).toBe(GetMessageStatus.FOUND);
    const firstKept = decodeMessageRecord(atMin.messages[0]!);
    expect(firstKept.queueOffset).toBe(min);
    expect(atMin.messages[0]!.readBigInt64BE(28)).toBeGreaterThanOrEqual(BigInt(f.log.locate(firstIndex)!.position));
    if (min > 0) {
      const below = f.store.getMessage('T', 0, min - 1, 1, 1 << 20);
      expect(below).toMatchObject({ status: GetMessageStatus.OFFSET_TOO_SMALL, nextBeginOffset: min, minOffset: min });
      const stale = f.store.getMessage('T', 0, 0, 1, 1 << 20);
      expect(stale.status).toBe(GetMessageStatus.OFFSET_TOO_SMALL);
    }
    // Messages of queue 0 are entries 2, 4, 6...: the first kept one is the first even index >= firstIndex.
    expect(min).toBe(Math.ceil(firstIndex / 2) - 1);
    // Files wholly below the log's first position are gone from disk.
    const deletedCq = cqFiles.filter((p) => !existsSync(p));
    const deletedIndex = indexFiles.filter((p) => !existsSync(p));
    expect(deletedCq.length).toBeGreaterThan(0);
    expect(deletedIndex.length).toBeGreaterThan(0);
    expect(deletedCq.length + deletedIndex.length + f.store.queues.find('T', 1)!.filePaths().length).toBeGreaterThan(0);
    expect(cq.filePaths()).toEqual(cqFiles.filter((p) => existsSync(p)));
    // Keys pointing into deleted segments no longer resolve; keys of kept entries do.
    expect(f.store.queryByKey('T', 'k2', 4, 0, Number.MAX_SAFE_INTEGER).messages).toHaveLength(0);
    expect(f.store.queryByKey('T', `k${firstIndex + 1}`, 4, 0, Number.MAX_SAFE_INTEGER).messages).toHaveLength(1);
  });

  it('at 75% disk usage deletes expired segments at once, outside the deleteWhen hours, and only expired ones', () => {
    const f = fixture(400);
    ageSegments(f.log, 2, NOON - 80 * HOUR_MS, NOON - 2 * HOUR_MS);
    const service = f.service();
    f.disk.ratio = 0.74;
    expect(service.runOnce().deletedSegments).toBe(0);
    f.disk.ratio = 0.76;
    expect(service.runOnce()).toMatchObject({ reason: 'disk-over-max', deletedSegments: 2, stoppedBy: 'unexpired' });
    expect(service.isWritable()).toBe(true);
  });

  it('keeps entries a lagging follower still needs (minRetainIndex) under the age and 75% rules', () => {
    const f = fixture(400);
    ageSegments(f.log, 100, NOON - 100 * HOUR_MS, NOON);
    // The follower still needs entry 130: the segment holding it and everything after stays.
    const needed = 130;
    const service = f.service({}, () => needed);
    f.disk.ratio = 0.8;
    const report = service.runOnce();
    expect(report.stoppedBy).toBe('min-retain-index');
    expect(report.deletedSegments).toBe(segmentOf(f.log, needed));
    expect(f.log.firstIndex()).toBeLessThanOrEqual(needed);
    expect(f.log.locate(needed)).toBeDefined();
    expect(segmentOf(f.log, needed)).toBe(Math.floor(f.log.locate(f.log.firstIndex())!.position / LOG_OPTIONS.segmentBytes));
  });

  it('at 85% deletes the oldest segments even unexpired and past minRetainIndex, but never undispatched entries nor the last segment', () => {
    // Dispatch stops at 300 of 400 entries.
    const f = fixture(400, 300);
    ageSegments(f.log, 0, 0, NOON);
    const service = f.service({ maxSegmentsPerRun: 50 }, () => 1);
    f.disk.ratio = 0.84;
    expect(service.runOnce().deletedSegments).toBe(0);
    f.disk.ratio = 0.86;
    const report = service.runOnce();
    expect(report).toMatchObject({ reason: 'forcible', stoppedBy: 'undispatched' });
    expect(report.deletedSegments).toBe(segmentOf(f.log, 301));
    expect(f.log.firstIndex()).toBeLessThanOrEqual(301);
    expect(f.store.dispatchUpTo(400)).toBe(100);

    // Everything dispatched now: the forcible rule still keeps the segment of the last entry.
    const again = service.runOnce();
    expect(again.stoppedBy).toBe('last-segment');
    expect(f.log.segmentFiles()).toHaveLength(1);
    expect(f.log.locate(400)).toBeDefined();
    expect(f.store.getMessage('T', 0, f.store.getMinOffsetInQueue('T', 0), 32, 1 << 20).status).toBe(GetMessageStatus.FOUND);
  });

  it('asks minRetainIndex under the 85% rule too (the broker persists its state there) and reports every run', () => {
    const f = fixture(400);
    ageSegments(f.log, 0, 0, NOON);
    let asked = 0;
    const reports: string[] = [];
    const service = new CleanService({
      log: f.log,
      store: f.store,
      nowMs: () => f.clock.now,
      diskUsage: () => ({ usedRatio: f.disk.ratio, totalBytes: 1e12, availableBytes: (1 - f.disk.ratio) * 1e12 }),
      minRetainIndex: () => { asked++; return 1; },
      onReport: (r) => reports.push(`${r.reason}:${r.deletedSegments}:${r.stoppedBy ?? ''}`),
    });
    expect(service.deleteOldestSegments(3).stoppedBy).toBe('min-retain-index');
    f.disk.ratio = 0.86;
    expect(service.runOnce().deletedSegments).toBeGreaterThan(0);
    expect(asked).toBe(2);
    expect(reports).toEqual(['manual-oldest:0:min-retain-index', expect.stringMatching(/^forcible:[1-9]\d*:/)]);
  });

  it('deletes at most maxSegmentsPerRun segments per run', () => {
    const f = fixture(400);
    ageSegments(f.log, 100, NOON - 100 * HOUR_MS, NOON);
    const report = f.service({ maxSegmentsPerRun: 2 }).deleteExpiredNow();
    expect(report).toMatchObject({ deletedSegments: 2, stoppedBy: 'run-limit' });
  });

  it('at 90% refuses writes with a clear message until space returns', () => {
    const f = fixture(50);
    const service = f.service();
    f.disk.ratio = 0.91;
    service.runOnce();
    expect(service.isWritable()).toBe(false);
    expect(service.writeRefusal()).toMatch(/disk full: .*91\.0% used.*diskSpaceWarningLevelRatio 90%/);
    f.disk.ratio = 0.6;
    service.runOnce();
    expect(service.writeRefusal()).toBeUndefined();
    expect(service.isWritable()).toBe(true);
  });

  it('between disk checks counts the bytes it admitted, so a fast producer cannot write past the warning level unseen', () => {
    const f = fixture(10);
    const capacityBytes = 100 * 1024 * 1024;
    let probes = 0;
    let writtenBytes = 0;
    const service = new CleanService({
      log: f.log,
      store: f.store,
      nowMs: () => f.clock.now,
      watchedPaths: [f.dir],
      diskUsage: () => {
        probes++;
        const used = 0.8 * capacityBytes + writtenBytes;
        return { usedRatio: used / capacityBytes, totalBytes: capacityBytes, availableBytes: capacityBytes - used };
      },
    });
    const mib = 1024 * 1024;
    // 80% used: 9 MiB more is 89%, and the next MiB would reach 90% before any timer check.
    for (let i = 0; i < 9; i++) {
      expect(service.admitWrite(mib)).toBeUndefined();
      writtenBytes += mib;
    }
    expect(service.admitWrite(mib)).toMatch(/disk full: the file system of .* is 90\.0% used, at or above diskSpaceWarningLevelRatio 90%/);
    // The disk is measured again once 8 MiB were admitted, not only by the 10 s timer.
    expect(probes).toBe(2);
    f.clock.now += 1000;
    expect(service.admitWrite(1024)).toBeUndefined();
    expect(probes).toBe(3);
  });

  it('deleteOldestSegments deletes the oldest segments whatever their age, within minRetainIndex', () => {
    const f = fixture(400);
    ageSegments(f.log, 0, 0, NOON);
    const service = f.service({}, () => 200);
    expect(service.deleteExpiredNow().deletedSegments).toBe(0);
    expect(service.deleteOldestSegments(2)).toMatchObject({ reason: 'manual-oldest', deletedSegments: 2 });
    const rest = service.deleteOldestSegments(100);
    expect(rest.stoppedBy).toBe('min-retain-index');
    expect(f.log.locate(200)).toBeDefined();
    expect(() => service.deleteOldestSegments(-1)).toThrow(RangeError);
  });

  it('recovers after a restart that follows retention: same min and max offsets, reads at the minimum, dispatch continues', () => {
    const f = fixture(400);
    ageSegments(f.log, 3, NOON - 100 * HOUR_MS, NOON);
    expect(f.service().deleteExpiredNow().deletedSegments).toBe(3);
    const before = [0, 1].map((q) => [f.store.getMinOffsetInQueue('T', q), f.store.getMaxOffsetInQueue('T', q)]);
    const firstIndex = f.log.firstIndex();
    open.splice(0);
    f.store.close();
    f.log.close();

    const log = MmapLogStorage.open(join(f.dir, 'log'), LOG_OPTIONS);
    const store = MessageStore.open(join(f.dir, 'store'), log, STORE_OPTIONS);
    open.push({ log, store });
    expect(log.firstIndex()).toBe(firstIndex);
    expect(store.recovery.source).toBe('checkpoint');
    expect([0, 1].map((q) => [store.getMinOffsetInQueue('T', q), store.getMaxOffsetInQueue('T', q)])).toEqual(before);
    const r = store.getMessage('T', 1, before[1]![0]!, 4, 1 << 20);
    expect(r.status).toBe(GetMessageStatus.FOUND);
    expect(decodeMessageRecord(r.messages[0]!).queueOffset).toBe(before[1]![0]);
    append(log, 10);
    expect(store.dispatchUpTo(410)).toBe(10);
    expect(store.getMaxOffsetInQueue('T', 0)).toBe(before[0]![1]! + 5);
  });

  it('rejects bad configuration and parses deleteWhen', () => {
    const f = fixture(1);
    expect(() => f.service({ diskMaxUsedSpaceRatio: 120 })).toThrow(/diskMaxUsedSpaceRatio/);
    expect(() => f.service({ deleteWhen: [24] })).toThrow(/deleteWhen/);
    expect(parseDeleteWhen('04;16')).toEqual([4, 16]);
    expect(() => parseDeleteWhen('4am')).toThrow(RangeError);
  });

  it('runs on its own timer and stops', async () => {
    const f = fixture(400);
    ageSegments(f.log, 1, NOON - 100 * HOUR_MS, NOON);
    f.disk.ratio = 0.8;
    const deleted: number[] = [];
    const service = new CleanService(
      { log: f.log, store: f.store, nowMs: () => f.clock.now, diskUsage: () => ({ usedRatio: f.disk.ratio, totalBytes: 1, availableBytes: 0 }), onDeleted: (r) => deleted.push(r.deletedSegments) },
      { checkIntervalMs: 20 },
    );
    service.start();
    try {
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      service.stop();
    }
    expect(deleted).toEqual([1]);
    expect(service.usedRatio).toBe(0.8);
  });
});
