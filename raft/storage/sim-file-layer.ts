// An in-memory file layer for the seeded simulator, which can lose power. Every file (an
// "inode") has its WRITTEN bytes (what the process sees: the page cache) and its DURABLE bytes
// (what the disk holds); every directory has its current names and its durable names.
//
// The model (power-loss-model.ts holds the part shared with the lazy real files):
//   - a write (through the mapping buffer or writeAt) changes the written bytes only;
//   - msync(sync) of a range, datasync, and writeFileSynced copy the written bytes (of the range,
//     or all) to the durable ones, and make the file's current size durable;
//   - create, rename and unlink change the current names only; fsyncDir(dir) makes the current
//     names of `dir` durable, and the current size of each file in it (a created file that was
//     never synced then comes back full of zeros; without it, it does not come back at all);
//   - directories are durable at once (nothing here depends on losing one);
//   - powerLoss() puts every directory back to its durable names and every file to its durable
//     bytes at its durable size; given a random source, a prefix of each file's unsynced sectors
//     survives too (a torn tail).
// Background syncs run through `defer` (queueMicrotask by default) and make the whole file durable
// when they run; a power loss in between cancels them, and their callbacks never run: the process
// that asked is gone. Mappings and regions opened before a power loss belong to that process:
// they keep their old buffers, and any operation on them throws.
// Deterministic: no clock, no randomness but the one passed to powerLoss, Maps iterate in
// insertion order. Never imports node:fs.

import { posix } from 'node:path';
import type { FileLayer, FileSyncCallback, MappedRegion } from './file-layer.js';
import { imageAfterPowerLoss } from './power-loss-model.js';

interface Inode {
  written: Buffer;
  durable: Buffer;
}

export interface PowerLossReport {
  /** Files whose bytes changed, that vanished or came back. */
  filesReverted: number;
  /** Written bytes that were not durable and are gone. */
  bytesDropped: number;
}

function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}' (simulated file layer)`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

