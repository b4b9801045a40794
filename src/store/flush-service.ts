// Flushing: the periodic service that makes ConsumeQueues and IndexFiles durable and then writes
// the checkpoint (RocketMQ's FlushConsumeQueueService, flushIntervalConsumeQueue 1000 ms). Its
// timer uses the store's background flush (thread pool, see store-flusher.ts), so a flush never
// stalls the event loop; `flushNow` is the blocking one. The CommitLog is the Raft log and is
// flushed by the Raft node runner (src/broker/flush-policy.ts maps flushDiskType onto it).

import type { MessageStore } from './message-store.js';

/** RocketMQ's default flushIntervalConsumeQueue. */
export const DEFAULT_FLUSH_INTERVAL_CONSUME_QUEUE_MS = 1000;

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
    const dispatched = this.store.dispatchedIndex;
    if (dispatched === this.flushedIndex) return;
    const onDone = (err: Error | null): void => {
      if (err) {
        this.lastError = err;
        this.options.onError?.(err);
        return;
      }
      this.lastError = undefined;
      this.flushedIndex = Math.max(this.flushedIndex, dispatched);
      this.flushCount++;
    };
    try {
      // False while the previous one is still in flight: this tick is then skipped.
      this.store.flushInBackground(this.options.logFlushTimestampMs?.() ?? 0, onDone);
    } catch (err) {
      onDone(err as Error);
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
