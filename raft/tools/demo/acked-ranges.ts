// A set of sequence numbers kept as sorted, disjoint, inclusive ranges: the union of what the
// load driver reported as committed. Acknowledgements arrive nearly in order, so it stays small.

export class AckedRanges {
  private los: number[] = [];
  private his: number[] = [];

  add(lo: number, hi: number): void {
    if (hi < lo) throw new RangeError(`range ${lo}..${hi}`);
    // Fast path: extends or follows the last range.
    const n = this.los.length;
    if (n === 0 || lo > this.his[n - 1]! + 1) {
      this.los.push(lo);
      this.his.push(hi);
      if (n > 0 && lo <= this.his[n - 1]!) this.normalize();
      return;
    }
    if (lo >= this.los[n - 1]!) {
      this.his[n - 1] = Math.max(this.his[n - 1]!, hi);
      return;
    }
    this.los.push(lo);
    this.his.push(hi);
    this.normalize();
  }

  count(): number {
    let c = 0;
    for (let i = 0; i < this.los.length; i++) c += this.his[i]! - this.los[i]! + 1;
    return c;
  }

  /** [lo0, hi0, lo1, hi1, ...] */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.los.length; i++) out.push(this.los[i]!, this.his[i]!);
    return out;
  }

  private normalize(): void {
    const order = this.los.map((_, i) => i).sort((a, b) => this.los[a]! - this.los[b]!);
    const los: number[] = [];
    const his: number[] = [];
    for (const i of order) {
      const lo = this.los[i]!;
      const hi = this.his[i]!;
      const last = los.length - 1;
      if (last >= 0 && lo <= his[last]! + 1) his[last] = Math.max(his[last]!, hi);
      else {
        los.push(lo);
        his.push(hi);
      }
    }
    this.los = los;
    this.his = his;
  }
}
