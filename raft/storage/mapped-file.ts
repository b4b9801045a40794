// A fixed-size file mapped read/write into memory: the primitive under the Raft log segments,
// its index file, and the store's ConsumeQueue and IndexFile. Writes go to the mapping or, for
// bulk appends, through the descriptor with a positioned write (`writeAt`); both land in the
// same page cache, which a MAP_SHARED mapping shows at once on Linux, so they survive a process
// kill at once. `flush` or `datasync` makes them survive power loss.

import { close, closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, open, openSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type mmapModule from '@riaskov/mmap-io';

// The addon is CommonJS whose typings declare a default export it does not have at run time.
// node-pre-gyp, which the addon uses to find its binary, parses process.argv as its own options
// (`--dir` becomes `--directory`), so a CLI flag like `rmq cluster up --dir D` would break the
// load. Hide our arguments while the addon loads.
const mmap = withHiddenArgv(() => createRequire(import.meta.url)('@riaskov/mmap-io') as (typeof mmapModule)['default']);

function withHiddenArgv<T>(load: () => T): T {
  const saved = process.argv;
  process.argv = saved.slice(0, 2);
  try {
    return load();
  } finally {
    process.argv = saved;
  }
}

const PAGE_BYTES = 4096;
/** @riaskov/mmap-io refuses a single mapping of 2 GiB (int32 size); stay strictly below. */
export const MAX_MAPPED_FILE_BYTES = 2 ** 31 - PAGE_BYTES;

export class MappedFile {
  /** The whole file as one Buffer over mapped memory; slices of it are views, not copies. */
  readonly buffer: Buffer;
  private fd: number;

  private constructor(
    readonly path: string,
    readonly sizeBytes: number,
    fd: number,
  ) {
    this.fd = fd;
    this.buffer = mmap.map(sizeBytes, 3 /* PROT_READ | PROT_WRITE */, mmap.MAP_SHARED, fd, 0);
  }

  /**
   * Opens (creating if needed) `path` and maps exactly `sizeBytes`. A shorter file is extended
   * sparsely (new bytes read as zero); a longer one is an error because its tail would be
   * silently ignored.
   */
  static open(path: string, sizeBytes: number): MappedFile {
    if (!Number.isInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > MAX_MAPPED_FILE_BYTES) {
      throw new RangeError(`mapped file size ${sizeBytes} must be an integer in 1..${MAX_MAPPED_FILE_BYTES}`);
    }
    const fd = openSync(path, 'a+');
    // 'a+' forces appends on write(2); we never write through the fd, only through the mapping,
    // but we need read/write access for MAP_SHARED + PROT_WRITE, so reopen as r+.
    closeSync(fd);
    const rw = openSync(path, 'r+');
    try {
      const current = fstatSync(rw).size;
      if (current > sizeBytes) {
        throw new Error(`mapped file ${path} is ${current} bytes, larger than the expected ${sizeBytes}`);
      }
      if (current < sizeBytes) ftruncateSync(rw, sizeBytes);
      return new MappedFile(path, sizeBytes, rw);
    } catch (err) {
      closeSync(rw);
      throw err;
    }
  }

  /** msync the pages covering [offset, offset + length); blocking when `sync` (durable on return). */
  flush(offset = 0, length = this.sizeBytes - offset, sync = true): void {
    if (length <= 0) return;
    const start = Math.floor(offset / PAGE_BYTES) * PAGE_BYTES;
    const end = Math.min(this.sizeBytes, offset + length);
    mmap.sync(this.buffer, start, end - start, sync, false);
  }

  /**
   * Copies `src[srcOffset, srcOffset + length)` to file offset `fileOffset` with pwrite(2). An
   * append this way costs one syscall per batch and no page faults: writing through the mapping
   * into a sparse file faults in (allocates and zeroes) every page on first touch, which was
   * the largest single cost of the Raft log. Throws the system error (ENOSPC, EIO) as is.
   */
  writeAt(src: Uint8Array, srcOffset: number, length: number, fileOffset: number): void {
    if (!(this.fd >= 0)) throw new Error(`mapped file ${this.path} is closed`);
    if (!(fileOffset >= 0 && length >= 0 && fileOffset + length <= this.sizeBytes && srcOffset >= 0 && srcOffset + length <= src.length)) {
      throw new RangeError(`write of ${length} bytes at ${fileOffset} does not fit ${this.path} (${this.sizeBytes} bytes)`);
    }
    // A regular file takes the whole write unless the disk fails; a short write is retried, and
    // each round writes at least one byte or throws, so the loop ends.
    let done = 0;
    while (done < length) {
      const n = writeSync(this.fd, src, srcOffset + done, length - done, fileOffset + done);
      if (n <= 0) throw new Error(`pwrite to ${this.path} wrote ${n} bytes`);
      done += n;
    }
  }

  /** fdatasync(2) of the whole file: durable on return, whichever way its bytes were written. */
  datasync(): void {
    if (this.fd >= 0) fdatasyncSync(this.fd);
  }

  /**
   * fdatasync(2) of the whole file in libuv's thread pool, through a descriptor of its own, so
   * that closing or deleting this file meanwhile cannot leave the pool working on a descriptor
   * number that was reused. A file deleted before the sync starts needs none: `done(null)`.
   */
  datasyncInBackground(done: (err: Error | null) => void): void {
    open(this.path, 'r', (openErr, fd) => {
      if (openErr) {
        done(openErr.code === 'ENOENT' ? null : openErr);
        return;
      }
      fdatasync(fd, (syncErr) => close(fd, () => done(syncErr)));
    });
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
    if (end > start) mmap.advise(this.buffer, start, end - start, mmap.MADV_DONTNEED);
  }

  /** Closes the descriptor. The mapping itself lives until the Buffer (and its views) are collected. */
  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Closes and unlinks the file. Views already handed out stay readable until collected. */
  destroy(): void {
    this.close();
    unlinkSync(this.path);
  }
}
