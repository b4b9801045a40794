// A pipelined proposer for tests and benchmarks, run inside the leader's process: keeps
// `window` entries in flight in batches of up to `batchMax`, writes sequence-numbered payloads,
// reports each acknowledged sequence range, and measures commit latency per batch. It stops
// proposing at the first error that says this node no longer leads.

import { SEQ_HEADER_BYTES, SEQ_TAG, type LoadResult, type LoadSpec } from './control-protocol.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { RaftNode } from '../../node/raft-node.js';

export class LoadDriver {
  private nextSeq: number;
  private readonly endSeq: number;
  private deadlineMs = Infinity;
  private inflight = 0;
  private stopped = false;
  private topUpScheduled = false;
  private proposed = 0;
  private acked = 0;
  private failed = 0;
  private readonly errors: Record<string, number> = {};
  private readonly latency = new LatencyHistogram();
  private startMs = 0;
  private finish: ((r: LoadResult) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly node: RaftNode,
    private readonly spec: LoadSpec,
    private readonly onAcked: (lo: number, hi: number) => void,
  ) {
    if (!(spec.window >= 1 && spec.batchMax >= 1 && spec.payloadBytes >= SEQ_HEADER_BYTES)) {
      throw new RangeError(`bad load spec ${JSON.stringify(spec)}`);
    }
    this.nextSeq = spec.fromSeq;
    this.endSeq = spec.count > 0 ? spec.fromSeq + spec.count : Number.MAX_SAFE_INTEGER;
  }

  run(): Promise<LoadResult> {
    this.startMs = performance.now();
    if (this.spec.seconds > 0) {
      this.deadlineMs = this.startMs + this.spec.seconds * 1000;
      this.timer = setTimeout(() => this.stop(), this.spec.seconds * 1000);
    }
    const done = new Promise<LoadResult>((resolve) => (this.finish = resolve));
    this.topUp();
    return done;
  }

  stop(): void {
    this.stopped = true;
    this.maybeFinish();
  }

  private scheduleTopUp(): void {
    if (this.topUpScheduled) return;
    this.topUpScheduled = true;
    // Gather every acknowledgement of this turn, then refill the window once.
    setImmediate(() => {
      this.topUpScheduled = false;
      this.topUp();
    });
  }

  private topUp(): void {
    const now = performance.now();
    if (now >= this.deadlineMs) this.stopped = true;
    // Each round puts at least one entry in flight, so the loop is bounded by the window.
    while (!this.stopped && this.inflight < this.spec.window && this.nextSeq < this.endSeq) {
      const n = Math.min(this.spec.batchMax, this.spec.window - this.inflight, this.endSeq - this.nextSeq);
      const lo = this.nextSeq;
      const payloads: Buffer[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const p = Buffer.allocUnsafe(this.spec.payloadBytes);
        p.writeUInt32LE(lo + i, 0);
        p.writeUInt32LE(SEQ_TAG, 4);
        p.fill(0x61, SEQ_HEADER_BYTES);
        payloads[i] = p;
      }
      this.nextSeq += n;
      this.inflight += n;
      this.proposed += n;
      this.node.proposeBatch(payloads).then(
        () => {
          this.inflight -= n;
          this.acked += n;
          this.latency.record(performance.now() - now, n);
          this.onAcked(lo, lo + n - 1);
          this.scheduleTopUp();
          this.maybeFinish();
        },
        (err: { code?: string }) => {
          this.inflight -= n;
          this.failed += n;
          const code = err.code ?? 'ERR_DEMO_UNKNOWN';
          this.errors[code] = (this.errors[code] ?? 0) + n;
          if (code !== 'ERR_RAFT_BUSY') this.stopped = true;
          this.scheduleTopUp();
          this.maybeFinish();
        },
      );
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.inflight > 0 || !this.finish) return;
    if (!this.stopped && this.nextSeq < this.endSeq) return;
    if (this.timer) clearTimeout(this.timer);
    const finish = this.finish;
    this.finish = null;
    finish({
      proposed: this.proposed,
      acked: this.acked,
      failed: this.failed,
      errors: this.errors,
      durationMs: performance.now() - this.startMs,
      latencyMsP50: this.latency.quantile(0.5),
      latencyMsP99: this.latency.quantile(0.99),
    });
  }
}
