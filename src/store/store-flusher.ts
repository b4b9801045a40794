// Making the derived state durable: the ConsumeQueues and IndexFiles, then the checkpoint that
// says how far dispatch got. The rule recovery depends on: the checkpoint never claims more than
// is durable. So every flush first takes the files written since the last one together with the
// dispatch progress at that moment (all units of entries up to it are in those files), makes
// those files and then any new directory names durable, and only then writes a checkpoint claiming
// that progress.
//   - `flush()` does it all blocking (close, and retention before it deletes log segments: the
//     broker's minRetainIndex relies on "everything dispatched is durable" when it returns).
//   - `flushInBackground()` does the same in libuv's thread pool, so the periodic flush costs the
//     event loop only the bookkeeping (measured 4% of a leader's and 8-12% of a follower's busy
//     time when it was blocking). At most one runs at a time.
// A blocking flush while a background one is in flight also syncs the files that one took, and
// its checkpoint wins: the background one then does not publish its older checkpoint.

import type { MappedFile } from '../../raft/storage/mapped-file.js';
import { type StoreCheckpoint, writeCheckpoint, writeCheckpointInBackground } from './checkpoint.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { Dispatcher } from './dispatcher.js';
import { withDiskFullCheck, isNoSpaceError, DiskFullError } from './disk-usage.js';
import { fileSync, runBounded, type SyncCallback } from './file-sync.js';
import type { IndexService } from './index-service.js';

/**
 * Thread-pool syncs one background flush keeps in flight at most: libuv has 4 threads, shared
 * with the Raft log's own background sync and every other fs call of the process.
 */
const BACKGROUND_SYNCS_IN_FLIGHT_MAX = 2;

/** What one flush covers: files and directories to sync, and the progress it may then claim. */
interface FlushBatch {
  files: MappedFile[];
  dirs: Set<string>;
  dispatchedIndex: number;
  dispatchedPhysicalOffset: number;
}

export class StoreFlusher {
  private lastFlush = { log: 0, consumeQueue: 0, index: 0 };
  /** Files and directories a failed flush took: the next flush syncs them again. */
  private retryFiles = new Set<MappedFile>();
  private retryDirs = new Set<string>();
  /** The batch a background flush is syncing (a blocking flush meanwhile syncs it too). */
  private inFlight: FlushBatch | undefined;
  /** True from flushInBackground until its done callback: at most one at a time. */
  private busy = false;
  /** Bumped by every blocking checkpoint write, so an older background one never replaces it. */
  private generation = 0;
  /** Dispatch progress claimed by the newest checkpoint known to be published. */
  private checkpointedIndex = -1;
  private checkpointedPhysicalOffset = -1;
  private closed = false;
  /** Background flushes that published a checkpoint (for tests and metrics). */
  backgroundFlushCount = 0;

  constructor(
    /** The checkpoint file (store-paths.ts). */
    private readonly checkpointFile: string,
    private readonly queues: ConsumeQueueTable,
    private readonly index: IndexService,
    private readonly dispatcher: Dispatcher,
    private readonly nowMs: () => number,
  ) {}

  /** Whether a background flush is in flight (its done callback has not run yet). */
  get inProgress(): boolean {
    return this.busy;
  }

  /** Takes everything written since the last flush, with the progress it covers. */
  private takeBatch(): FlushBatch {
    // Read the progress before taking files: everything up to it is already written, so it is
    // in the files taken below (dispatch runs on this same thread, never in between).
    const batch: FlushBatch = {
      files: [],
      dirs: this.retryDirs,
      dispatchedIndex: this.dispatcher.dispatchedIndex,
      dispatchedPhysicalOffset: this.dispatcher.dispatchedPhysicalOffset,
    };
    this.retryDirs = new Set();
    for (const cq of this.queues.all()) cq.takeDirtyFiles(batch.files, batch.dirs);
    this.index.takeDirtyFiles(batch.files, batch.dirs);
    if (this.retryFiles.size > 0) {
      // Without duplicates, so repeated failures cannot grow the list past the open files.
      for (const f of batch.files) this.retryFiles.add(f);
      batch.files = [...this.retryFiles];
      this.retryFiles.clear();
    }
    return batch;
  }

  private checkpointOf(batch: FlushBatch, logFlushTimestampMs: number, nowMs: number): StoreCheckpoint {
    return {
      dispatchedIndex: batch.dispatchedIndex,
      dispatchedPhysicalOffset: batch.dispatchedPhysicalOffset,
      logFlushTimestampMs,
      consumeQueueFlushTimestampMs: nowMs,
      indexFlushTimestampMs: nowMs,
    };
  }

