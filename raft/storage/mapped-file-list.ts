// A run of equal-size mapped files covering one flat byte address space, as RocketMQ's
// MappedFileQueue: file k holds addresses [k * fileBytes, (k + 1) * fileBytes) and is named by
// the 20-digit zero-padded number `k * fileBytes / nameDivisor` (the global byte position of its
// first byte for data segments, the first entry index for index segments). It owns creation,
// deletion from either end, dirty-range tracking for msync, and directory fsyncs.

import { join } from 'node:path';
import type { FileLayer } from './file-layer.js';
import { MappedFile } from './mapped-file.js';
import { LogStorageError } from './storage-errors.js';

const NAME_DIGITS = 20;
const NAME_RE = /^\d{20}$/;

export class MappedFileList {
  /** files[i] is file number `firstFile + i`; the list is always contiguous. */
  private files: MappedFile[] = [];
  private firstFile = 0;
  private dirtyFrom = Infinity;
  private dirtyTo = -Infinity;
  private directoryDirty = false;

  constructor(
    readonly dir: string,
    readonly fileBytes: number,
    private readonly nameDivisor: number,
    /** Whether `ensure` may create the files between the list and a distant one (index files may; data files may not). */
    private readonly fillGaps: boolean,
    private readonly layer: FileLayer,
  ) {
    if (!Number.isInteger(fileBytes / nameDivisor)) throw new RangeError(`file size ${fileBytes} is not a multiple of ${nameDivisor}`);
    layer.mkdir(dir);
  }

  /**
   * Maps the files found on disk. Files after a gap in the numbering cannot belong to the log
   * (it never skips a file), so they are deleted and reported. A file shorter than `fileBytes`
   * is a file whose creation was cut short and is extended; a longer one means another size was
   * configured, and positions would no longer agree, so that is refused.
   */
  load(): { deletedAfterGap: string[] } {
    const numbers = this.layer.readdir(this.dir)
      .filter((n) => NAME_RE.test(n))
      .map((n) => Number(n))
      .sort((a, b) => a - b);
    const deletedAfterGap: string[] = [];
    let previous: number | undefined;
    for (const name of numbers) {
      const address = name * this.nameDivisor;
      const path = this.pathOfName(name);
      if (address % this.fileBytes !== 0 || this.layer.sizeOf(path) > this.fileBytes) {
        throw new LogStorageError('ERR_LOG_CONFIG_MISMATCH', `${path} does not match the configured file size ${this.fileBytes}`);
      }
      const k = address / this.fileBytes;
      if (previous !== undefined && k !== previous + 1) {
        this.layer.unlink(path);
        deletedAfterGap.push(path);
        this.directoryDirty = true;
        continue;
      }
      if (previous === undefined) this.firstFile = k;
      this.files.push(MappedFile.open(path, this.fileBytes, this.layer));
      previous = k;
    }
    // A killed process may have created these files without an fsync of the directory: the next
    // flush (recovery's, which makes the recovered log durable) must make their names durable too,
    // or a power loss after the restart would take back entries the log reports durable.
    if (this.files.length > 0) this.directoryDirty = true;
    return { deletedAfterGap };
  }

  get count(): number {
    return this.files.length;
  }

  /** Number of the first mapped file (meaningless when empty). */
  get first(): number {
    return this.firstFile;
  }

  get last(): number {
    return this.firstFile + this.files.length - 1;
  }

  /** The mapped file number `k`, or undefined. */
  file(k: number): MappedFile | undefined {
    return this.files[k - this.firstFile];
  }

  /**
   * The file number `k`, created if missing. Without `fillGaps` it may only extend the list by
   * one (or start an empty list): a data segment list with a hole in it would end the log there.
   */
  ensure(k: number): MappedFile {
    const existing = this.files[k - this.firstFile];
    if (existing !== undefined) return existing;
    if (this.files.length === 0) {
      this.files.push(this.create(k));
      this.firstFile = k;
      return this.files[0]!;
    }
    if (!this.fillGaps && k !== this.last + 1) throw new Error(`file ${k} would leave a gap after ${this.last}`);
    while (k < this.firstFile) this.files.unshift(this.create(--this.firstFile));
    while (k > this.last) this.files.push(this.create(this.last + 1));
    return this.files[k - this.firstFile]!;
  }

  private create(k: number): MappedFile {
    this.directoryDirty = true;
    return MappedFile.open(this.pathOfName((k * this.fileBytes) / this.nameDivisor), this.fileBytes, this.layer);
  }

