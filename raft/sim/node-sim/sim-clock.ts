// Simulated time for real RaftNode instances: one event queue in virtual milliseconds, and per
// node incarnation a RaftNodeClock view over it. Killing a view cancels every timer of that
// incarnation at once (a crashed process runs nothing more), without the node's cooperation.
// Events due at the same time run in the order they were scheduled, so a seed replays exactly.
import type { RaftNodeClock } from '../../node/node-runtime.js';

interface TimerEvent {
  at: number;
  seq: number;
  fn: () => void;
  /** Repeat period for intervals; 0 for one-shot events. */
  everyMs: number;
  cancelled: boolean;
}

/** Bound on events run at one virtual instant: a node that reschedules itself forever is a bug. */
const MAX_EVENTS_PER_INSTANT = 100_000;

export class SimScheduler {
  private heap: TimerEvent[] = [];
  private seq = 0;
  now = 0;
  eventsRun = 0;

  schedule(at: number, fn: () => void, everyMs = 0): TimerEvent {
    const e: TimerEvent = { at: Math.max(at, this.now), seq: this.seq++, fn, everyMs, cancelled: false };
    this.push(e);
    return e;
  }

  /** Runs every event due up to `until` (inclusive), advancing time; leaves `now = until`. */
  runUntil(until: number): void {
    let atInstant = 0;
    let instant = -1;
    // Bounded: each pass removes one event; intervals re-enter with a later time, and a burst of
    // same-instant events is capped.
    while (this.heap.length > 0 && this.heap[0]!.at <= until) {
      const e = this.pop();
      if (e.cancelled) continue;
      if (e.at !== instant) {
        instant = e.at;
        atInstant = 0;
      }
      if (++atInstant > MAX_EVENTS_PER_INSTANT) throw new Error(`assertion: more than ${MAX_EVENTS_PER_INSTANT} events at ${e.at} ms`);
      this.now = e.at;
      if (e.everyMs > 0) {
        e.at += e.everyMs;
        e.seq = this.seq++;
        this.push(e);
      }
      this.eventsRun++;
      e.fn();
    }
    this.now = until;
  }

  /** A clock for one node incarnation. */
  clockView(): SimNodeClock {
    return new SimNodeClock(this);
  }

  private push(x: TimerEvent): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): TimerEvent {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < h.length && less(h[l]!, h[min]!)) min = l;
        if (r < h.length && less(h[r]!, h[min]!)) min = r;
        if (min === i) break;
        [h[i], h[min]] = [h[min]!, h[i]!];
        i = min;
      }
    }
    return top;
  }
}

function less(a: TimerEvent, b: TimerEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** One incarnation's view of simulated time; `kill()` silences it for good. */
export class SimNodeClock implements RaftNodeClock {
  private readonly owned = new Set<TimerEvent>();
  private dead = false;

  constructor(private readonly s: SimScheduler) {}

  now(): number {
    return this.s.now;
  }

  setInterval(fn: () => void, ms: number): unknown {
    return this.add(this.s.now + ms, fn, Math.max(1, ms));
  }

  clearInterval(handle: unknown): void {
    this.cancel(handle);
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.add(this.s.now + ms, fn, 0);
  }

  clearTimeout(handle: unknown): void {
    this.cancel(handle);
  }

  setImmediate(fn: () => void): void {
    this.add(this.s.now, fn, 0);
  }

  /** The process died: nothing it scheduled runs, nothing it schedules will. */
  kill(): void {
    this.dead = true;
    for (const e of this.owned) e.cancelled = true;
    this.owned.clear();
  }

  private add(at: number, fn: () => void, everyMs: number): TimerEvent | undefined {
    if (this.dead) return undefined;
    const e = this.s.schedule(at, () => {
      if (e.everyMs === 0) this.owned.delete(e);
      fn();
    }, everyMs);
    this.owned.add(e);
    return e;
  }

  private cancel(handle: unknown): void {
    const e = handle as TimerEvent | undefined;
    if (e === undefined) return;
    e.cancelled = true;
    this.owned.delete(e);
  }
}