function norm(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

class SimRegion implements MappedRegion {
  readonly buffer: Buffer;
  private closed = false;

  constructor(
    private readonly fs: SimFileLayer,
    private readonly path: string,
    private readonly inode: Inode,
    private readonly epoch: number,
  ) {
    this.buffer = inode.written;
  }

  writeAt(src: Uint8Array, srcOffset: number, length: number, fileOffset: number): void {
    this.live('pwrite');
    if (this.closed) throw new Error(`mapped file ${this.path} is closed`);
    this.buffer.set(src.subarray(srcOffset, srcOffset + length), fileOffset);
  }

  msync(offset: number, length: number, sync: boolean): void {
    this.live('msync');
    if (sync) this.fs.makeDurable(this.inode, offset, offset + length);
  }

  datasync(): void {
    this.live('fdatasync');
    if (!this.closed) this.fs.makeDurable(this.inode, 0, this.inode.written.length);
  }

  datasyncInBackground(done: FileSyncCallback): void {
    this.live('fdatasync');
    this.fs.deferInEpoch(this.epoch, () => {
      this.fs.makeDurable(this.inode, 0, this.inode.written.length);
      done(null);
    });
  }

  releaseResident(): void {
    this.live('madvise');
  }

  close(): void {
    this.closed = true;
  }

  private live(syscall: string): void {
    if (this.epoch !== this.fs.epoch) throw new Error(`${syscall} on ${this.path}: the process that mapped it lost power`);
  }
}

export class SimFileLayer implements FileLayer {
  /** Counts power losses; regions of an older epoch belong to a process that is gone. */
  epoch = 0;
  private files = new Map<string, Inode>();
  private durableNames = new Map<string, Inode>();
  private readonly dirs = new Set<string>(['/']);
  private readonly defer: (fn: () => void) => void;

  constructor(options: { defer?: (fn: () => void) => void } = {}) {
    this.defer = options.defer ?? queueMicrotask;
  }

  mapFile(path: string, sizeBytes: number): MappedRegion {
    const p = norm(path);
    let inode = this.files.get(p);
    if (inode === undefined) {
      this.parentMustExist(p, 'open');
      inode = { written: Buffer.alloc(sizeBytes), durable: Buffer.alloc(0) };
      this.files.set(p, inode);
    } else if (inode.written.length > sizeBytes) {
      throw new Error(`mapped file ${path} is ${inode.written.length} bytes, larger than the expected ${sizeBytes}`);
    } else if (inode.written.length < sizeBytes) {
      const grown = Buffer.alloc(sizeBytes);
      inode.written.copy(grown);
      inode.written = grown;
    }
    return new SimRegion(this, p, inode, this.epoch);
  }

  exists(path: string): boolean {
    const p = norm(path);
    return this.files.has(p) || this.dirs.has(p);
  }

  sizeOf(path: string): number {
    return this.inode(path, 'stat').written.length;
  }

  readdir(dir: string): string[] {
    const d = norm(dir);
    if (!this.dirs.has(d)) throw fsError(this.files.has(d) ? 'ENOTDIR' : 'ENOENT', 'scandir', dir);
    const names: string[] = [];
    for (const p of this.dirs) if (p !== d && posix.dirname(p) === d) names.push(posix.basename(p));
    for (const p of this.files.keys()) if (posix.dirname(p) === d) names.push(posix.basename(p));
    return names;
  }

  mkdir(dir: string): void {
    // Bounded by the depth of the path.
    for (let d = norm(dir); !this.dirs.has(d); d = posix.dirname(d)) {
      if (this.files.has(d)) throw fsError('EEXIST', 'mkdir', d);
      this.dirs.add(d);
    }
  }

  readFile(path: string): Buffer {
    return Buffer.from(this.inode(path, 'open').written);
  }

  writeFileSynced(path: string, data: Uint8Array): void {
    const p = norm(path);
    let inode = this.files.get(p);
    if (inode === undefined) {
      this.parentMustExist(p, 'open');
      inode = { written: Buffer.alloc(0), durable: Buffer.alloc(0) };
      this.files.set(p, inode);
    }
    // O_TRUNC keeps the inode: a durable name for it now shows the new bytes.
    inode.written = Buffer.from(data);
    inode.durable = Buffer.from(data);
  }

  writeFileSyncedInBackground(path: string, data: Uint8Array, done: FileSyncCallback): void {
    const copy = Buffer.from(data);
    this.deferInEpoch(this.epoch, () => {
      try {
        this.writeFileSynced(path, copy);
      } catch (err) {
        done(err as Error);
        return;
      }
      done(null);
    });
  }

  rename(from: string, to: string): void {
    const f = norm(from);
    const inode = this.inode(f, 'rename');
    const t = norm(to);
    this.parentMustExist(t, 'rename');
    this.files.delete(f);
    this.files.set(t, inode);
  }

  unlink(path: string): void {
    const p = norm(path);
    this.inode(p, 'unlink');
    this.files.delete(p);
  }

  fsyncDir(dir: string): void {
    const d = norm(dir);
    if (!this.dirs.has(d)) throw fsError('ENOENT', 'open', dir);
    for (const p of [...this.durableNames.keys()]) if (posix.dirname(p) === d && this.files.get(p) !== this.durableNames.get(p)) this.durableNames.delete(p);
    for (const [p, inode] of this.files) {
      if (posix.dirname(p) !== d) continue;
      this.durableNames.set(p, inode);
      if (inode.durable.length !== inode.written.length) inode.durable = resized(inode.durable, inode.written.length);
    }
  }

  /**
   * Cuts the power: every name and byte that was not durable is gone (see the model above).
   * With `random` (a seeded source), each file also keeps a random prefix of its unsynced
   * sectors. Processes using this layer must be dropped and reopened afterwards.
   */
  powerLoss(random?: () => number): PowerLossReport {
    this.epoch++;
    let filesReverted = 0;
    let bytesDropped = 0;
    const done = new Set<Inode>();
    for (const inode of this.durableNames.values()) {
      if (done.has(inode)) continue;
      done.add(inode);
      const { image, droppedBytes } = imageAfterPowerLoss(inode.written, inode.durable, random);
      if (droppedBytes > 0 || image.length !== inode.written.length) filesReverted++;
      bytesDropped += droppedBytes + Math.max(0, inode.written.length - image.length);
      inode.written = image;
      inode.durable = Buffer.from(image);
    }
    for (const [p, inode] of this.files) {
      if (this.durableNames.get(p) === inode) continue;
      filesReverted++;
      if (!done.has(inode)) bytesDropped += inode.written.length;
    }
    for (const p of this.durableNames.keys()) if (!this.files.has(p)) filesReverted++;
    this.files = new Map(this.durableNames);
    return { filesReverted, bytesDropped };
  }

  /** The written bytes of a file, a copy (for tests and checkers). */
  contents(path: string): Buffer | undefined {
    const inode = this.files.get(norm(path));
    return inode === undefined ? undefined : Buffer.from(inode.written);
  }

  /** Copies written bytes [from, to) to the durable ones; the current size becomes durable. */
  makeDurable(inode: Inode, from: number, to: number): void {
    if (inode.durable.length !== inode.written.length) inode.durable = resized(inode.durable, inode.written.length);
    inode.written.copy(inode.durable, from, from, Math.min(to, inode.written.length));
  }

  /** Runs `fn` later unless the power was lost meanwhile. */
  deferInEpoch(epoch: number, fn: () => void): void {
    this.defer(() => {
      if (epoch === this.epoch) fn();
    });
  }

  private inode(path: string, syscall: string): Inode {
    const inode = this.files.get(norm(path));
    if (inode === undefined) throw fsError('ENOENT', syscall, path);
    return inode;
  }

  private parentMustExist(p: string, syscall: string): void {
    if (!this.dirs.has(posix.dirname(p))) throw fsError('ENOENT', syscall, p);
  }
}

function resized(b: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  b.copy(out, 0, 0, Math.min(b.length, length));
  return out;
}