  private published(batch: FlushBatch): void {
    if (batch.dispatchedIndex >= this.checkpointedIndex) {
      this.checkpointedIndex = batch.dispatchedIndex;
      this.checkpointedPhysicalOffset = batch.dispatchedPhysicalOffset;
    }
  }

  /** Blocking flush: durable and checkpointed on return. */
  flush(logFlushTimestampMs = this.lastFlush.log): void {
    const batch = this.takeBatch();
    // What an in-flight background flush took is not durable yet: cover it too.
    const pending = this.inFlight;
    try {
      for (const f of batch.files) fileSync.file(f);
      if (pending) for (const f of pending.files) fileSync.file(f);
      for (const d of batch.dirs) fileSync.dir(d);
      if (pending) for (const d of pending.dirs) fileSync.dir(d);
    } catch (err) {
      this.retry(batch);
      throw err;
    }
    const now = this.nowMs();
    this.lastFlush = { log: logFlushTimestampMs, consumeQueue: now, index: now };
    // Any background checkpoint from here on would be older than this one.
    this.generation++;
    // A full disk keeps the old checkpoint (the write is atomic): recovery then redoes a little more.
    withDiskFullCheck('writing the store checkpoint', () => writeCheckpoint(this.checkpointFile, this.checkpointOf(batch, logFlushTimestampMs, now)));
    this.published(batch);
    this.settled();
  }

  /**
   * Everything a flush took so far is durable (this one synced an in-flight one's files too):
   * ConsumeQueue files may be closed again, and idle or surplus ones are (queue-file-pool.ts).
   * Not while a failed flush's files wait for a retry through their descriptors.
   */
  private settled(): void {
    if (this.retryFiles.size === 0 && this.retryDirs.size === 0 && !this.closed) this.queues.pool.sweep(this.nowMs());
  }

  /**
   * Starts a flush in the thread pool and returns true, or returns false (doing nothing) while
   * one is in flight. `done` runs once: with null when the checkpoint was published, skipped
   * because nothing changed since the last one, or overtaken by a blocking flush (or close) that
   * covered it; with the error otherwise, and then the next flush syncs the same files again.
   */
  flushInBackground(logFlushTimestampMs: number, done?: SyncCallback): boolean {
    if (this.busy) return false;
    const batch = this.takeBatch();
    const finish = (err: Error | null): void => {
      this.busy = false;
      if (err === null) this.settled();
      done?.(err);
    };
    this.busy = true;
    if (batch.files.length === 0 && batch.dirs.size === 0 && batch.dispatchedIndex === this.checkpointedIndex && batch.dispatchedPhysicalOffset === this.checkpointedPhysicalOffset) {
      // Nothing new to claim: an idle broker writes no checkpoint every second.
      process.nextTick(finish, null);
      return true;
    }
    this.inFlight = batch;
    const generation = this.generation;
    const fileTasks = batch.files.map((f) => (cb: SyncCallback) => fileSync.fileInBackground(f, cb));
    const dirTasks = [...batch.dirs].map((d) => (cb: SyncCallback) => fileSync.dirInBackground(d, cb));
    // Names only after bytes: a directory is synced once every file of the batch is, so a power
    // loss never keeps the name of a file whose bytes were lost (a queue's head file gone while a
    // later one survives would shift every offset of its rebuild).
    const syncAll = (cb: SyncCallback): void =>
      runBounded(fileTasks, BACKGROUND_SYNCS_IN_FLIGHT_MAX, (err) => (err ? cb(err) : runBounded(dirTasks, BACKGROUND_SYNCS_IN_FLIGHT_MAX, cb)));
    const now = this.nowMs();
    syncAll((syncErr) => {
      if (this.inFlight === batch) this.inFlight = undefined;
      if (this.closed || this.generation !== generation) {
        // close() or a blocking flush synced these files and wrote a newer checkpoint.
        finish(null);
        return;
      }
      if (syncErr) {
        this.retry(batch);
        finish(syncErr);
        return;
      }
      const mayPublish = (): boolean => !this.closed && this.generation === generation;
      writeCheckpointInBackground(this.checkpointFile, this.checkpointOf(batch, logFlushTimestampMs, now), mayPublish, (err, published) => {
        if (published && err === null) {
          this.lastFlush = { log: logFlushTimestampMs, consumeQueue: now, index: now };
          this.published(batch);
          this.backgroundFlushCount++;
        }
        finish(err && isNoSpaceError(err) ? new DiskFullError(`disk full while writing the store checkpoint: ${err.message}`, { cause: err }) : err);
      });
    });
    return true;
  }

  private retry(batch: FlushBatch): void {
    for (const f of batch.files) this.retryFiles.add(f);
    for (const d of batch.dirs) this.retryDirs.add(d);
  }

  /** Blocking final flush; a background flush still in flight then finishes without effect. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.inFlight = undefined;
  }
}
