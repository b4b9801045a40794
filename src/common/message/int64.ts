// Big-endian 64-bit integers as JS numbers. Every 64-bit field the store writes (offsets,
// timestamps, tag hashes) stays within ±2^53, so two 32-bit halves avoid BigInt allocations.

const TWO_32 = 0x1_0000_0000;

export function writeInt64BE(buf: Buffer, value: number, offset: number): void {
  const hi = Math.floor(value / TWO_32);
  buf.writeInt32BE(hi | 0, offset);
  buf.writeUInt32BE(value - hi * TWO_32, offset + 4);
}

/** Reads a signed 64-bit value; NaN when it is outside the safe integer range (callers check). */
export function readInt64BE(buf: Buffer, offset: number): number {
  const hi = buf.readInt32BE(offset);
  const lo = buf.readUInt32BE(offset + 4);
  // |hi| < 2^21 keeps hi * 2^32 + lo inside ±2^53.
  if (hi >= 0x200000 || hi < -0x200000) return Number.NaN;
  return hi * TWO_32 + lo;
}
