// The benchmark payload, the same as the comparison runs' (docs/performance.md): bytes 0..7 hold
// the message's sequence number (u64 big-endian), every other byte a fixed pattern derived from
// its position. Read-back compares every byte, so a torn, shifted or mixed-up body is caught.
import { assert } from '../common/assert.js';

/** Smallest payload that still holds the 8-byte sequence number. */
export const MIN_PAYLOAD_BYTES = 8;
const SEQ_BYTES = 8;

/** Bodies are cut from slabs of about this size: one allocation per slab instead of per body. */
const SLAB_BYTES = 1024 * 1024;

export class PayloadFactory {
  readonly sizeBytes: number;
  private readonly pattern: Buffer;
  private slab: Buffer = Buffer.alloc(0);
  private slabPos = 0;

  constructor(sizeBytes: number) {
    assert(Number.isInteger(sizeBytes) && sizeBytes >= MIN_PAYLOAD_BYTES, `payload size must be an integer >= ${MIN_PAYLOAD_BYTES}, got ${sizeBytes}`);
    this.sizeBytes = sizeBytes;
    this.pattern = Buffer.allocUnsafe(sizeBytes);
    for (let i = 0; i < sizeBytes; i++) this.pattern[i] = (i * 131 + 7) & 0xff;
  }

  /**
   * A fresh body for `seq`: bytes no other body shares (the producer keeps a reference until the
   * send resolves, so nothing is reused). Bodies are views of slabs that are never written again,
   * so the benchmark does not pay an allocation per message that a real payload would not cost.
   */
  make(seq: number): Buffer {
    assert(Number.isSafeInteger(seq) && seq >= 0, `sequence number must be a non-negative safe integer, got ${seq}`);
    const size = this.sizeBytes;
    if (this.slab.length - this.slabPos < size) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, size));
      this.slabPos = 0;
    }
    const at = this.slabPos;
    this.slabPos = at + size;
    const b = this.slab.subarray(at, at + size);
    b.set(this.pattern);
    writeSeq(b, 0, seq);
    return b;
  }

  /**
   * The sequence number in buf[start, start + length), or -1 when the length or any pattern
   * byte is wrong. Reads a slice in place: the caller may pass a whole pull response.
   */
  check(buf: Buffer, start: number, length: number): number {
    if (length !== this.sizeBytes) return -1;
    if (buf.compare(this.pattern, SEQ_BYTES, this.sizeBytes, start + SEQ_BYTES, start + length) !== 0) return -1;
    return readSeq(buf, start);
  }
}

/** u64 BE without BigInt (sequence numbers stay far below 2^53). */
function writeSeq(b: Buffer, at: number, seq: number): void {
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), at);
  b.writeUInt32BE(seq >>> 0, at + 4);
}

function readSeq(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 0x1_0000_0000 + b.readUInt32BE(at + 4);
}
