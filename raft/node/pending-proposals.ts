// The proposals a node has handed to the core and not yet answered, in proposal order. Every
// batch waits for the commit of its last index; it resolves when the committed entry there
// carries the batch's term, and is dropped when another term's entry took the index. Kept as an
// array with a moving head (no per-proposal map entry) because there can be 100k in flight.

export interface PendingBatch {
  firstIndex: number;
  lastIndex: number;
  term: number;
  deadlineMs: number;
  resolve: (v: { index: number; lastIndex: number; term: number }) => void;
  reject: (err: Error) => void;
}

export class PendingProposals {
  private items: (PendingBatch | undefined)[] = [];
  private head = 0;
  /** Entries (not batches) pending, for the ERR_BUSY bound. */
  entryCount = 0;

  get batchCount(): number {
    return this.items.length - this.head;
  }

  /**
   * Adds a batch the core just accepted. A leader appends at `firstIndex` only after its log
   * lost everything from there on, so any older batch at or past that index cannot commit with
   * its term: those are returned to be rejected as dropped, which also keeps the list sorted.
   */
  push(b: PendingBatch): PendingBatch[] {
    const dropped: PendingBatch[] = [];
    while (this.batchCount > 0) {
      const last = this.items[this.items.length - 1]!;
      if (last.lastIndex < b.firstIndex) break;
      this.items.pop();
      this.entryCount -= last.lastIndex - last.firstIndex + 1;
      dropped.push(last);
    }
    this.items.push(b);
    this.entryCount += b.lastIndex - b.firstIndex + 1;
    return dropped;
  }

  /** Removes and returns the batches whose last index is at most `commitIndex`, in order. */
  takeCommitted(commitIndex: number, out: PendingBatch[]): void {
    while (this.head < this.items.length) {
      const b = this.items[this.head]!;
      if (b.lastIndex > commitIndex) break;
      out.push(this.shift());
    }
    this.compact();
  }

  /** Removes and returns the batches whose deadline passed (deadlines grow in proposal order). */
  takeExpired(nowMs: number, out: PendingBatch[]): void {
    while (this.head < this.items.length) {
      const b = this.items[this.head]!;
      if (b.deadlineMs > nowMs) break;
      out.push(this.shift());
    }
    this.compact();
  }

  takeAll(): PendingBatch[] {
    const all = this.items.slice(this.head) as PendingBatch[];
    this.items = [];
    this.head = 0;
    this.entryCount = 0;
    return all;
  }

  private shift(): PendingBatch {
    const b = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.entryCount -= b.lastIndex - b.firstIndex + 1;
    return b;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
