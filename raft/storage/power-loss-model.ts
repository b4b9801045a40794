// What a file holds after a power loss, shared by the in-memory SimFileLayer and the lazy real
// files (lazy-fs.ts) so both lose data the same way. A file comes back as its DURABLE bytes (what
// the last msync/fdatasync/fsync of each range left), at its durable size. With tearing on, the
// sectors that were written but not synced reach the disk in address order up to a random point:
// a prefix of them (whole 512-byte sectors) survives, the rest is lost. That is a torn tail, the
// case the log's CRC recovery must cut; a write is never split inside a sector.

export const SECTOR_BYTES = 512;

/** Sectors in which `written` and `durable` differ (same length, a multiple of SECTOR_BYTES or the last sector short). */
export function dirtySectors(written: Uint8Array, durable: Uint8Array): number {
  if (sameRange(written, durable, 0, durable.length)) return 0;
  let n = 0;
  for (let at = 0; at < durable.length; at += SECTOR_BYTES) {
    if (!sameSector(written, durable, at)) n++;
  }
  return n;
}

/**
 * Copies the first `keep` differing sectors of `written` over `durable` (in place) and returns
 * how many it kept and how many differing bytes it dropped (the bytes of the other differing
 * sectors that were not already equal).
 */
export function keepDirtySectors(written: Uint8Array, durable: Uint8Array, keep: number): { kept: number; droppedBytes: number } {
  let kept = 0;
  let droppedBytes = 0;
  if (sameRange(written, durable, 0, durable.length)) return { kept, droppedBytes };
  for (let at = 0; at < durable.length; at += SECTOR_BYTES) {
    if (sameSector(written, durable, at)) continue;
    const end = Math.min(durable.length, at + SECTOR_BYTES);
    if (kept < keep) {
      durable.set(written.subarray(at, end), at);
      kept++;
    } else {
      for (let i = at; i < end; i++) if (written[i] !== durable[i]) droppedBytes++;
    }
  }
  return { kept, droppedBytes };
}

/** How many of `dirty` unsynced sectors survive a torn power loss: uniform in 0..dirty. */
export function tornKeep(dirty: number, random: () => number): number {
  return Math.min(dirty, Math.floor(random() * (dirty + 1)));
}

function sameSector(a: Uint8Array, b: Uint8Array, at: number): boolean {
  return sameRange(a, b, at, Math.min(b.length, at + SECTOR_BYTES));
}

/** memcmp of [from, to) of both (native, so a large file is compared at memory speed). */
export function sameRange(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  return Buffer.from(a.buffer, a.byteOffset + from, to - from).equals(Buffer.from(b.buffer, b.byteOffset + from, to - from));
}

/**
 * The durable image of one file with, when `random` is given, a torn prefix of its unsynced
 * sectors; `written` beyond the durable size is ignored (the size was not synced).
 */
export function imageAfterPowerLoss(written: Uint8Array, durable: Uint8Array, random?: () => number): { image: Buffer; droppedBytes: number } {
  const image = Buffer.from(durable);
  const w = written.length >= image.length ? written.subarray(0, image.length) : padded(written, image.length);
  const keep = random === undefined ? 0 : tornKeep(dirtySectors(w, image), random);
  const { droppedBytes } = keepDirtySectors(w, image, keep);
  return { image, droppedBytes };
}

function padded(b: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(b);
  return out;
}
