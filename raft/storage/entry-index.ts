// The index file: one fixed-width record per entry at slot `index`, segmented into files of
// `entriesPerFile` records named by their first index, so index → (position, size, term) is
// O(1) without touching the data segments. It is derived data: recovery rebuilds it from the
// data segments, which are the truth.

import { INDEX_MAGIC, INDEX_RECORD_BYTES, readU64, writeIndexRecord } from './entry-codec.js';
import type { FileLayer } from './file-layer.js';
import { MappedFileList } from './mapped-file-list.js';

export class EntryIndex {
  readonly files: MappedFileList;
  /** Buffer of the record found by the last successful `find` (a cursor, so reads allocate nothing). */
  buf: Buffer = Buffer.alloc(0);

  constructor(
    dir: string,
    readonly entriesPerFile: number,
    layer: FileLayer,
  ) {
    if (!Number.isInteger(entriesPerFile) || entriesPerFile < 2) throw new RangeError(`indexSegmentEntries ${entriesPerFile} must be an integer >= 2`);
    this.files = new MappedFileList(dir, entriesPerFile * INDEX_RECORD_BYTES, INDEX_RECORD_BYTES, true, layer);
  }

  fileOf(index: number): number {
    return Math.floor(index / this.entriesPerFile);
  }

  write(index: number, position: number, totalBytes: number, term: number): void {
    const k = Math.floor(index / this.entriesPerFile);
    const f = this.files.file(k) ?? this.files.ensure(k);
    writeIndexRecord(f.buffer, (index - k * this.entriesPerFile) * INDEX_RECORD_BYTES, index, position, totalBytes, term);
  }

  /** Marks the records of [fromIndex, toIndex] as needing a flush. */
  markDirty(fromIndex: number, toIndex: number): void {
    this.files.markDirty(fromIndex * INDEX_RECORD_BYTES, (toIndex + 1) * INDEX_RECORD_BYTES);
  }

  /**
   * Finds the record of `index`: returns its offset in `this.buf`, or -1 when the slot is
   * absent, empty, or holds a record of another index.
   */
  find(index: number): number {
    const k = Math.floor(index / this.entriesPerFile);
    const f = this.files.file(k);
    if (f === undefined) return -1;
    const off = (index - k * this.entriesPerFile) * INDEX_RECORD_BYTES;
    const b = f.buffer;
    if (b.readUInt32LE(off) !== INDEX_MAGIC || readU64(b, off + 16) !== index) return -1;
    this.buf = b;
    return off;
  }

  position(off: number): number {
    return readU64(this.buf, off + 8);
  }

  totalBytes(off: number): number {
    return this.buf.readUInt32LE(off + 4);
  }

  term(off: number): number {
    return readU64(this.buf, off + 24);
  }

  /** Zeroes the records of [fromIndex, toIndex] where their file exists. */
  zero(fromIndex: number, toIndex: number): void {
    if (toIndex < fromIndex) return;
    this.files.zero(fromIndex * INDEX_RECORD_BYTES, (toIndex + 1) * INDEX_RECORD_BYTES);
  }
}
