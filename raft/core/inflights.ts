// The per-follower window of App messages sent but not yet acknowledged: a fixed ring of
// (last index, payload bytes) pairs, bounded both in messages and in bytes.

export class Inflights {
  private readonly lastIndexes: Float64Array;
  private readonly sizesBytes: Float64Array;
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly maxMsgs: number,
    private readonly maxBytes: number,
  ) {
    if (!(maxMsgs >= 1 && maxBytes >= 1)) throw new Error('assertion: inflight limits must be positive');
    this.lastIndexes = new Float64Array(maxMsgs);
    this.sizesBytes = new Float64Array(maxMsgs);
  }

  /** Full when either limit is reached; one message is always allowed into an empty window. */
  full(): boolean {
    return this.count >= this.maxMsgs || (this.count > 0 && this.bytes >= this.maxBytes);
  }

  add(lastIndex: number, sizeBytes: number): void {
    if (this.count >= this.maxMsgs) throw new Error('assertion: add to a full inflight window');
    if (this.count > 0) {
      const prev = this.lastIndexes[(this.start + this.count - 1) % this.maxMsgs]!;
      if (lastIndex <= prev) throw new Error(`assertion: inflight indexes must increase (${lastIndex} after ${prev})`);
    }
    const slot = (this.start + this.count) % this.maxMsgs;
    this.lastIndexes[slot] = lastIndex;
    this.sizesBytes[slot] = sizeBytes;
    this.count++;
    this.bytes += sizeBytes;
  }

  /** Frees every message whose last index is <= `index` (the follower acknowledged them). */
  freeTo(index: number): void {
    while (this.count > 0 && this.lastIndexes[this.start]! <= index) {
      this.bytes -= this.sizesBytes[this.start]!;
      this.start = (this.start + 1) % this.maxMsgs;
      this.count--;
    }
    if (this.count === 0) this.bytes = 0;
  }

  /** Frees the oldest message: a heartbeat answer proves the link works while acks were lost. */
  freeFirst(): void {
    if (this.count === 0) return;
    this.freeTo(this.lastIndexes[this.start]!);
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }

  size(): number {
    return this.count;
  }

  sizeBytes(): number {
    return this.bytes;
  }
}
