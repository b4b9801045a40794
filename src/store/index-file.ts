// One IndexFile: RocketMQ's hash index from message keys to physical offsets.
//   header (40 bytes): beginTimestamp 8, endTimestamp 8, beginPhysicalOffset 8,
//                      endPhysicalOffset 8, hashSlotCount 4, indexCount 4
//   hash slots:        slotCount × 4 bytes, each the number of the newest entry of that slot
//   entries:           maxEntries × 20 bytes {keyHash 4, physicalOffset 8, timeDiffSeconds 4, prevIndex 4}
// Entry numbers start at 1 (0 means "none"), so entry 0's space is never used, as in RocketMQ.
// Entries chain through prevIndex; the key itself is not stored, so a query returns candidates
// that the caller must verify against the record (hash collisions).

import { type FileLayer, MappedFile, realFileLayer } from '../../raft/storage/mapped-file.js';
import { diskSpace, withDiskFullCheck } from './disk-usage.js';
import { fileSync } from './file-sync.js';
import { readInt64BE, writeInt64BE } from '../common/message/int64.js';
import { BadStoreFileError } from './store-errors.js';

export const INDEX_HEADER_BYTES = 40;
export const INDEX_SLOT_BYTES = 4;
export const INDEX_ENTRY_BYTES = 20;

const H_BEGIN_TIMESTAMP = 0;
const H_END_TIMESTAMP = 8;
const H_BEGIN_PHYSICAL_OFFSET = 16;
const H_END_PHYSICAL_OFFSET = 24;
const H_HASH_SLOT_COUNT = 32;
const H_INDEX_COUNT = 36;

/**
 * Entry space is claimed on disk this far ahead of the writer (zeros written through the fd), so
 * a full disk is an ENOSPC before a put, never a SIGBUS inside one; the header and hash slots,
 * written anywhere at any time, are claimed when the file is created.
 */
const ENTRY_ALLOCATION_BYTES = 1024 * 1024;

/** writeInt64BE through a DataView (values within ±2^53). */
function setInt64(dv: DataView, at: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  dv.setInt32(at, hi | 0);
  dv.setUint32(at + 4, value - hi * 0x1_0000_0000);
}

export function indexFileBytes(slotCount: number, maxEntries: number): number {
  return INDEX_HEADER_BYTES + slotCount * INDEX_SLOT_BYTES + maxEntries * INDEX_ENTRY_BYTES;
}

export class IndexFile {
  private readonly buf: Buffer;
  private readonly view: DataView;
  private readonly entriesAt: number;
  // Header values the writer needs on every put, cached: this object is the file's only writer.
  private count: number;
  private beginTimestampMs: number;
  /** Bytes below this offset are allocated on disk (see ENTRY_ALLOCATION_BYTES). */
  private allocatedTo: number;
  /** Written since it was last handed to a flush (takeIfModified). */
  private modified = false;

  private constructor(
    private readonly file: MappedFile,
    readonly slotCount: number,
    readonly maxEntries: number,
  ) {
    this.buf = file.buffer;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.entriesAt = INDEX_HEADER_BYTES + slotCount * INDEX_SLOT_BYTES;
    this.count = Math.max(1, this.buf.readInt32BE(H_INDEX_COUNT));
    this.beginTimestampMs = readInt64BE(this.buf, H_BEGIN_TIMESTAMP);
    if (this.indexCount < 1 || this.indexCount > maxEntries) {
      throw new BadStoreFileError(`IndexFile ${file.path} has index count ${this.indexCount}, outside 1..${maxEntries}`);
    }
    // An opened file: what holds entries is allocated; the space after it gets zeros again when
    // claimed, which is harmless because entries past the count are never read.
    this.allocatedTo = this.entryPos(this.count);
  }

  static open(path: string, slotCount: number, maxEntries: number, layer: FileLayer = realFileLayer): IndexFile {
    if (!Number.isInteger(slotCount) || slotCount <= 0 || !Number.isInteger(maxEntries) || maxEntries < 2) {
      throw new RangeError(`index sizes (${slotCount} slots, ${maxEntries} entries) are invalid`);
    }
    return new IndexFile(MappedFile.open(path, indexFileBytes(slotCount, maxEntries), layer), slotCount, maxEntries);
  }

