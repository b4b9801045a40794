// Appends a run's history to history.jsonl. Records are buffered and written in batches (one
// write per `maxBufferBytes` or per flush interval, not one per record), the buffer has a hard
// bound, and close() flushes and fsyncs, so the file a checker reads is complete when the run
// ends and mostly complete if the harness itself dies.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { historyAssert } from './errors.js';
import { HistoryRecorder } from './recorder.js';
import type { HistoryOp } from './types.js';

export interface HistoryWriterOptions {
  /** Milliseconds since the run started; defaults to a monotonic clock started at open. */
  clockMs?: () => number;
  /** Buffered bytes that force a write. */
  maxBufferBytes?: number;
  /** Periodic flush so a crash of the harness loses at most this much history; 0 disables. */
  flushIntervalMs?: number;
}

const DEFAULT_MAX_BUFFER_BYTES = 64 * 1024;
const DEFAULT_FLUSH_INTERVAL_MS = 1000;

class FileSink {
  private chunks: string[] = [];
  private bufferedBytes = 0;
  private fd: number | undefined;

  constructor(
    path: string,
    private readonly maxBufferBytes: number,
  ) {
    // 'wx': a run folder holds one history; refusing to reuse a file keeps two runs from mixing.
    this.fd = openSync(path, 'wx');
  }

  append(op: HistoryOp): void {
    historyAssert(this.fd !== undefined, 'history writer used after close');
    const line = JSON.stringify(op) + '\n';
    this.chunks.push(line);
    // String length undercounts multi-byte characters; it only decides when to flush, so an
    // estimate is enough (the bound holds within a small factor).
    this.bufferedBytes += line.length;
    if (this.bufferedBytes >= this.maxBufferBytes) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.chunks.length === 0) return;
    const data = Buffer.from(this.chunks.join(''), 'utf8');
    this.chunks = [];
    this.bufferedBytes = 0;
    let written = 0;
    // writeSync may write less than asked; the loop ends because each pass writes ≥ 1 byte or throws.
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written);
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

export class HistoryWriter extends HistoryRecorder {
  private readonly file: FileSink;
  private readonly timer: NodeJS.Timeout | undefined;

  private constructor(file: FileSink, clockMs: () => number, flushIntervalMs: number) {
    super((op) => file.append(op), clockMs);
    this.file = file;
    if (flushIntervalMs > 0) {
      this.timer = setInterval(() => file.flush(), flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Creates `path` (it must not exist) and returns a writer whose clock starts now. */
  static open(path: string, options: HistoryWriterOptions = {}): HistoryWriter {
    const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    historyAssert(maxBufferBytes > 0, 'maxBufferBytes must be positive');
    const startMs = performance.now();
    const clockMs = options.clockMs ?? (() => performance.now() - startMs);
    return new HistoryWriter(new FileSink(path, maxBufferBytes), clockMs, options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
  }

  /** Writes what is buffered now. */
  flush(): void {
    this.file.flush();
  }

  /** Flushes, fsyncs and closes the file; later records assert. Idempotent. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.file.close();
  }
}
