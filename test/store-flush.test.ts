// Flushing and full disks: the periodic flush service writes the checkpoint, the CommitLog flush
// modes map onto the Raft log's policy, ConsumeQueue/IndexFile space is really allocated when a
// file is created, and a full disk during dispatch is a typed error that loses nothing: the
// entry is dispatched whole once space returns, and reads go on meanwhile.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../raft/index.js';
import { MmapLogStorage } from '../raft/storage/index.js';
import { readCheckpoint } from '../src/store/checkpoint.js';
import { CQ_FIRST_CLAIM_BYTES, CQ_UNIT_BYTES } from '../src/store/consume-queue.js';
import { diskSpace } from '../src/store/disk-usage.js';
import { INDEX_HEADER_BYTES, INDEX_SLOT_BYTES } from '../src/store/index-file.js';
import { decodeMessageRecord, encodeMessageRecords } from '../src/common/message/message-record.js';
import { formatProperties } from '../src/common/message/message-properties.js';
import { GetMessageStatus, MessageStore } from '../src/store/message-store.js';
import { CleanService, DiskFullError, StoreFlushService } from '../src/store/retention/index.js';
import { raftFlushPolicy } from '../src/broker/flush-policy.js';
import { message, removeDir, tempDir } from './store-helpers.js';
import { until } from './helpers/poll.js';

const LOG_OPTIONS = { segmentBytes: 64 * 1024, indexSegmentEntries: 512 };
const STORE_OPTIONS = { unitsPerFile: 4, index: { slotCount: 1000, maxEntries: 60_000, maxKeyBytes: 64 } };

const realAllocator = { ...diskSpace };
const open: { log: MmapLogStorage; store: MessageStore }[] = [];
const dirs: string[] = [];
afterEach(() => {
  Object.assign(diskSpace, realAllocator);
  for (const o of open.splice(0)) {
    o.store.close();
    o.log.close();
  }
  for (const d of dirs.splice(0)) removeDir(d);
});

function setup(unitsPerFile = STORE_OPTIONS.unitsPerFile): { dir: string; log: MmapLogStorage; store: MessageStore } {
  const dir = tempDir('flush');
  dirs.push(dir);
  const log = MmapLogStorage.open(join(dir, 'log'), { ...LOG_OPTIONS, segmentBytes: 1024 * 1024 });
  const store = MessageStore.open(join(dir, 'store'), log, { ...STORE_OPTIONS, unitsPerFile });
  const o = { dir, log, store };
  open.push(o);
  return o;
}

/**
 * Appends one entry holding one message per given queue id (topic T). Message j carries the keys
 * `k<index>-<j>` and, when `extraKeys` > 0, that many more (to fill the IndexFile quickly).
 */
function appendEntry(log: MmapLogStorage, queueIds: number[], extraKeys = 0): number {
  const index = log.lastIndex() + 1;
  const ms = queueIds.map((q, j) => {
    const keys = [`k${index}-${j}`, ...Array.from({ length: extraKeys }, (_, x) => `x${index}-${j}-${x}`)];
    return message({ topic: 'T', queueId: q, properties: formatProperties({ TAGS: 't', KEYS: keys.join(' ') }) });
  });
  log.append([{ index, term: 1, type: EntryType.Normal, payload: encodeMessageRecords(ms) }]);
  return index;
}

