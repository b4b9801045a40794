// The production file layer: files mapped with @riaskov/mmap-io, small files and directories
// through node:fs. Writes through the mapping or with pwrite land in the same page cache, which a
// MAP_SHARED mapping shows at once on Linux, so they survive a process kill at once; msync or
// fdatasync makes them survive power loss.

import { close, closeSync, fdatasync, fdatasyncSync, existsSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, open, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, write, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type mmapModule from '@riaskov/mmap-io';
import type { FileLayer, FileSyncCallback, MappedRegion } from './file-layer.js';

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

class RealMappedRegion implements MappedRegion {
  readonly buffer: Buffer;

  constructor(
    private readonly path: string,
    sizeBytes: number,
    private fd: number,
  ) {
    this.buffer = mmap.map(sizeBytes, 3 /* PROT_READ | PROT_WRITE */, mmap.MAP_SHARED, fd, 0);
  }

  writeAt(src: Uint8Array, srcOffset: number, length: number, fileOffset: number): void {
    if (!(this.fd >= 0)) throw new Error(`mapped file ${this.path} is closed`);
    // A regular file takes the whole write unless the disk fails; a short write is retried, and
    // each round writes at least one byte or throws, so the loop ends.
    let done = 0;
    while (done < length) {
      const n = writeSync(this.fd, src, srcOffset + done, length - done, fileOffset + done);
      if (n <= 0) throw new Error(`pwrite to ${this.path} wrote ${n} bytes`);
      done += n;
    }
  }

  msync(offset: number, length: number, sync: boolean): void {
    mmap.sync(this.buffer, offset, length, sync, false);
  }

  datasync(): void {
    if (this.fd >= 0) fdatasyncSync(this.fd);
  }

  /**
   * Through a descriptor of its own, so that closing or deleting this file meanwhile cannot leave
   * the thread pool working on a descriptor number that was reused.
   */
  datasyncInBackground(done: FileSyncCallback): void {
    open(this.path, 'r', (openErr, fd) => {
      if (openErr) {
        done(openErr.code === 'ENOENT' ? null : openErr);
        return;
      }
      fdatasync(fd, (syncErr) => close(fd, () => done(syncErr)));
    });
  }

  releaseResident(offset: number, length: number): void {
    mmap.advise(this.buffer, offset, length, mmap.MADV_DONTNEED);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

export const realFileLayer: FileLayer = {
  mapFile(path: string, sizeBytes: number): MappedRegion {
    const fd = openSync(path, 'a+');
    // 'a+' creates without truncating but forces appends on write(2); pwrite needs r+.
    closeSync(fd);
    const rw = openSync(path, 'r+');
    try {
      const current = fstatSync(rw).size;
      if (current > sizeBytes) {
        throw new Error(`mapped file ${path} is ${current} bytes, larger than the expected ${sizeBytes}`);
      }
      if (current < sizeBytes) ftruncateSync(rw, sizeBytes);
      return new RealMappedRegion(path, sizeBytes, rw);
    } catch (err) {
      closeSync(rw);
      throw err;
    }
  },
  exists: existsSync,
  sizeOf: (path) => statSync(path).size,
  readdir: (dir) => readdirSync(dir),
  mkdir(dir: string): void {
    mkdirSync(dir, { recursive: true });
  },
  readFile: (path) => readFileSync(path),
  writeFileSynced(path: string, data: Uint8Array): void {
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  writeFileSyncedInBackground(path: string, data: Uint8Array, done: FileSyncCallback): void {
    open(path, 'w', (openErr, fd) => {
      if (openErr) {
        done(openErr);
        return;
      }
      write(fd, data, 0, data.length, 0, (writeErr, written) => {
        const err = writeErr ?? (written !== data.length ? new Error(`short write of ${path}`) : null);
        if (err) close(fd, () => done(err));
        else fsync(fd, (syncErr) => close(fd, () => done(syncErr)));
      });
    });
  },
  rename: renameSync,
  unlink: unlinkSync,
  fsyncDir(dir: string): void {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};