  /**
   * Creates a new file at `path` with its header, slots and first entries allocated on disk
   * (DiskFullError when the disk cannot hold them), then opens it.
   */
  static create(path: string, slotCount: number, maxEntries: number, layer: FileLayer = realFileLayer): IndexFile {
    const total = indexFileBytes(slotCount, maxEntries);
    const allocated = Math.min(total, INDEX_HEADER_BYTES + slotCount * INDEX_SLOT_BYTES + ENTRY_ALLOCATION_BYTES);
    return withDiskFullCheck(`creating IndexFile ${path}`, () => {
      diskSpace.allocateFile(path, allocated);
      const file = IndexFile.open(path, slotCount, maxEntries, layer);
      file.allocatedTo = allocated;
      return file;
    });
  }

  /** Claims the next stretch of entry space on disk before `at + INDEX_ENTRY_BYTES` is written. */
  private allocateEntries(at: number): void {
    const end = Math.min(this.file.sizeBytes, Math.max(at + INDEX_ENTRY_BYTES, this.allocatedTo + ENTRY_ALLOCATION_BYTES));
    withDiskFullCheck(`growing IndexFile ${this.file.path}`, () => diskSpace.allocateRange(this.file.path, this.allocatedTo, end - this.allocatedTo));
    this.allocatedTo = end;
  }

  get path(): string {
    return this.file.path;
  }

  get beginTimestamp(): number {
    return readInt64BE(this.buf, H_BEGIN_TIMESTAMP);
  }
  get endTimestamp(): number {
    return readInt64BE(this.buf, H_END_TIMESTAMP);
  }
  get beginPhysicalOffset(): number {
    return readInt64BE(this.buf, H_BEGIN_PHYSICAL_OFFSET);
  }
  get endPhysicalOffset(): number {
    return readInt64BE(this.buf, H_END_PHYSICAL_OFFSET);
  }
  get hashSlotCount(): number {
    return this.buf.readInt32BE(H_HASH_SLOT_COUNT);
  }
  /** Number of the next entry; a fresh file reads 0 and means 1 (entries are numbered from 1). */
  get indexCount(): number {
    return this.count;
  }
  /** Entries written so far. */
  get entryCount(): number {
    return this.indexCount - 1;
  }
  get isFull(): boolean {
    return this.indexCount >= this.maxEntries;
  }

  private entryPos(n: number): number {
    return this.entriesAt + n * INDEX_ENTRY_BYTES;
  }

  /**
   * Adds an entry for a key with hash `keyHash` (already |hashCode|). Returns false when full.
   * The time is kept as seconds since the file's first entry, as RocketMQ does.
   */
  put(keyHash: number, physicalOffset: number, storeTimestampMs: number): boolean {
    const count = this.count;
    if (count >= this.maxEntries) return false;
    this.modified = true;
    // Through a DataView: Buffer's writeInt32BE costs about ten times more per call, and this
    // runs twice per message (KEYS and UNIQ_KEY).
    const dv = this.view;
    const slotAt = INDEX_HEADER_BYTES + (keyHash % this.slotCount) * INDEX_SLOT_BYTES;
    let prev = dv.getInt32(slotAt);
    if (prev <= 0 || prev >= count) prev = 0;
    let timeDiffSeconds = 0;
    if (count > 1) {
      timeDiffSeconds = Math.floor((storeTimestampMs - this.beginTimestampMs) / 1000);
      // A later leader's clock may be behind: clamp rather than store a negative difference.
      timeDiffSeconds = Math.min(0x7fffffff, Math.max(0, timeDiffSeconds));
    }
    const at = this.entryPos(count);
    if (at + INDEX_ENTRY_BYTES > this.allocatedTo) this.allocateEntries(at);
    dv.setInt32(at, keyHash);
    setInt64(dv, at + 4, physicalOffset);
    dv.setInt32(at + 12, timeDiffSeconds);
    dv.setInt32(at + 16, prev);
    dv.setInt32(slotAt, count);
    if (count === 1) {
      setInt64(dv, H_BEGIN_PHYSICAL_OFFSET, physicalOffset);
      setInt64(dv, H_BEGIN_TIMESTAMP, storeTimestampMs);
      this.beginTimestampMs = storeTimestampMs;
    }
    if (prev === 0) dv.setInt32(H_HASH_SLOT_COUNT, dv.getInt32(H_HASH_SLOT_COUNT) + 1);
    dv.setInt32(H_INDEX_COUNT, count + 1);
    this.count = count + 1;
    setInt64(dv, H_END_PHYSICAL_OFFSET, physicalOffset);
    setInt64(dv, H_END_TIMESTAMP, storeTimestampMs);
    return true;
  }

