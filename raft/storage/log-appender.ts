// The write path of the mmap Raft log: encodes one append's entries (headers and payloads) and
// their index records into reusable batch buffers and writes each with one positioned write
// per file touched, instead of storing into the mapping. On this machine first-touch faults of
// a sparse shared mapping were the largest cost of an append (and pre-touching pages only
// moves that cost to the idle path, which a saturated node does not have). The mappings stay
// the read path: MAP_SHARED shows the page cache, so a read sees these bytes at once.
//
// The layout written is the one entry-codec.ts describes, byte for byte; only the way the bytes
// reach the page cache differs, so recovery, durability and the on-disk format are unchanged.

import { ENTRY_HEADER_BYTES, EntryWriter, INDEX_RECORD_BYTES, SEGMENT_END_MARKER_BYTES, writeIndexRecord, writeSegmentEnd } from './entry-codec.js';
import type { EntryIndex } from './entry-index.js';
import type { MappedFile } from './mapped-file.js';
import type { MappedFileList } from './mapped-file-list.js';
import type { Entry } from '../core/types.js';

/** The data batch starts small and doubles up to this; a bigger append is written in several batches. */
const MAX_DATA_BATCH_BYTES = 4 * 1024 * 1024;
const INITIAL_DATA_BATCH_BYTES = 256 * 1024;
/** An entry at least this big skips the batch: its payload is written straight from the caller's buffer. */
const DIRECT_PAYLOAD_BYTES = 1024 * 1024;
/** 2048 records; a longer append flushes the index batch more than once. */
const INDEX_BATCH_BYTES = 64 * 1024;

export class LogAppender {
  private readonly writer = new EntryWriter();
  private dataBatch = Buffer.allocUnsafe(INITIAL_DATA_BATCH_BYTES);
  private readonly indexBatch = Buffer.allocUnsafe(INDEX_BATCH_BYTES);

  // State of one append() call, kept in fields so the helpers allocate no closures.
  private file: MappedFile | undefined;
  /** Global position of the data file's first byte. */
  private base = 0;
  /** Global position of dataBatch[0]. */
  private batchAt = 0;
  private used = 0;
  private indexFile: MappedFile | undefined;
  /** Entry index whose record is indexBatch[0]. */
  private indexFirst = 0;
  private indexUsed = 0;

  constructor(
    private readonly data: MappedFileList,
    private readonly index: EntryIndex,
  ) {}

  /**
   * Writes `entries` (already validated: contiguous, each fitting a segment) from global
   * position `pos`, which must be the log's end, and returns the new end. An entry that does
   * not fit the rest of its segment goes to the next one after an end-of-segment marker.
   */
  append(entries: readonly Entry[], pos: number): number {
    const S = this.data.fileBytes;
    const k = Math.floor(pos / S);
    this.base = k * S;
    this.file = this.data.file(k) ?? this.data.ensure(k);
    this.batchAt = pos;
    this.used = 0;
    this.indexUsed = 0;
    this.indexFile = undefined;
    try {
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        const size = ENTRY_HEADER_BYTES + e.payload.length;
        const off = pos - this.base;
        if (off + size > S) {
          if (S - off >= SEGMENT_END_MARKER_BYTES) {
            this.reserve(SEGMENT_END_MARKER_BYTES);
            writeSegmentEnd(this.dataBatch, this.used, S - off);
            this.used += SEGMENT_END_MARKER_BYTES;
          }
          this.flushData();
          this.base += S;
          this.file = this.data.file(this.base / S) ?? this.data.ensure(this.base / S);
          pos = this.base;
          this.batchAt = pos;
        }
        const header = this.writer.header(e, pos);
        if (e.payload.length >= DIRECT_PAYLOAD_BYTES) {
          this.flushData();
          this.file.writeAt(header, 0, ENTRY_HEADER_BYTES, pos - this.base);
          this.file.writeAt(e.payload, 0, e.payload.length, pos - this.base + ENTRY_HEADER_BYTES);
          this.batchAt = pos + size;
        } else {
          this.reserve(size);
          const b = this.dataBatch;
          b.set(header, this.used);
          b.set(e.payload, this.used + ENTRY_HEADER_BYTES);
          this.used += size;
        }
        this.addIndexRecord(e.index, pos, size, e.term);
        pos += size;
      }
      this.flushData();
      this.flushIndex();
    } finally {
      this.file = undefined;
      this.indexFile = undefined;
    }
    return pos;
  }

  /** Makes room for `bytes` more in the data batch: flushes it, then grows it, when needed. */
  private reserve(bytes: number): void {
    if (this.used + bytes <= this.dataBatch.length) return;
    this.flushData();
    if (bytes <= this.dataBatch.length) return;
    let size = this.dataBatch.length;
    while (size < bytes && size < MAX_DATA_BATCH_BYTES) size *= 2;
    // Entries of DIRECT_PAYLOAD_BYTES or more never come here, so one doubling series suffices.
    if (size < bytes) throw new Error(`an entry of ${bytes} bytes cannot use the batch of ${size}`);
    this.dataBatch = Buffer.allocUnsafe(size);
  }

  private flushData(): void {
    if (this.used > 0) this.file!.writeAt(this.dataBatch, 0, this.used, this.batchAt - this.base);
    this.batchAt += this.used;
    this.used = 0;
  }

  private addIndexRecord(entryIndex: number, position: number, totalBytes: number, term: number): void {
    const N = this.index.entriesPerFile;
    // A batch holds consecutive records of one index file; a new file or a full batch flushes it.
    if (this.indexUsed > 0 && (entryIndex % N === 0 || this.indexUsed + INDEX_RECORD_BYTES > INDEX_BATCH_BYTES)) this.flushIndex();
    if (this.indexUsed === 0) {
      const k = Math.floor(entryIndex / N);
      this.indexFile = this.index.files.file(k) ?? this.index.files.ensure(k);
      this.indexFirst = entryIndex;
    }
    writeIndexRecord(this.indexBatch, this.indexUsed, entryIndex, position, totalBytes, term);
    this.indexUsed += INDEX_RECORD_BYTES;
  }

  private flushIndex(): void {
    if (this.indexUsed === 0) return;
    const N = this.index.entriesPerFile;
    const slot = this.indexFirst - Math.floor(this.indexFirst / N) * N;
    this.indexFile!.writeAt(this.indexBatch, 0, this.indexUsed, slot * INDEX_RECORD_BYTES);
    this.indexUsed = 0;
  }
}
