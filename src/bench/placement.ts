// Where each acknowledged message went (broker group, queue id, queue offset), indexed by its
// sequence number in typed arrays, so the read-back can check every message against its send
// result without an object per message.
import { assert } from '../common/assert.js';

export interface QueueRef {
  readonly brokerName: string;
  readonly queueId: number;
}

/** Distinct queues a run can write to (groups × queues); far above any real topic. */
const MAX_QUEUES = 65_536;

export class Placement {
  /** Index into `queueKeys`, or -1 while the message is not acknowledged. */
  private readonly queueOf: Int32Array;
  private readonly queueOffsetOf: Float64Array;
  private readonly queueIndex = new Map<string, number>();
  // Per broker group the index of each queue id seen, so placing a message builds no key string.
  private readonly indexByQueueId = new Map<string, number[]>();

  constructor(capacity: number) {
    assert(Number.isInteger(capacity) && capacity >= 0, `placement capacity must be a non-negative integer, got ${capacity}`);
    this.queueOf = new Int32Array(capacity).fill(-1);
    this.queueOffsetOf = new Float64Array(capacity);
  }

  get capacity(): number {
    return this.queueOf.length;
  }

  place(seq: number, q: QueueRef, queueOffset: number): void {
    assert(seq >= 0 && seq < this.queueOf.length, `sequence number ${seq} outside the placement`);
    this.queueOf[seq] = this.indexOf(q);
    this.queueOffsetOf[seq] = queueOffset;
  }

  isPlaced(seq: number): boolean {
    return this.queueOf[seq] !== undefined && this.queueOf[seq] !== -1;
  }

  /** True when `seq` was acknowledged at exactly this queue and offset. */
  matches(seq: number, q: QueueRef, queueOffset: number): boolean {
    const idx = this.knownIndexOf(q);
    return idx !== undefined && this.queueOf[seq] === idx && this.queueOffsetOf[seq] === queueOffset;
  }

  /** One past the highest acknowledged offset in `q` (0 when none went there). */
  endOffsetOf(q: QueueRef): number {
    const idx = this.queueIndex.get(keyOf(q));
    if (idx === undefined) return 0;
    let end = 0;
    for (let s = 0; s < this.queueOf.length; s++) if (this.queueOf[s] === idx) end = Math.max(end, this.queueOffsetOf[s]! + 1);
    return end;
  }

  placedCount(): number {
    let k = 0;
    for (let s = 0; s < this.queueOf.length; s++) if (this.queueOf[s] !== -1) k++;
    return k;
  }

  /** The index of a queue already placed to, without adding it. */
  private knownIndexOf(q: QueueRef): number | undefined {
    const ids = this.indexByQueueId.get(q.brokerName);
    const known = ids !== undefined && Number.isInteger(q.queueId) && q.queueId >= 0 && q.queueId < MAX_QUEUES ? ids[q.queueId] : undefined;
    return known ?? this.queueIndex.get(keyOf(q));
  }

  private indexOf(q: QueueRef): number {
    let ids = this.indexByQueueId.get(q.brokerName);
    if (ids === undefined) {
      ids = [];
      this.indexByQueueId.set(q.brokerName, ids);
    }
    const known = Number.isInteger(q.queueId) && q.queueId >= 0 && q.queueId < MAX_QUEUES ? ids[q.queueId] : undefined;
    if (known !== undefined) return known;
    const idx = this.lookupOrAdd(q);
    if (Number.isInteger(q.queueId) && q.queueId >= 0 && q.queueId < MAX_QUEUES) ids[q.queueId] = idx;
    return idx;
  }

  private lookupOrAdd(q: QueueRef): number {
    const key = keyOf(q);
    let idx = this.queueIndex.get(key);
    if (idx === undefined) {
      assert(this.queueIndex.size < MAX_QUEUES, `more than ${MAX_QUEUES} distinct queues in one run`);
      idx = this.queueIndex.size;
      this.queueIndex.set(key, idx);
    }
    return idx;
  }
}

function keyOf(q: QueueRef): string {
  return `${q.brokerName}\u0000${q.queueId}`;
}