  /** Whether the file's time span [begin, end] overlaps [beginMs, endMs]. */
  overlaps(beginMs: number, endMs: number): boolean {
    return this.entryCount > 0 && beginMs <= this.endTimestamp && endMs >= this.beginTimestamp - 999;
  }

  /**
   * Appends to `out` the physical offsets of entries with `keyHash` whose time may fall in
   * [beginMs, endMs], newest first, until `out` holds `maxNum`. Times are stored in whole seconds,
   * so an entry matches when its second overlaps the range; the caller checks exact times.
   */
  select(keyHash: number, beginMs: number, endMs: number, maxNum: number, out: number[]): void {
    const count = this.indexCount;
    const base = this.beginTimestamp;
    let n = this.buf.readInt32BE(INDEX_HEADER_BYTES + (keyHash % this.slotCount) * INDEX_SLOT_BYTES);
    if (n <= 0 || n >= count) return;
    // Bounded: prevIndex strictly decreases along a chain.
    while (out.length < maxNum) {
      const at = this.entryPos(n);
      const timeDiffSeconds = this.buf.readInt32BE(at + 12);
      if (timeDiffSeconds < 0) break;
      const secondStartMs = base + timeDiffSeconds * 1000;
      if (this.buf.readInt32BE(at) === keyHash && secondStartMs <= endMs && secondStartMs + 999 >= beginMs) {
        out.push(readInt64BE(this.buf, at + 4));
      }
      const prev = this.buf.readInt32BE(at + 16);
      if (prev <= 0 || prev >= n || secondStartMs + 999 < beginMs) break;
      n = prev;
    }
  }

  /** Physical offset of the newest entry, or -1 when empty. */
  lastPhysicalOffset(): number {
    return this.entryCount > 0 ? readInt64BE(this.buf, this.entryPos(this.indexCount - 1) + 4) : -1;
  }

  /**
   * Removes the entries pointing at or past `physicalOffset`, newest first, restoring each slot to
   * the entry it pointed to before, so the bytes equal a file that never had them. The new end
   * timestamp is read from the log (`storeTimestampAt`) because the entries only keep seconds.
   */
  truncateFrom(physicalOffset: number, storeTimestampAt: (physicalOffset: number) => number): void {
    let count = this.indexCount;
    let changed = false;
    while (count > 1) {
      const at = this.entryPos(count - 1);
      if (readInt64BE(this.buf, at + 4) < physicalOffset) break;
      const keyHash = this.buf.readInt32BE(at);
      const prev = this.buf.readInt32BE(at + 16);
      this.buf.writeInt32BE(prev, INDEX_HEADER_BYTES + (keyHash % this.slotCount) * INDEX_SLOT_BYTES);
      if (prev === 0) this.buf.writeInt32BE(this.hashSlotCount - 1, H_HASH_SLOT_COUNT);
      this.buf.fill(0, at, at + INDEX_ENTRY_BYTES);
      count--;
      changed = true;
    }
    if (!changed) return;
    this.modified = true;
    this.count = count;
    if (count <= 1) {
      this.buf.fill(0, 0, INDEX_HEADER_BYTES);
      this.beginTimestampMs = 0;
      return;
    }
    this.buf.writeInt32BE(count, H_INDEX_COUNT);
    const endPhysicalOffset = readInt64BE(this.buf, this.entryPos(count - 1) + 4);
    writeInt64BE(this.buf, endPhysicalOffset, H_END_PHYSICAL_OFFSET);
    writeInt64BE(this.buf, storeTimestampAt(endPhysicalOffset), H_END_TIMESTAMP);
  }

  /** Counts the whole file as written since the last flush. */
  markModified(): void {
    this.modified = true;
  }

  /** Pushes the mapped file to `out` when it was written since the last call (for a flush). */
  takeIfModified(out: MappedFile[]): void {
    if (!this.modified) return;
    out.push(this.file);
    this.modified = false;
  }

  /** Makes the file durable now (blocking fdatasync). */
  flush(): void {
    fileSync.file(this.file);
    this.modified = false;
  }

  close(): void {
    this.file.close();
  }

  destroy(): void {
    this.file.destroy();
  }
}
