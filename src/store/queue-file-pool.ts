// The budget of open ConsumeQueue files of one store. Each open file costs a descriptor and a
// mapping (6 MB with the default 300,000 units), and a broker may have thousands of queues of
// which few are busy; so files are opened on first use, closed again when their queue was idle
// for `idleMs`, and the least recently used queues are closed when the open files pass
// `maxOpenFiles`. A queue reopens its files on the next access, which costs an open and an mmap.
//
// A queue whose files a flush has taken (to fdatasync them) stays open until a flush completes
// with everything it took durable: the blocking fdatasync goes through the file's own
// descriptor, which must not be closed under it. So the bound can be passed between two
// flushes (by the queues written since the last one); the flusher's sweep brings it back.

/** What the pool needs of a queue's set of files (QueueFiles). */
export interface PooledFiles {
  /** Files of this queue now open. */
  readonly openCount: number;
  /** A flush took some of these files and has not completed yet: closing them is not safe. */
  heldByFlush: boolean;
  /** The pool's mark at the last access (set by the queue on every access: a plain store). */
  usedMark: number;
  /** Time of the last sweep that saw the queue used since the sweep before. */
  lastUsedMs: number;
  /** Closes every open file of the queue (they reopen on the next access). */
  closeAll(): void;
}

export interface QueueFilePoolOptions {
  /** Open ConsumeQueue files above which the least recently used idle queues are closed. */
  maxOpenFiles: number;
  /** A queue not accessed for this long is closed by the next sweep. */
  idleMs: number;
}

/** Default bound on open ConsumeQueue files (broker.conf `maxOpenConsumeQueueFiles`). */
export const DEFAULT_MAX_OPEN_CQ_FILES = 1024;
/** Default idle time after which a queue's files are closed (`consumeQueueIdleCloseSeconds` × 1000). */
export const DEFAULT_CQ_IDLE_MS = 60_000;

export class QueueFilePool {
  readonly maxOpenFiles: number;
  readonly idleMs: number;
  /** Every queue with at least one open file. */
  private readonly open = new Set<PooledFiles>();
  private openFiles = 0;
  /** Bumped by every sweep; a queue that stores it was used since that sweep. */
  mark = 1;
  /** Times an open passed the bound with nothing closable (held by a flush); for tests and status. */
  overBoundCount = 0;
  /** Files closed by the pool (idle or over the bound); for tests and status. */
  closedFiles = 0;

  constructor(options: QueueFilePoolOptions = { maxOpenFiles: DEFAULT_MAX_OPEN_CQ_FILES, idleMs: DEFAULT_CQ_IDLE_MS }) {
    if (!Number.isSafeInteger(options.maxOpenFiles) || options.maxOpenFiles < 1) throw new RangeError(`maxOpenFiles ${options.maxOpenFiles} must be a positive integer`);
    if (!(options.idleMs >= 0)) throw new RangeError(`idleMs ${options.idleMs} must be >= 0`);
    this.maxOpenFiles = options.maxOpenFiles;
    this.idleMs = options.idleMs;
  }

  /** An unbounded pool, for a queue opened on its own (tests, tools). */
  static unbounded(): QueueFilePool {
    return new QueueFilePool({ maxOpenFiles: Number.MAX_SAFE_INTEGER, idleMs: Number.MAX_SAFE_INTEGER });
  }

  /** Files open now, over all queues. */
  get openFileCount(): number {
    return this.openFiles;
  }

  /** `files` opened one more file; closes others when that passes the bound (never `files`). */
  opened(files: PooledFiles): void {
    this.openFiles++;
    this.open.add(files);
    if (this.openFiles > this.maxOpenFiles) this.closeLeastRecentlyUsed(files);
  }

  /** `files` closed `count` files (on its own: a deletion, or closeAll). */
  closed(files: PooledFiles, count: number): void {
    this.openFiles -= count;
    if (files.openCount === 0) this.open.delete(files);
  }

  /**
   * Called by the flusher when a flush completed and nothing it or an earlier one took is still
   * waiting to be made durable: releases the holds, closes the queues idle for `idleMs`, and
   * closes the least recently used ones while over the bound.
   */
  sweep(nowMs: number): void {
    const used = this.mark;
    this.mark++;
    // Bounded by the open queues; closeAll removes from the set, so iterate over a copy.
    for (const f of [...this.open]) {
      f.heldByFlush = false;
      if (f.usedMark === used) f.lastUsedMs = nowMs;
      else if (nowMs - f.lastUsedMs >= this.idleMs) this.close(f);
    }
    if (this.openFiles > this.maxOpenFiles) this.closeLeastRecentlyUsed(undefined);
  }

  /**
   * Closes the least recently used closable queues down to 90% of the bound (so a stream of
   * opens does not pay one sort each), sparing `except` (the queue being opened).
   */
  private closeLeastRecentlyUsed(except: PooledFiles | undefined): void {
    const candidates = [...this.open].filter((f) => f !== except && !f.heldByFlush);
    candidates.sort((a, b) => a.usedMark - b.usedMark || a.lastUsedMs - b.lastUsedMs);
    const target = Math.floor(this.maxOpenFiles * 0.9);
    // Bounded by the candidates.
    for (const f of candidates) {
      if (this.openFiles <= target) break;
      this.close(f);
    }
    // What is still open is held by a flush (or is being opened): the next sweep closes it.
    if (this.openFiles > this.maxOpenFiles) this.overBoundCount++;
  }

  private close(f: PooledFiles): void {
    this.closedFiles += f.openCount;
    f.closeAll();
  }
}
