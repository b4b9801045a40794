// Per-operation latencies of one phase, kept in one preallocated Float64Array (no allocation per
// message), and the peers' percentile rule: the smallest sample with at least p% at or below it.
import { assert } from '../common/assert.js';

export interface LatencySummary {
  p50_ms: number | null;
  p99_ms: number | null;
  p999_ms: number | null;
  max_ms: number | null;
}

export class LatencyRecorder {
  private readonly samplesMs: Float64Array;
  private count = 0;

  constructor(capacity: number) {
    assert(Number.isInteger(capacity) && capacity >= 0, `latency capacity must be a non-negative integer, got ${capacity}`);
    this.samplesMs = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Drops samples beyond the capacity: the capacity is the phase's operation count. */
  record(ms: number): void {
    if (this.count < this.samplesMs.length) this.samplesMs[this.count++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.samplesMs.slice(0, this.count).sort();
    return { p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), p999_ms: percentile(sorted, 99.9), max_ms: percentile(sorted, 100) };
  }
}

/** Rounded to µs; null for an empty phase. `sorted` must be ascending. */
export function percentile(sorted: Float64Array, p: number): number | null {
  assert(p > 0 && p <= 100, `percentile must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return null;
  // The epsilon keeps 99.9% of 1000 samples at rank 999 despite 0.999 * 1000 = 999.0000000000001.
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length - 1e-9) - 1));
  return Math.round(sorted[idx]! * 1000) / 1000;
}
