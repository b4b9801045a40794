// Long polling: pulls that found nothing wait here, keyed by topic-queue, until the dispatcher
// reports new units for that queue, their deadline passes, or their channel closes. One sweep
// timer checks deadlines for all of them; wake-ups from dispatch are batched per event-loop
// turn so the Raft apply path only records which queues changed.
// Held pulls are bounded per connection (maxHeldPullsPerConnection) and in total, so one client
// cannot use up what every other consumer's long poll needs. A pull past a bound is not answered
// at once (clients pull again as soon as they hear "nothing new", which would be a busy loop):
// it waits a short back-off (BUSY_HOLD_MS, never past its own timeout), not woken by arrivals,
// and then hears 'full'; the pull processor answers PULL_NOT_FOUND (19) with a remark.

import type { RemotingChannel } from '../protocol/remoting-server.js';

export type HoldOutcome = 'arrived' | 'timeout' | 'closed' | 'full';

interface Hold {
  deadlineMs: number;
  channel: RemotingChannel;
  resolve: (o: HoldOutcome) => void;
}

export const MAX_HELD_PULLS = 20_000;
export const MAX_HELD_PULLS_PER_CHANNEL = 1000;
/** Pulls waiting out the back-off at once; past this one is answered at once (tiny entries). */
const MAX_BUSY = 100_000;
/** How long a pull past a bound waits before it is answered. */
export const BUSY_HOLD_MS = 1000;
const SWEEP_INTERVAL_MS = 20;

export interface PullHoldOptions {
  nowMs?: () => number;
  /** Pulls held at once on this node. */
  maxHolds?: number;
  /** Pulls held at once per connection. */
  maxHoldsPerChannel?: number;
}

export class PullHoldService {
  private readonly holds = new Map<string, Set<Hold>>();
  private count = 0;
  private readonly perChannel = new Map<RemotingChannel, number>();
  /** Pulls past a bound, answered 'full' at their deadline; MAX_BUSY at most. */
  private readonly busy = new Set<Hold>();
  private readonly arrived = new Set<string>();
  private wakeScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly nowMs: () => number;
  private readonly maxHolds: number;
  private readonly maxHoldsPerChannel: number;

  constructor(options: PullHoldOptions = {}) {
    this.nowMs = options.nowMs ?? Date.now;
    this.maxHolds = options.maxHolds ?? MAX_HELD_PULLS;
    this.maxHoldsPerChannel = options.maxHoldsPerChannel ?? MAX_HELD_PULLS_PER_CHANNEL;
  }

  get heldCount(): number {
    return this.count;
  }

  /** Pulls waiting out the back-off after a bound refused to hold them. */
  get busyCount(): number {
    return this.busy.size;
  }

  start(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Waits for a message on the queue; the deadline is never exceeded by more than one sweep. */
  wait(topic: string, queueId: number, timeoutMs: number, channel: RemotingChannel): Promise<HoldOutcome> {
    if (this.stopped) return Promise.resolve('full');
    // Answer one sweep early rather than late: the client drops the whole connection when a
    // pull is held past its own timeout.
    const budgetMs = Math.max(0, timeoutMs - SWEEP_INTERVAL_MS);
    const held = this.perChannel.get(channel) ?? 0;
    if (this.count >= this.maxHolds || held >= this.maxHoldsPerChannel) {
      if (this.busy.size >= MAX_BUSY) return Promise.resolve('full');
      const deadlineMs = this.nowMs() + Math.min(BUSY_HOLD_MS, budgetMs);
      return new Promise((resolve) => this.busy.add({ deadlineMs, channel, resolve }));
    }
    const key = `${topic}@${queueId}`;
    const deadlineMs = this.nowMs() + budgetMs;
    return new Promise((resolve) => {
      let set = this.holds.get(key);
      if (!set) this.holds.set(key, (set = new Set()));
      set.add({ deadlineMs, channel, resolve });
      this.count++;
      this.perChannel.set(channel, held + 1);
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
      for (const h of set) this.release(h, h.channel.closed ? 'closed' : 'arrived');
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
    for (const h of this.busy) {
      if (h.channel.closed || now >= h.deadlineMs) {
        this.busy.delete(h);
        h.resolve(h.channel.closed ? 'closed' : 'full');
      }
    }
  }

  private drop(set: Set<Hold>, h: Hold, outcome: HoldOutcome): void {
    set.delete(h);
    this.release(h, outcome);
  }

  /** Resolves a held pull (already out of its set) and gives its place back. */
  private release(h: Hold, outcome: HoldOutcome): void {
    this.count--;
    const n = (this.perChannel.get(h.channel) ?? 1) - 1;
    if (n <= 0) this.perChannel.delete(h.channel);
    else this.perChannel.set(h.channel, n);
    h.resolve(outcome);
  }

  /** Answers every held pull (as timed out) and stops the sweep. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const set of this.holds.values()) for (const h of set) h.resolve('timeout');
    for (const h of this.busy) h.resolve('full');
    this.holds.clear();
    this.busy.clear();
    this.perChannel.clear();
    this.count = 0;
  }
}