  /** Deletes files numbered below `k`. */
  deleteBelow(k: number): number {
    let n = 0;
    while (this.files.length > 0 && this.firstFile < k) {
      this.files.shift()!.destroy();
      this.firstFile++;
      n++;
    }
    if (n > 0) this.directoryDirty = true;
    return n;
  }

  /**
   * Deletes files numbered above `k` and makes that durable before returning, together with
   * every write before it (a flush: the dirty ranges first, then the directory). A truncation
   * writes new entries where the deleted files' entries were: were the deletion not durable, a
   * power loss could bring a deleted file back behind a new entry that reached the disk, and
   * recovery, which begins its scan at the first entry of a late segment, would keep the stale
   * entries between the two. The dirty ranges go first because the directory fsync also makes
   * the names of files created since durable, which must not outrun the data before them.
   * Truncations that delete files are rare, so the blocking flush costs little.
   */
  deleteAbove(k: number): number {
    let n = 0;
    while (this.files.length > 0 && this.last > k) {
      this.files.pop()!.destroy();
      n++;
    }
    if (n > 0) {
      this.directoryDirty = true;
      this.flush();
    }
    return n;
  }

  deleteAll(): void {
    this.deleteAbove(this.firstFile - 1);
  }

  /** Notes that addresses [from, to) were written and must be flushed by the next `flush`. */
  markDirty(from: number, to: number): void {
    if (from < this.dirtyFrom) this.dirtyFrom = from;
    if (to > this.dirtyTo) this.dirtyTo = to;
  }

  /** MappedFile.releaseResident over addresses [from, to) of the files that exist. */
  releaseResident(from: number, to: number): void {
    for (let k = Math.max(this.firstFile, Math.floor(from / this.fileBytes)); k <= this.last && k * this.fileBytes < to; k++) {
      const base = k * this.fileBytes;
      const start = Math.max(from, base) - base;
      this.file(k)!.releaseResident(start, Math.min(to, base + this.fileBytes) - base - start);
    }
  }

  /** Zeroes [from, to) in the mapped files that exist and marks it dirty. */
  zero(from: number, to: number): void {
    for (let k = Math.floor(from / this.fileBytes); k * this.fileBytes < to; k++) {
      const f = this.file(k);
      if (f === undefined) continue;
      const base = k * this.fileBytes;
      f.buffer.fill(0, Math.max(from, base) - base, Math.min(to, base + this.fileBytes) - base);
    }
    this.markDirty(from, to);
  }

  /** msyncs (blocking) the dirty range of the files still present, then the directory if files came or went. */
  flush(): void {
    this.msyncRange(this.dirtyFrom, this.dirtyTo);
    this.dirtyFrom = Infinity;
    this.dirtyTo = -Infinity;
    if (this.directoryDirty) {
      this.layer.fsyncDir(this.dir);
      this.directoryDirty = false;
    }
  }

  /**
   * The files holding the dirty range, which is then considered clean: the caller takes over
   * making them durable (a background fdatasync). When files came or went, the directory is
   * fsynced here, at once, and the dirty data of every file but the newest is msynced (blocking)
   * before it: the fsync makes the new files' names durable, and a name must not outrun the data
   * ahead of it, or a power loss could keep a later segment whole behind a torn one, which
   * recovery, scanning from a late segment, would not see. That happens once per new segment.
   */
  takeDirtyFiles(out: MappedFile[]): void {
    let from = this.dirtyFrom;
    if (this.directoryDirty) {
      const newest = this.files.length > 0 ? this.last * this.fileBytes : Infinity;
      if (from < newest) {
        this.msyncRange(from, Math.min(this.dirtyTo, newest));
        from = newest;
      }
      this.layer.fsyncDir(this.dir);
      this.directoryDirty = false;
    }
    if (from < this.dirtyTo) {
      for (let k = Math.max(this.firstFile, Math.floor(from / this.fileBytes)); k <= this.last && k * this.fileBytes < this.dirtyTo; k++) out.push(this.file(k)!);
    }
    this.dirtyFrom = Infinity;
    this.dirtyTo = -Infinity;
  }

  /** msync (blocking) of addresses [from, to) in the files that exist. */
  private msyncRange(from: number, to: number): void {
    for (let k = Math.max(this.firstFile, Math.floor(from / this.fileBytes)); from < to && k <= this.last && k * this.fileBytes < to; k++) {
      const base = k * this.fileBytes;
      const start = Math.max(from, base) - base;
      const end = Math.min(to, base + this.fileBytes) - base;
      this.file(k)!.flush(start, end - start, true);
    }
  }

  close(): void {
    for (const f of this.files) f.close();
    this.files = [];
  }

  private pathOfName(name: number): string {
    return join(this.dir, String(name).padStart(NAME_DIGITS, '0'));
  }
}
