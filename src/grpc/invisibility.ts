// What a simple consumer group holds on this node: per (group, topic, queue) the offsets handed
// out but not acknowledged, each invisible until its deadline and then receivable again with one
// more delivery attempt. Kept in memory on the node that serves the consumer: a restart or a
// failover forgets it and everything past the committed offset is delivered again
// (at-least-once). Everything below `base` is acknowledged; offsets in [base, cursor) absent from
// `entries` were acknowledged or filtered out. Pure: the caller gives the time and the reads.

export interface Entry {
  offset: number;
  /** When it becomes receivable (0: never delivered yet). */
  visibleAtMs: number;
  /** Deliveries so far. */
  attempts: number;
  /** Changes on every delivery and invisibility change: an older receipt handle is stale. */
  nonce: number;
  /** Message group (FIFO): a later message of the group waits until the earlier is acknowledged. */
  messageGroup: string | undefined;
}

export interface QueueLease {
  base: number;
  cursor: number;
  /** Ascending by offset (inserted in order, updated in place). */
  entries: Map<number, Entry>;
}

export interface Delivery {
  entry: Entry;
  handleNonce: number;
}

/** Unacknowledged messages tracked per node, all groups together; receives past it hand out nothing new. */
export const MAX_TRACKED_MESSAGES = 100_000;
/** Group-topic-queue states kept; idle ones (nothing unacknowledged) are forgotten first. */
export const MAX_LEASES = 20_000;

export class InvisibilityTable {
  private readonly leases = new Map<string, QueueLease>();
  private tracked = 0;
  private nextNonce = 1;

  constructor(
    private readonly maxTracked = MAX_TRACKED_MESSAGES,
    private readonly maxLeases = MAX_LEASES,
  ) {}

  get trackedCount(): number {
    return this.tracked;
  }

  /** Room for this many more tracked messages. */
  room(): number {
    return Math.max(0, this.maxTracked - this.tracked);
  }

  lease(group: string, topic: string, queueId: number, startOffset: () => number): QueueLease {
    const key = `${group}\u0000${topic}\u0000${queueId}`;
    let l = this.leases.get(key);
    if (l === undefined) {
      if (this.leases.size >= this.maxLeases) this.forgetIdle();
      const start = startOffset();
      l = { base: start, cursor: start, entries: new Map() };
      this.leases.set(key, l);
    }
    return l;
  }

  peek(group: string, topic: string, queueId: number): QueueLease | undefined {
    return this.leases.get(`${group}\u0000${topic}\u0000${queueId}`);
  }

  private forgetIdle(): void {
    for (const [k, l] of this.leases) {
      if (l.entries.size === 0) this.leases.delete(k);
      if (this.leases.size < this.maxLeases / 2) return;
    }
  }

  /** A message read at the cursor: tracked as never delivered (offsets must come in order). */
  track(l: QueueLease, offset: number, messageGroup: string | undefined): void {
    l.entries.set(offset, { offset, visibleAtMs: 0, attempts: 0, nonce: 0, messageGroup });
    this.tracked++;
    l.cursor = offset + 1;
  }

  /** The cursor moves past offsets with nothing to deliver (filtered out, or gone from the store). */
  skipTo(l: QueueLease, offset: number): void {
    if (offset > l.cursor) l.cursor = offset;
    if (l.entries.size === 0 && offset > l.base) l.base = offset;
  }

  /**
   * Up to `max` receivable entries in offset order, marked delivered and invisible until
   * now + invisibleMs. A message group with an earlier message still invisible is held back.
   */
  deliver(l: QueueLease, max: number, nowMs: number, invisibleMs: number): Delivery[] {
    const out: Delivery[] = [];
    const blocked = new Set<string>();
    for (const e of l.entries.values()) {
      if (out.length >= max) break;
      const receivable = e.visibleAtMs <= nowMs;
      if (e.messageGroup !== undefined) {
        if (blocked.has(e.messageGroup)) continue;
        // Later messages of the group wait until this one is acknowledged (or visible again);
        // a run of one group in the same batch is delivered together, in order.
        if (!receivable) {
          blocked.add(e.messageGroup);
          continue;
        }
      }
      if (!receivable) continue;
      e.attempts++;
      e.nonce = this.nextNonce++;
      e.visibleAtMs = nowMs + invisibleMs;
      out.push({ entry: e, handleNonce: e.nonce });
    }
    return out;
  }

  /** The earliest time an invisible entry becomes receivable, or undefined. */
  nextVisibleAt(l: QueueLease): number | undefined {
    let min: number | undefined;
    for (const e of l.entries.values()) if (e.visibleAtMs > 0 && (min === undefined || e.visibleAtMs < min)) min = e.visibleAtMs;
    return min;
  }

  /** Acknowledges a delivery; returns the new base when it moved, 'stale' when the handle is not the current one. */
  ack(l: QueueLease, offset: number, nonce: number): number | 'stale' | 'unchanged' {
    const e = l.entries.get(offset);
    if (e === undefined || e.nonce !== nonce) return 'stale';
    l.entries.delete(offset);
    this.tracked--;
    const before = l.base;
    this.advanceBase(l);
    return l.base !== before ? l.base : 'unchanged';
  }

  /** Moves the visibility deadline of a delivery; the new nonce, or 'stale'. */
  changeInvisible(l: QueueLease, offset: number, nonce: number, visibleAtMs: number): number | 'stale' {
    const e = l.entries.get(offset);
    if (e === undefined || e.nonce !== nonce) return 'stale';
    e.visibleAtMs = visibleAtMs;
    e.nonce = this.nextNonce++;
    return e.nonce;
  }

  private advanceBase(l: QueueLease): void {
    const first = l.entries.keys().next();
    l.base = first.done ? l.cursor : first.value;
  }
}
