// Flushing: the periodic service that makes ConsumeQueues and IndexFiles durable and then writes
// the checkpoint (RocketMQ's FlushConsumeQueueService, flushIntervalConsumeQueue 1000 ms; a full
// IndexFile is also flushed as soon as it rolls, see IndexService), and the mapping of the
// CommitLog flush modes onto the Raft log's flush policy. The CommitLog itself is flushed by the
// Raft node runner, not here: ASYNC_FLUSH is a periodic msync, SYNC_FLUSH a group commit before
// each acknowledgement.

import type { FlushPolicy } from '../../raft/index.js';
import type { MessageStore } from './message-store.js';

export type FlushDiskType = 'ASYNC_FLUSH' | 'SYNC_FLUSH';

/** RocketMQ's defaults: flushIntervalCommitLog 500 ms, flushIntervalConsumeQueue 1000 ms. */
export const DEFAULT_FLUSH_INTERVAL_COMMIT_LOG_MS = 500;
export const DEFAULT_FLUSH_INTERVAL_CONSUME_QUEUE_MS = 1000;

/**
 * The Raft log flush policy for a broker's `flushDiskType`: ASYNC_FLUSH flushes every
 * `flushIntervalCommitLogMs` and never makes a send wait for the disk; SYNC_FLUSH makes the
 * runner sync each Ready's appends (one group commit per event-loop turn) before acknowledging,
 * so a send is answered only when its entry is on disk on a quorum.
 */
export function raftFlushPolicy(flushDiskType: FlushDiskType, flushIntervalCommitLogMs = DEFAULT_FLUSH_INTERVAL_COMMIT_LOG_MS): FlushPolicy {
  if (flushDiskType === 'SYNC_FLUSH') return { mode: 'sync' };
  if (flushDiskType !== 'ASYNC_FLUSH') throw new RangeError(`flushDiskType ${String(flushDiskType)} must be ASYNC_FLUSH or SYNC_FLUSH`);
  if (!Number.isInteger(flushIntervalCommitLogMs) || flushIntervalCommitLogMs < 1) {
    throw new RangeError(`flushIntervalCommitLog ${flushIntervalCommitLogMs} must be a positive number of milliseconds`);
  }
  return { mode: 'async', intervalMs: flushIntervalCommitLogMs };
}

export interface StoreFlushServiceOptions {
  /** Period of the flush (RocketMQ flushIntervalConsumeQueue, default 1000 ms). */
  intervalMs?: number;
  /** When the Raft log was last made durable, recorded in the checkpoint (default: unknown, 0). */
  logFlushTimestampMs?: () => number;
  /** Errors of timer runs (a full disk while writing the checkpoint); the service keeps going. */
  onError?: (err: unknown) => void;
}

export class StoreFlushService {
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  /** Dispatched index at the last successful flush (-1: never flushed by this service). */
  private flushedIndex = -1;
  /** Flushes that wrote a checkpoint since start (for tests and metrics). */
  flushCount = 0;
  lastError: unknown;

  constructor(
    private readonly store: MessageStore,
    private readonly options: StoreFlushServiceOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_FLUSH_INTERVAL_CONSUME_QUEUE_MS;
    if (!(this.intervalMs >= 1)) throw new RangeError(`flush interval ${this.intervalMs} must be >= 1 ms`);
  }

  /** Flushes every `intervalMs` (the timer does not keep Node alive). Call stop() before store.close(). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    try {
      this.flushNow();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err;
      this.options.onError?.(err);
    }
  }

  /**
   * Flushes ConsumeQueues and IndexFiles and writes the checkpoint, unless nothing was dispatched
   * since the last flush (`force` flushes anyway). Returns whether it flushed.
   */
  flushNow(force = false): boolean {
    const dispatched = this.store.dispatchedIndex;
    if (!force && dispatched === this.flushedIndex) return false;
    const logFlushed = this.options.logFlushTimestampMs?.();
    if (logFlushed === undefined) this.store.flush();
    else this.store.flush(logFlushed);
    this.flushedIndex = dispatched;
    this.flushCount++;
    return true;
  }
}
