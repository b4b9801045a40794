// A small seeded pseudo-random generator (mulberry32) for the fault-injection harness. Every
// random choice of a run (which nodes to cut, which chunk to lose, which fault comes next) is
// drawn from one of these, so the seed recorded in the history replays the same schedule.
import assert from 'node:assert/strict';

export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    assert(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
    // A zero state would still work with mulberry32, but mixing in a constant keeps seed 0 and
    // seed 2^32 from being the same generator by accident of the >>> 0.
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    assert(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi, `bad range [${lo}, ${hi}]`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(probability: number): boolean {
    assert(probability >= 0 && probability <= 1, `probability must be in [0, 1], got ${probability}`);
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A shuffled copy (Fisher-Yates); the input is left alone. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }

  /** A new generator whose sequence depends only on this one's next draw. */
  fork(): SeededRandom {
    return new SeededRandom(Math.floor(this.next() * 4294967296));
  }
}

/** A fresh seed for runs that were not given one (the harness records it so it can replay). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2147483647);
}
