// A fixed-size file mapped read/write into memory: the primitive under the Raft log segments,
// its index file, and the store's ConsumeQueue and IndexFile. Writes go to the mapping or, for
// bulk appends, through the descriptor with a positioned write (`writeAt`); both land in the
// same page cache, which a MAP_SHARED mapping shows at once on Linux, so they survive a process
// kill at once. `flush` or `datasync` makes them survive power loss. The file itself comes from
// a FileLayer (file-layer.ts): the real disk unless a simulator or a power-loss test passes its own.

import type { FileLayer, FileSyncCallback, MappedRegion } from './file-layer.js';
import { realFileLayer } from './real-file-layer.js';

export type { FileLayer } from './file-layer.js';
export { realFileLayer } from './real-file-layer.js';

const PAGE_BYTES = 4096;
/** @riaskov/mmap-io refuses a single mapping of 2 GiB (int32 size); stay strictly below. */
export const MAX_MAPPED_FILE_BYTES = 2 ** 31 - PAGE_BYTES;

export class MappedFile {
  /** The whole file as one Buffer over mapped memory; slices of it are views, not copies. */
  readonly buffer: Buffer;

  private constructor(
    readonly path: string,
    readonly sizeBytes: number,
    private readonly region: MappedRegion,
    private readonly layer: FileLayer,
  ) {
    this.buffer = region.buffer;
  }

  /**
   * Opens (creating if needed) `path` and maps exactly `sizeBytes`. A shorter file is extended
   * sparsely (new bytes read as zero); a longer one is an error because its tail would be
   * silently ignored.
   */
  static open(path: string, sizeBytes: number, layer: FileLayer = realFileLayer): MappedFile {
    if (!Number.isInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > MAX_MAPPED_FILE_BYTES) {
      throw new RangeError(`mapped file size ${sizeBytes} must be an integer in 1..${MAX_MAPPED_FILE_BYTES}`);
    }
    return new MappedFile(path, sizeBytes, layer.mapFile(path, sizeBytes), layer);
  }

  /** msync the pages covering [offset, offset + length); blocking when `sync` (durable on return). */
  flush(offset = 0, length = this.sizeBytes - offset, sync = true): void {
    if (length <= 0) return;
    const start = Math.floor(offset / PAGE_BYTES) * PAGE_BYTES;
    const end = Math.min(this.sizeBytes, offset + length);
    this.region.msync(start, end - start, sync);
  }

  /**
   * Copies `src[srcOffset, srcOffset + length)` to file offset `fileOffset` with pwrite(2). An
   * append this way costs one syscall per batch and no page faults: writing through the mapping
   * into a sparse file faults in (allocates and zeroes) every page on first touch, which was
   * the largest single cost of the Raft log. Throws the system error (ENOSPC, EIO) as is.
   */
  writeAt(src: Uint8Array, srcOffset: number, length: number, fileOffset: number): void {
    if (!(fileOffset >= 0 && length >= 0 && fileOffset + length <= this.sizeBytes && srcOffset >= 0 && srcOffset + length <= src.length)) {
      throw new RangeError(`write of ${length} bytes at ${fileOffset} does not fit ${this.path} (${this.sizeBytes} bytes)`);
    }
    this.region.writeAt(src, srcOffset, length, fileOffset);
  }

  /** fdatasync(2) of the whole file: durable on return, whichever way its bytes were written. */
  datasync(): void {
    this.region.datasync();
  }

  /**
   * fdatasync(2) of the whole file in libuv's thread pool, through a descriptor of its own, so
   * that closing or deleting this file meanwhile cannot leave the pool working on a descriptor
   * number that was reused. A file deleted before the sync starts needs none: `done(null)`.
   */
  datasyncInBackground(done: FileSyncCallback): void {
    this.region.datasyncInBackground(done);
  }

  /**
   * Faults in the pages of [offset, offset + length) ahead of the writer by writing a zero to
   * each page. Only call it on a range that holds no data yet: it is for pre-touching the free
   * tail, as RocketMQ's warmMappedFile does, so appends do not pay first-touch page faults.
   */
  warm(offset: number, length: number): void {
    const end = Math.min(this.sizeBytes, offset + length);
    for (let p = Math.ceil(offset / PAGE_BYTES) * PAGE_BYTES; p < end; p += PAGE_BYTES) this.buffer[p] = 0;
  }

  /**
   * Drops this process's page-table entries for the pages inside [offset, offset + length)
   * (madvise MADV_DONTNEED on a shared file mapping): the pages stay in the page cache, dirty
   * ones keep their data, and the next access maps them again with a minor fault. Resident
   * memory then shows what was touched lately instead of everything ever read.
   */
  releaseResident(offset: number, length: number): void {
    const start = Math.ceil(offset / PAGE_BYTES) * PAGE_BYTES;
    const end = Math.min(this.sizeBytes, Math.floor((offset + length) / PAGE_BYTES) * PAGE_BYTES);
    if (end > start) this.region.releaseResident(start, end - start);
  }

  /** Closes the descriptor. The mapping itself lives until the Buffer (and its views) are collected. */
  close(): void {
    this.region.close();
  }

  /** Closes and unlinks the file. Views already handed out stay readable until collected. */
  destroy(): void {
    this.close();
    this.layer.unlink(this.path);
  }
}
