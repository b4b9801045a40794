// An in-memory history with a hand-set clock: tests and generators build histories record by
// record (`b.at(12).invokeSend(...)`) with exactly the times they want, under the same rules the
// file writer asserts.
import { historyAssert } from './errors.js';
import { HistoryRecorder } from './recorder.js';
import type { History, HistoryOp } from './types.js';

export class HistoryBuilder extends HistoryRecorder {
  private readonly ops: HistoryOp[];
  private nowMs = 0;

  constructor() {
    const ops: HistoryOp[] = [];
    let self: HistoryBuilder | undefined;
    super(
      (op) => ops.push(op),
      () => self!.nowMs,
    );
    self = this;
    this.ops = ops;
  }

  /** Sets the time of the records that follow (ms since run start; never goes back). */
  at(timeMs: number): this {
    historyAssert(Number.isFinite(timeMs) && timeMs >= this.nowMs, `time must not go back: ${timeMs} < ${this.nowMs}`);
    this.nowMs = timeMs;
    return this;
  }

  history(): History {
    return this.ops.slice();
  }
}
