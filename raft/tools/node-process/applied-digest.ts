// What a node process remembers about the entries it applied, so a parent can check that every
// replica applied the same sequence (a CRC32 chained over payloads) and that every acknowledged
// sequence number is present (a bitmap over the load driver's sequence numbers).

import { crc32 } from 'node:zlib';
import { EntryType, type Entry } from '../../core/types.js';
import { SEQ_HEADER_BYTES, SEQ_TAG } from './control-protocol.js';

/** Bound on the sequence bitmap: 2^28 sequences take 32 MiB. */
const MAX_SEQ = 2 ** 28;

export class AppliedDigest {
  appliedEntries = 0;
  hash = 0;
  private seen = new Uint8Array(1 << 16);
  private maxSeq = -1;

  /** `hashPayloads` false keeps only sequence numbers (the hash then stays 0): a cheaper digest for benchmarks. */
  constructor(private readonly hashPayloads = true) {}

  onApply(entries: readonly Entry[]): void {
    let h = this.hash;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (this.hashPayloads) h = crc32(e.payload, h);
      if (e.type === EntryType.Normal && e.payload.length >= SEQ_HEADER_BYTES) this.noteSeq(e.payload);
    }
    this.hash = h;
    this.appliedEntries += entries.length;
  }

  /** Counts sequences in the inclusive ranges [lo0, hi0, lo1, hi1, ...] that were never applied. */
  check(ranges: readonly number[]): { checked: number; missing: number; firstMissing: number } {
    let checked = 0;
    let missing = 0;
    let firstMissing = -1;
    for (let r = 0; r + 1 < ranges.length; r += 2) {
      const lo = ranges[r]!;
      const hi = ranges[r + 1]!;
      for (let s = lo; s <= hi; s++) {
        checked++;
        if (!this.has(s)) {
          missing++;
          if (firstMissing < 0) firstMissing = s;
        }
      }
    }
    return { checked, missing, firstMissing };
  }

  private has(seq: number): boolean {
    if (seq > this.maxSeq) return false;
    return (this.seen[seq >>> 3]! & (1 << (seq & 7))) !== 0;
  }

  private noteSeq(p: Uint8Array): void {
    // Read by hand: a DataView per applied entry would be an allocation on the hot path.
    if (u32le(p, 4) !== SEQ_TAG) return;
    const seq = u32le(p, 0);
    if (seq >= MAX_SEQ) return;
    const byte = seq >>> 3;
    if (byte >= this.seen.length) {
      let size = this.seen.length;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.seen);
      this.seen = grown;
    }
    this.seen[byte] = this.seen[byte]! | (1 << (seq & 7));
    if (seq > this.maxSeq) this.maxSeq = seq;
  }
}

function u32le(p: Uint8Array, at: number): number {
  return (p[at]! | (p[at + 1]! << 8) | (p[at + 2]! << 16) | (p[at + 3]! << 24)) >>> 0;
}
