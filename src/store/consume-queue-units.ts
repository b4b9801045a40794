// The on-disk unit of a ConsumeQueue and the helpers that read and write units in a mapping.
// Unit `q` (20 bytes: physicalOffset int64, size int32, tagHash int64, big-endian as RocketMQ)
// lives in file floor(q / unitsPerFile) at (q % unitsPerFile) * 20. An unwritten unit reads as
// zeros, so "size 0" means empty; a blank (below a queue's min offset) has size BLANK_UNIT_SIZE.

export const CQ_UNIT_BYTES = 20;
export const DEFAULT_UNITS_PER_FILE = 300_000;

/**
 * The size field of a blank unit (RocketMQ's Integer.MAX_VALUE). A blank has physical offset 0
 * and tag hash 0: below the log's first position, so never served, yet not "empty" (size 0),
 * so a restart still finds the max offset as the first empty unit of the last file.
 */
export const BLANK_UNIT_SIZE = 0x7fffffff;
/** Blank units, many at a time (65,520 bytes: a whole number of units). */
export const BLANKS = Buffer.alloc(3276 * CQ_UNIT_BYTES);
for (let at = 0; at < BLANKS.length; at += CQ_UNIT_BYTES) BLANKS.writeInt32BE(BLANK_UNIT_SIZE, at + 8);

/** A unit as read; a mutable holder so the read loop reuses one object. */
export interface ConsumeQueueUnit {
  physicalOffset: number;
  size: number;
  tagHash: number;
}

const TWO_32 = 0x1_0000_0000;

/** writeInt64BE through a DataView: the value is within ±2^53 (asserted by the callers' data). */
export function setInt64(dv: DataView, at: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  dv.setInt32(at, hi | 0);
  dv.setUint32(at + 4, value - hi * TWO_32);
}

/** readInt64BE through a DataView: NaN beyond ±2^53, like readInt64BE. */
export function getInt64(dv: DataView, at: number): number {
  const hi = dv.getInt32(at);
  if (hi >= 0x200000 || hi < -0x200000) return Number.NaN;
  return hi * TWO_32 + dv.getUint32(at + 4);
}

const ZEROS = Buffer.alloc(65536);

/**
 * Writes blank units over bytes [from, to) of `buf` (whole units), chunk by chunk, skipping
 * chunks that already hold blanks so their pages are not dirtied. Returns whether it wrote.
 */
export function fillBlanks(buf: Buffer, from: number, to: number): boolean {
  let wrote = false;
  // Bounded by the range: each round covers one chunk.
  for (let at = from; at < to; at += BLANKS.length) {
    const len = Math.min(BLANKS.length, to - at);
    if (buf.compare(BLANKS, 0, len, at, at + len) !== 0) {
      BLANKS.copy(buf, at, 0, len);
      wrote = true;
    }
  }
  return wrote;
}

/** memcmp against zeros, chunk by chunk, without touching the pages for writing. */
export function isAllZero(buf: Buffer): boolean {
  for (let off = 0; off < buf.length; off += ZEROS.length) {
    const len = Math.min(ZEROS.length, buf.length - off);
    if (buf.compare(ZEROS, 0, len, off, off + len) !== 0) return false;
  }
  return true;
}
