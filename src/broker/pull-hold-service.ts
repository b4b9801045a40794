// Long polling: pulls that found nothing wait here, keyed by topic-queue, until the dispatcher
// reports new units for that queue, their deadline passes, or their channel closes. One sweep
// timer checks deadlines for all of them; wake-ups from dispatch are batched per event-loop
// turn so the Raft apply path only records which queues changed.

import type { RemotingChannel } from '../protocol/remoting-server.js';

export type HoldOutcome = 'arrived' | 'timeout' | 'closed' | 'full';

interface Hold {
  deadlineMs: number;
  channel: RemotingChannel;
  resolve: (o: HoldOutcome) => void;
}

export const MAX_HELD_PULLS = 20_000;
const SWEEP_INTERVAL_MS = 20;

export class PullHoldService {
  private readonly holds = new Map<string, Set<Hold>>();
  private count = 0;
  private readonly arrived = new Set<string>();
  private wakeScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly nowMs: () => number = Date.now,
    private readonly maxHolds = MAX_HELD_PULLS,
  ) {}

  get heldCount(): number {
    return this.count;
  }

  start(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Waits for a message on the queue; the deadline is never exceeded by more than one sweep. */
  wait(topic: string, queueId: number, timeoutMs: number, channel: RemotingChannel): Promise<HoldOutcome> {
    if (this.stopped || this.count >= this.maxHolds) return Promise.resolve('full');
    const key = `${topic}@${queueId}`;
    // Answer one sweep early rather than late: the client drops the whole connection when a
    // pull is held past its own timeout.
    const deadlineMs = this.nowMs() + Math.max(0, timeoutMs - SWEEP_INTERVAL_MS);
    return new Promise((resolve) => {
      let set = this.holds.get(key);
      if (!set) this.holds.set(key, (set = new Set()));
      set.add({ deadlineMs, channel, resolve });
      this.count++;
    });
  }

  /** Called from dispatch: remembers the queue and wakes its holds later in this turn. */
  notify(topic: string, queueId: number): void {
    const key = `${topic}@${queueId}`;
    if (!this.holds.has(key)) return;
    this.arrived.add(key);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => this.wakeArrived());
  }

  /** A reset renumbered every queue: wakes every held pull later in this turn to read again. */
  notifyAll(): void {
    if (this.holds.size === 0) return;
    for (const key of this.holds.keys()) this.arrived.add(key);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => this.wakeArrived());
  }

  private wakeArrived(): void {
    this.wakeScheduled = false;
    for (const key of this.arrived) {
      const set = this.holds.get(key);
      if (!set) continue;
      this.holds.delete(key);
      this.count -= set.size;
      for (const h of set) h.resolve(h.channel.closed ? 'closed' : 'arrived');
    }
    this.arrived.clear();
  }

  private sweep(): void {
    const now = this.nowMs();
    for (const [key, set] of this.holds) {
      for (const h of set) {
        if (h.channel.closed) this.drop(set, h, 'closed');
        else if (now >= h.deadlineMs) this.drop(set, h, 'timeout');
      }
      if (set.size === 0) this.holds.delete(key);
    }
  }

  private drop(set: Set<Hold>, h: Hold, outcome: HoldOutcome): void {
    set.delete(h);
    this.count--;
    h.resolve(outcome);
  }

  /** Answers every held pull (as timed out) and stops the sweep. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const set of this.holds.values()) for (const h of set) h.resolve('timeout');
    this.holds.clear();
    this.count = 0;
  }
}
