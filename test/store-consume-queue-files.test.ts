// Open ConsumeQueue files are bounded: a store with many queues keeps at most the configured
// number of files open (a descriptor and a mapping each), closes the files of idle queues at a
// flush, and reopens them on the next access.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../raft/index.js';
import { MmapLogStorage } from '../raft/storage/index.js';
import { encodeMessageRecords } from '../src/common/message/message-record.js';
import { GetMessageStatus, MessageStore } from '../src/store/message-store.js';
import { QueueFilePool } from '../src/store/queue-file-pool.js';
import { message, removeDir, tempDir } from './store-helpers.js';

const open: { log: MmapLogStorage; store: MessageStore }[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const o of open.splice(0)) {
    o.store.close();
    o.log.close();
  }
  for (const d of dirs.splice(0)) removeDir(d);
});

const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

const QUEUES = 300;
const MAX_OPEN = 16;
const IDLE_MS = 60_000;

describe('open ConsumeQueue files', () => {
  it('stay under the bound when many queues are touched once, close when idle, and reopen on access', () => {
    const dir = tempDir('cq-files');
    dirs.push(dir);
    let now = 1_000_000;
    const log = MmapLogStorage.open(join(dir, 'log'), { segmentBytes: 4 * 1024 * 1024, indexSegmentEntries: 4096 });
    const store = MessageStore.open(join(dir, 'store'), log, {
      unitsPerFile: 1000,
      index: { slotCount: 1000, maxEntries: 60_000, maxKeyBytes: 64 },
      consumeQueueFiles: { maxOpenFiles: MAX_OPEN, idleMs: IDLE_MS },
      nowMs: () => now,
    });
    open.push({ log, store });
    // One message first, so the log segment and the IndexFile are open before the baseline.
    let index = 1;
    log.append([{ index, term: 1, type: EntryType.Normal, payload: encodeMessageRecords([message({ topic: 'Warm', queueId: 0 })]) }]);
    store.dispatchUpTo(index);
    store.flush();
    const baseline = openDescriptors();

    // Every queue touched once: one entry per 50 queues, each entry dispatched and flushed.
    for (let q = 0; q < QUEUES; q += 50) {
      index++;
      const ms = Array.from({ length: 50 }, (_, j) => message({ topic: `T${(q + j) % 7}`, queueId: q + j }));
      log.append([{ index, term: 1, type: EntryType.Normal, payload: encodeMessageRecords(ms) }]);
      store.dispatchUpTo(index);
      // Between flushes the queues written since the last one may stay open (a flush holds them).
      expect(openDescriptors() - baseline).toBeLessThanOrEqual(MAX_OPEN + 50);
      now += 1000;
      store.flush();
      expect(openDescriptors() - baseline).toBeLessThanOrEqual(MAX_OPEN);
    }
    expect(store.queues.pool.openFileCount).toBeLessThanOrEqual(MAX_OPEN);
    expect(store.queues.pool.closedFiles).toBeGreaterThanOrEqual(QUEUES - MAX_OPEN);

    // Idle past idleMs: the next flush closes every queue's files, the warm-up queue's included.
    now += IDLE_MS;
    store.flush();
    now += 1000;
    store.flush();
    expect(store.queues.pool.openFileCount).toBe(0);
    expect(openDescriptors()).toBeLessThanOrEqual(baseline - 1);

    // A read reopens just the file it needs, and finds the message.
    const r = store.getMessage(`T${123 % 7}`, 123, 0, 1, 1 << 20);
    expect(r.status).toBe(GetMessageStatus.FOUND);
    expect(store.queues.find(`T${123 % 7}`, 123)!.openFileCount).toBe(1);
    expect(store.queues.pool.openFileCount).toBe(1);
  });

  it('never closes a queue whose files a flush has taken until that flush completed', () => {
    const pool = new QueueFilePool({ maxOpenFiles: 2, idleMs: 0 });
    const closed: string[] = [];
    const make = (name: string, held: boolean) => ({
      name, openCount: 1, heldByFlush: held, usedMark: 0, lastUsedMs: 0,
      closeAll() {
        closed.push(this.name);
        this.openCount = 0;
        pool.closed(this, 1);
      },
    });
    const a = make('a', true);
    const b = make('b', false);
    const c = make('c', false);
    for (const f of [a, b, c]) pool.opened(f);
    // Over the bound: b is closed (the oldest not held), never a; c is the one being opened.
    expect(closed).toEqual(['b']);
    expect(pool.openFileCount).toBe(2);
    // The flush completed: holds released, and everything idle (idleMs 0) closes.
    pool.sweep(10);
    pool.sweep(20);
    expect(closed.sort()).toEqual(['a', 'b', 'c']);
    expect(pool.openFileCount).toBe(0);
  });
});
