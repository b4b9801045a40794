// A seeded simulated network: per-message delay (which reorders), loss and duplication, and
// directed link cuts (a symmetric partition cuts both directions, a one-way partition one).
// Time is the simulation's step counter; the queue is a bounded binary heap.
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import type { Prng } from './prng.js';

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  /** Delivery delay in steps, uniform in [1, maxDelaySteps]. */
  maxDelaySteps: number;
}

interface InFlight {
  at: number;
  seq: number;
  m: Message;
}

export const MAX_IN_FLIGHT_MESSAGES = 20_000;

export class SimNetwork {
  private heap: InFlight[] = [];
  private seq = 0;
  private readonly cut = new Set<string>();
  faults: NetworkFaults;
  sent = 0;
  dropped = 0;

  constructor(
    private readonly rng: Prng,
    faults: NetworkFaults,
  ) {
    this.faults = { ...faults };
  }

  send(m: Message, now: number): void {
    this.sent++;
    if (this.cut.has(`${m.from}>${m.to}`) || this.rng.chance(this.faults.dropRate) || this.heap.length >= MAX_IN_FLIGHT_MESSAGES) {
      this.dropped++;
      return;
    }
    this.push({ at: now + this.rng.int(1, Math.max(1, this.faults.maxDelaySteps)), seq: this.seq++, m });
    if (this.rng.chance(this.faults.duplicateRate) && this.heap.length < MAX_IN_FLIGHT_MESSAGES) {
      this.push({ at: now + this.rng.int(1, Math.max(1, this.faults.maxDelaySteps) * 2), seq: this.seq++, m });
    }
  }

  /** Removes and returns the next message due at or before `now`, if any. */
  nextDue(now: number): Message | undefined {
    // Bounded by the heap size: every pass removes one message.
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const top = this.heap[0]!;
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.siftDown(0);
      }
      // A link cut after sending also loses what was on the wire.
      if (!this.cut.has(`${top.m.from}>${top.m.to}`)) return top.m;
      this.dropped++;
    }
    return undefined;
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Splits the nodes into `side` and the rest, both directions. */
  partition(side: readonly NodeId[], all: readonly NodeId[]): void {
    for (const a of side) for (const b of all) if (!side.includes(b)) {
      this.cutLink(a, b);
      this.cutLink(b, a);
    }
  }

  healAll(): void {
    this.cut.clear();
  }

  cutCount(): number {
    return this.cut.size;
  }

  inFlight(): number {
    return this.heap.length;
  }

  private push(x: InFlight): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && this.less(h[l]!, h[min]!)) min = l;
      if (r < h.length && this.less(h[r]!, h[min]!)) min = r;
      if (min === i) return;
      [h[i], h[min]] = [h[min]!, h[i]!];
      i = min;
    }
  }

  private less(a: InFlight, b: InFlight): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}
