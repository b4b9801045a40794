// A fixed-capacity set of small non-negative integers (message sequence numbers of the demo),
// one byte each: membership, count, and what one set has that another lacks.

export class SeqSet {
  private readonly bits: Uint8Array;
  private size = 0;

  constructor(readonly capacity: number) {
    this.bits = new Uint8Array(capacity);
  }

  /** Adds seq; false when it was already present. */
  add(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.capacity) throw new RangeError(`sequence ${seq} outside 0..${this.capacity - 1}`);
    if (this.bits[seq] === 1) return false;
    this.bits[seq] = 1;
    this.size++;
    return true;
  }

  has(seq: number): boolean {
    return this.bits[seq] === 1;
  }

  get count(): number {
    return this.size;
  }

  /** Members of this set missing from `other`, at most `limit` of them, plus their total. */
  missingFrom(other: SeqSet, limit: number): { total: number; sample: number[] } {
    const sample: number[] = [];
    let total = 0;
    for (let i = 0; i < this.capacity; i++) {
      if (this.bits[i] === 1 && !other.has(i)) {
        total++;
        if (sample.length < limit) sample.push(i);
      }
    }
    return { total, sample };
  }
}