function noSpace(): never {
  throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

describe('flush service', () => {
  it('writes the checkpoint after flushing, and skips a flush when nothing was dispatched', () => {
    const { log, store } = setup();
    for (let i = 0; i < 5; i++) appendEntry(log, [0, 1]);
    store.dispatchUpTo(3);
    const service = new StoreFlushService(store, { logFlushTimestampMs: () => 1234 });
    expect(service.flushNow()).toBe(true);
    expect(readCheckpoint(store.paths.checkpointFile)).toMatchObject({ dispatchedIndex: 3, logFlushTimestampMs: 1234 });
    expect(service.flushNow()).toBe(false);
    store.dispatchUpTo(5);
    expect(service.flushNow()).toBe(true);
    expect(readCheckpoint(store.paths.checkpointFile)!.dispatchedIndex).toBe(5);
    expect(service.flushNow(true)).toBe(true);
    expect(service.flushCount).toBe(3);
  });

  it('flushes on its own timer until stopped', async () => {
    const { log, store } = setup();
    appendEntry(log, [0]);
    const service = new StoreFlushService(store, { intervalMs: 10 });
    service.start();
    try {
      store.dispatchUpTo(1);
      await until('the timer to flush the dispatched entry', 5000, () => service.flushCount > 0);
    } finally {
      service.stop();
    }
    expect(readCheckpoint(store.paths.checkpointFile)!.dispatchedIndex).toBe(1);
    const count = service.flushCount;
    expect(count).toBe(1);
    appendEntry(log, [0]);
    store.dispatchUpTo(2);
    await new Promise((r) => setTimeout(r, 40));
    expect(service.flushCount).toBe(count);
  });

  it('maps flushDiskType onto the Raft log flush policy', () => {
    expect(raftFlushPolicy('ASYNC_FLUSH')).toEqual({ mode: 'async', intervalMs: 500 });
    expect(raftFlushPolicy('ASYNC_FLUSH', 200)).toEqual({ mode: 'async', intervalMs: 200 });
    expect(raftFlushPolicy('SYNC_FLUSH', 200)).toEqual({ mode: 'sync' });
    expect(() => raftFlushPolicy('NO_FLUSH' as 'SYNC_FLUSH')).toThrow(/flushDiskType/);
    expect(() => raftFlushPolicy('ASYNC_FLUSH', 0)).toThrow(/flushIntervalCommitLog/);
  });
});

describe('disk space', () => {
  it('allocates ConsumeQueue files and the IndexFile header and slots on disk when they are created', () => {
    // ConsumeQueue files of 4 units are allocated whole (smaller than the 64 KiB first claim).
    const { log, store } = setup();
    appendEntry(log, [0]);
    store.dispatchUpTo(1);
    const cqPath = store.queues.find('T', 0)!.filePaths()[0]!;
    const cq = statSync(cqPath);
    expect(cq.size).toBe(STORE_OPTIONS.unitsPerFile * CQ_UNIT_BYTES);
    expect(cq.blocks * 512).toBeGreaterThanOrEqual(cq.size);
    const index = statSync(store.index.filePaths()[0]!);
    // Sparse beyond what is claimed, but header, slots and the first stretch of entries are real.
    expect(index.blocks * 512).toBeGreaterThanOrEqual(INDEX_HEADER_BYTES + STORE_OPTIONS.index.slotCount * INDEX_SLOT_BYTES + 1024 * 1024);
    expect(index.blocks * 512).toBeLessThan(index.size);
  });

  it('claims ConsumeQueue space ahead of every unit in stretches that double from 64 KiB up to 1 MiB', () => {
    // 120,000 units per file (2.4 MB).
    const { log, store } = setup(120_000);
    const claims: number[] = [];
    diskSpace.allocateRange = (path, offset, length) => {
      if (path.includes('consumequeue')) claims.push(length);
      realAllocator.allocateRange(path, offset, length);
    };
    for (let i = 0; i < 20; i++) {
      appendEntry(log, Array.from({ length: 5000 }, () => 0));
      store.dispatchUpTo(log.lastIndex());
      const cq = store.queues.find('T', 0)!;
      const st = statSync(cq.filePaths()[0]!);
      // Every unit written sits in space really allocated (a mapped write never meets a hole).
      expect(st.blocks * 512).toBeGreaterThanOrEqual(cq.maxOffset * CQ_UNIT_BYTES);
    }
    const kib = 1024;
    expect(claims).toEqual([64 * kib, 128 * kib, 256 * kib, 512 * kib, 1024 * kib].concat(claims.slice(5)));
    expect(claims.slice(5).every((c) => c <= 1024 * kib)).toBe(true);
    expect(claims.length).toBeLessThanOrEqual(7);
  });

  it('a full disk while creating a ConsumeQueue file stops dispatch with ERR_STORE_DISK_FULL, undoes the half-dispatched entry, keeps serving reads, and resumes once space returns', () => {
    const { log, store } = setup();
    // Queue 0 fills its first file (4 units); queue 1 has one unit.
    for (let i = 0; i < 4; i++) appendEntry(log, [0]);
    appendEntry(log, [1]);
    store.dispatchUpTo(5);
    // Entry 6: one message for queue 1 (room in its file), then one for queue 0 (needs a new file).
    appendEntry(log, [1, 0]);
    appendEntry(log, [1]);
    diskSpace.allocateFile = noSpace;
    let error: unknown;
    try {
      store.dispatchUpTo(7);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DiskFullError);
    expect(error).toMatchObject({ code: 'ERR_STORE_DISK_FULL' });
    expect((error as Error).message).toMatch(/disk full while creating ConsumeQueue file .*ENOSPC/);
    expect(store.dispatchedIndex).toBe(5);
    // Queue 1's unit from entry 6 was undone: nothing of the entry is visible.
    expect(store.getMaxOffsetInQueue('T', 1)).toBe(1);
    expect(store.getMaxOffsetInQueue('T', 0)).toBe(4);
    expect(store.diskFullError).toBe(error);
    const service = new CleanService({ log, store, diskUsage: () => ({ usedRatio: 0.5, totalBytes: 1, availableBytes: 1 }) });
    expect(service.writeRefusal()).toMatch(/^disk full: disk full while creating ConsumeQueue file/);
    // Reads of what was dispatched go on.
    const read = store.getMessage('T', 0, 0, 32, 1 << 20);
    expect(read.status).toBe(GetMessageStatus.FOUND);
    expect(read.messages).toHaveLength(4);
    // A retry while the disk is still full fails the same way and changes nothing.
    expect(() => store.dispatchUpTo(7)).toThrow(DiskFullError);
    expect(store.getMaxOffsetInQueue('T', 1)).toBe(1);

    diskSpace.allocateFile = realAllocator.allocateFile;
    expect(store.dispatchUpTo(7)).toBe(2);
    expect(store.diskFullError).toBeUndefined();
    expect(service.isWritable()).toBe(true);
    expect(store.getMaxOffsetInQueue('T', 0)).toBe(5);
    expect(store.getMaxOffsetInQueue('T', 1)).toBe(3);
    const q1 = store.getMessage('T', 1, 0, 32, 1 << 20).messages.map((m) => decodeMessageRecord(m).queueOffset);
    expect(q1).toEqual([0, 1, 2]);
  });

  it('a full disk while growing a ConsumeQueue file is the same typed error, and the entry is dispatched whole later', () => {
    // 60,000 units per file (1.2 MB): the first 64 KiB (3,276 units) is claimed at creation.
    const { log, store } = setup(60_000);
    const perEntry = 400;
    // Only ConsumeQueue files fail to grow (the IndexFile grows too, at its own pace).
    diskSpace.allocateRange = (path, offset, length) => (path.includes('consumequeue') ? noSpace() : realAllocator.allocateRange(path, offset, length));
    let failedAt = 0;
    // Bounded: each queue's first claim runs out at its 17th entry (200 units per queue per entry).
    for (let i = 1; i <= 300 && failedAt === 0; i++) {
      appendEntry(log, Array.from({ length: perEntry }, (_, k) => k % 2));
      try {
        store.dispatchUpTo(i);
      } catch (err) {
        expect(err).toBeInstanceOf(DiskFullError);
        expect((err as Error).message).toMatch(/growing ConsumeQueue file/);
        failedAt = i;
      }
    }
    expect(failedAt).toBe(Math.floor(CQ_FIRST_CLAIM_BYTES / CQ_UNIT_BYTES / (perEntry / 2)) + 1);
    expect(store.getMaxOffsetInQueue('T', 0) + store.getMaxOffsetInQueue('T', 1)).toBe((failedAt - 1) * perEntry);
    diskSpace.allocateRange = realAllocator.allocateRange;
    expect(store.dispatchUpTo(failedAt)).toBe(1);
    expect(store.getMaxOffsetInQueue('T', 0)).toBe((failedAt * perEntry) / 2);
    const last = store.getMessage('T', 1, (failedAt * perEntry) / 2 - 1, 1, 1 << 20);
    expect(last.status).toBe(GetMessageStatus.FOUND);
  });

  it('a full disk while growing an IndexFile is the same typed error, and the entry is dispatched whole later', () => {
    const { log, store } = setup(1000);
    // 1 MiB of index entries (20 bytes each) fills the first claimed stretch.
    const perEntry = 10;
    const keysPerMessage = 20;
    const entries = Math.ceil((1024 * 1024) / 20 / (perEntry * keysPerMessage)) + 2;
    diskSpace.allocateRange = noSpace;
    let failedAt = 0;
    for (let i = 1; i <= entries && failedAt === 0; i++) {
      appendEntry(log, Array.from({ length: perEntry }, (_, k) => k % 3), keysPerMessage - 1);
      try {
        store.dispatchUpTo(i);
      } catch (err) {
        expect(err).toBeInstanceOf(DiskFullError);
        expect((err as Error).message).toMatch(/growing IndexFile/);
        failedAt = i;
      }
    }
    expect(failedAt).toBeGreaterThan(1);
    expect(store.dispatchedIndex).toBe(failedAt - 1);
    const maxBefore = [0, 1, 2].map((q) => store.getMaxOffsetInQueue('T', q));
    expect(maxBefore.reduce((a, b) => a + b, 0)).toBe((failedAt - 1) * perEntry);
    diskSpace.allocateRange = realAllocator.allocateRange;
    expect(store.dispatchUpTo(failedAt)).toBe(1);
    expect([0, 1, 2].map((q) => store.getMaxOffsetInQueue('T', q)).reduce((a, b) => a + b, 0)).toBe(failedAt * perEntry);
    expect(store.queryByKey('T', `k${failedAt}-1`, 4, 0, Number.MAX_SAFE_INTEGER).messages).toHaveLength(1);
  });
});
