// consumeTps of GET_CONSUME_STATS (208): the messages this node returned to a consumer group's
// pulls of a topic, per second over the last minute, which is what RocketMQ's broker reports
// (its per-minute rate of the group's pulled messages). Counted where the pull is answered, so
// a node reports the pulls it served: clients pull from the master (suggestWhichBrokerId 0), so
// the leader's figure is the group's, and a leader elected a moment ago starts from 0.
// Memory: six 10 s slots per (group, topic), at most MAX_KEYS pairs (the oldest pair goes first).

import type { BrokerContext } from './broker-context.js';

const SLOT_MS = 10_000;
const SLOTS = 6;
/** (group, topic) pairs tracked at once. */
export const MAX_CONSUME_RATE_KEYS = 10_000;

interface Slots {
  /** The slot number (time / SLOT_MS) of the newest count. */
  newest: number;
  counts: number[];
}

export class ConsumeRate {
  private readonly byKey = new Map<string, Slots>();

  /** `messages` were returned now to a pull of `group` on `topic`. */
  record(group: string, topic: string, messages: number, nowMs: number): void {
    if (messages <= 0) return;
    const key = `${group}\u0001${topic}`;
    let s = this.byKey.get(key);
    if (s === undefined) {
      if (this.byKey.size >= MAX_CONSUME_RATE_KEYS) {
        const oldest = this.byKey.keys().next().value;
        if (oldest !== undefined) this.byKey.delete(oldest);
      }
      s = { newest: Math.floor(nowMs / SLOT_MS), counts: new Array<number>(SLOTS).fill(0) };
      this.byKey.set(key, s);
    }
    const slot = advance(s, nowMs);
    s.counts[slot % SLOTS]! += messages;
  }

  /** Messages per second returned to `group`'s pulls of `topic` over the last minute (0 if none). */
  tps(group: string, topic: string, nowMs: number): number {
    const s = this.byKey.get(`${group}\u0001${topic}`);
    if (s === undefined) return 0;
    advance(s, nowMs);
    let sum = 0;
    for (const c of s.counts) sum += c;
    // The newest slot is still filling: the counts cover the full older slots plus its part.
    const coveredMs = (SLOTS - 1) * SLOT_MS + Math.max(1, nowMs - Math.floor(nowMs / SLOT_MS) * SLOT_MS);
    return (sum * 1000) / coveredMs;
  }
}

/** Clears the slots that passed since the newest count; returns the current slot number. */
function advance(s: Slots, nowMs: number): number {
  const slot = Math.floor(nowMs / SLOT_MS);
  // Bounded: at most SLOTS slots are cleared however long the pause was.
  for (let n = s.newest + 1; n <= slot && n <= s.newest + SLOTS; n++) s.counts[n % SLOTS] = 0;
  if (slot > s.newest) s.newest = slot;
  return s.newest;
}

const rates = new WeakMap<BrokerContext, ConsumeRate>();

/** The node's pull counter (one per broker). */
export function consumeRateOf(ctx: BrokerContext): ConsumeRate {
  let r = rates.get(ctx);
  if (r === undefined) rates.set(ctx, (r = new ConsumeRate()));
  return r;
}
