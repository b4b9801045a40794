// Leader-side bookkeeping for ReadIndex (Raft thesis §6.4). Each request gets a sequence
// number; heartbeats carry the newest one and followers echo it, so a request is confirmed once
// a majority has echoed a sequence at or above its own. Requests that arrive before the leader
// committed an entry of its term wait, since until then its commit index may be stale.
import type { NodeId } from './types.js';

export interface ReadRequest {
  seq: number;
  /** The commit index when the request arrived: apply up to here, then read. */
  index: number;
  /** Who asked: the leader itself, or the follower that forwarded it. */
  from: NodeId;
  context: Uint8Array;
}

/** Requests beyond this many are dropped; their callers time out and retry. */
export const MAX_PENDING_READS = 4096;

export class ReadOnly {
  private queue: ReadRequest[] = [];
  private head = 0;
  private waiting: { from: NodeId; context: Uint8Array }[] = [];
  private seq = 0;
  /** Set when a request was queued and a heartbeat round should carry its sequence. */
  needsHeartbeat = false;

  pendingCount(): number {
    return this.queue.length - this.head + this.waiting.length;
  }

  /** A request while the leader has not yet committed in its term. Returns false when full. */
  wait(from: NodeId, context: Uint8Array): boolean {
    if (this.pendingCount() >= MAX_PENDING_READS) return false;
    this.waiting.push({ from, context });
    return true;
  }

  /** Queues a request at `index`; returns false when full. */
  add(from: NodeId, context: Uint8Array, index: number): boolean {
    if (this.pendingCount() >= MAX_PENDING_READS) return false;
    this.queue.push({ seq: ++this.seq, index, from, context });
    this.needsHeartbeat = true;
    return true;
  }

  /** Moves waiting requests into the queue once the leader committed in its term. */
  release(index: number): void {
    if (this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      this.queue.push({ seq: ++this.seq, index, from: w.from, context: w.context });
    }
    this.needsHeartbeat = true;
  }

  /** The sequence the next heartbeat round should carry, or 0 when nothing is pending. */
  newestSeq(): number {
    return this.queue.length > this.head ? this.seq : 0;
  }

  /** Removes and returns every request confirmed by a quorum echo of `ackedSeq`. */
  confirm(ackedSeq: number): ReadRequest[] {
    const done: ReadRequest[] = [];
    while (this.head < this.queue.length && this.queue[this.head]!.seq <= ackedSeq) {
      done.push(this.queue[this.head]!);
      this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return done;
  }

  clear(): void {
    this.queue = [];
    this.head = 0;
    this.waiting = [];
    this.needsHeartbeat = false;
  }
}

/** Heartbeat contexts carry a read sequence as 8 bytes. */
export function encodeReadSeq(seq: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, seq);
  return out;
}

/** The sequence in a heartbeat answer's context, or 0 when it carries none. */
export function decodeReadSeq(context: Uint8Array | undefined): number {
  if (context === undefined || context.length !== 8) return 0;
  const v = new DataView(context.buffer, context.byteOffset, 8).getFloat64(0);
  return Number.isSafeInteger(v) && v > 0 ? v : 0;
}
