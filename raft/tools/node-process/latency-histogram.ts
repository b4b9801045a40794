// A fixed-size log-scale latency histogram (about 2% resolution from 10 µs to 100 s), so a
// benchmark can record millions of samples in bounded memory and weight a batch by its size.

const MIN_MS = 0.01;
const GROWTH = 1.02;
const BUCKETS = Math.ceil(Math.log(1e7) / Math.log(GROWTH)) + 1;
const LOG_GROWTH = Math.log(GROWTH);

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  total = 0;

  record(latencyMs: number, weight = 1): void {
    const b = latencyMs <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(latencyMs / MIN_MS) / LOG_GROWTH) + 1);
    this.counts[b] = this.counts[b]! + weight;
    this.total += weight;
  }

  /** The latency at quantile q in [0, 1] (upper edge of its bucket), or 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const target = q * this.total;
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= target && this.counts[b]! > 0) return b === 0 ? MIN_MS : MIN_MS * GROWTH ** b;
    }
    return MIN_MS * GROWTH ** (BUCKETS - 1);
  }
}
