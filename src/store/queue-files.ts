// The files of one ConsumeQueue: a contiguous run numbered from `firstNumber`, each mapped on
// first use and closed again when the store's QueueFilePool says so (idle, or too many open),
// to be reopened on the next access. Creation claims disk space up front (a full disk is an
// ENOSPC, not a SIGBUS on a mapped write) and notes the directories whose names a flush must
// make durable.

import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { type FileLayer, MappedFile } from '../../raft/storage/mapped-file.js';
import { CQ_FILE_NAME, consumeQueueFilePath } from './consume-queue-paths.js';
import { diskSpace, withDiskFullCheck } from './disk-usage.js';
import type { PooledFiles, QueueFilePool } from './queue-file-pool.js';
import { BadStoreFileError } from './store-errors.js';

/**
 * Disk space is claimed ahead of the writer with real zero writes, so a full disk is an ENOSPC
 * before a unit is written. A new file gets CQ_FIRST_CLAIM_BYTES (64 KiB, about 3,300 units);
 * each later claim is as large as what the file already has, up to CQ_CLAIM_BYTES_MAX (1 MiB,
 * about 52,000 units). Claiming 1 MiB at once cost 3 ms of the event loop per new file (for a
 * broker with 128 queues, 0.4 s of zero writes before the first few thousand messages), while
 * a queue that stays small needs only the first claim.
 */
export const CQ_FIRST_CLAIM_BYTES = 64 * 1024;
export const CQ_CLAIM_BYTES_MAX = 1024 * 1024;

interface Slot {
  readonly path: string;
  mapped: MappedFile | undefined;
}

export class QueueFiles implements PooledFiles {
  private slots: Slot[] = [];
  /** File number (byte offset / fileBytes) of the first file. */
  firstNumber = 0;
  /** Directories whose entries changed (a new file or directory) since the last flush. */
  readonly newDirs = new Set<string>();
  /** The file whose bytes below `allocatedTo` are allocated on disk (the one being appended to). */
  private allocatedFile: MappedFile | undefined;
  private allocatedTo = 0;
  openCount = 0;
  heldByFlush = false;
  usedMark = 0;
  lastUsedMs = 0;

  constructor(
    readonly dir: string,
    readonly fileBytes: number,
    private readonly layer: FileLayer,
    private readonly pool: QueueFilePool,
    /** Told when the files close, so the queue drops its views of their mappings. */
    private readonly onClose: () => void,
  ) {}

  /** Number of files (open or not). */
  get count(): number {
    return this.slots.length;
  }

  /**
   * Finds the files on disk and checks that they follow each other at the configured size;
   * maps none of them. Returns false when the queue has no directory yet.
   */
  scan(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => CQ_FILE_NAME.test(n)).sort();
    } catch {
      return false; // No directory yet: an empty queue.
    }
    let expected = -1;
    for (const name of names) {
      const startBytes = Number(name);
      const path = consumeQueueFilePath(this.dir, startBytes);
      if (startBytes % this.fileBytes !== 0 || (expected >= 0 && startBytes !== expected)) {
        throw new BadStoreFileError(`ConsumeQueue file ${path} does not follow its predecessor (files of ${this.fileBytes} bytes)`);
      }
      const size = statSync(path).size;
      if (size !== this.fileBytes) throw new BadStoreFileError(`ConsumeQueue file ${path} is ${size} bytes, expected ${this.fileBytes}`);
      if (this.slots.length === 0) this.firstNumber = startBytes / this.fileBytes;
      this.slots.push({ path, mapped: undefined });
      expected = startBytes + this.fileBytes;
    }
    return true;
  }

  /** The i-th file (0 = first), mapped now if it was closed. */
  get(i: number): MappedFile {
    this.usedMark = this.pool.mark;
    const slot = this.slots[i]!;
    return slot.mapped ?? this.map(slot);
  }

  /** The file numbered `fileNumber`, or undefined when the queue has no such file. */
  byNumber(fileNumber: number): MappedFile | undefined {
    const i = fileNumber - this.firstNumber;
    return i >= 0 && i < this.slots.length ? this.get(i) : undefined;
  }

  private map(slot: Slot): MappedFile {
    const file = MappedFile.open(slot.path, this.fileBytes, this.layer);
    slot.mapped = file;
    this.openCount++;
    this.pool.opened(this);
    return file;
  }

  /** Creates the next file (or the first, numbered `fileNumber`) and claims its first stretch of disk. */
  create(fileNumber: number): MappedFile {
    if (this.slots.length > 0 && fileNumber !== this.firstNumber + this.slots.length) {
      throw new Error(`ConsumeQueue ${this.dir}: file ${fileNumber} is not next`);
    }
    const path = consumeQueueFilePath(this.dir, fileNumber * this.fileBytes);
    // Claim disk space for the first units now: a full disk is an ENOSPC here, not a SIGBUS on
    // a mapped write. The rest is claimed ahead of the writer (see claim).
    const allocated = Math.min(this.fileBytes, CQ_FIRST_CLAIM_BYTES);
    withDiskFullCheck(`creating ConsumeQueue file ${path}`, () => {
      const firstCreated = mkdirSync(this.dir, { recursive: true });
      // The new names (the file, and the directories just made) must be durable before a
      // checkpoint counts on the units in this file: fsync each directory that got one.
      this.newDirs.add(this.dir);
      if (firstCreated !== undefined) {
        const top = dirname(firstCreated);
        // Bounded by the depth of this.dir below `top` (topic and queue id: two levels).
        for (let d = this.dir; d !== top && d.length > top.length; d = dirname(d)) this.newDirs.add(dirname(d));
      }
      diskSpace.allocateFile(path, allocated);
    });
    const slot: Slot = { path, mapped: undefined };
    const file = withDiskFullCheck(`creating ConsumeQueue file ${path}`, () => this.map(slot));
    // Listed once mapped: a failed creation leaves the list as it was, and the next append retries.
    if (this.slots.length === 0) this.firstNumber = fileNumber;
    this.slots.push(slot);
    this.allocatedFile = file;
    this.allocatedTo = allocated;
    return file;
  }

  /** Makes sure the bytes of `file` up to `at` + one unit are claimed on disk before a unit is written there. */
  claim(file: MappedFile, at: number, unitBytes: number): void {
    if (file !== this.allocatedFile) {
      // A file opened from disk (or reopened): what holds units is allocated; zeros past it are harmless.
      this.allocatedFile = file;
      this.allocatedTo = at;
    }
    if (at + unitBytes <= this.allocatedTo) return;
    const claim = Math.min(CQ_CLAIM_BYTES_MAX, Math.max(CQ_FIRST_CLAIM_BYTES, this.allocatedTo));
    const end = Math.min(this.fileBytes, Math.max(at + unitBytes, this.allocatedTo + claim));
    withDiskFullCheck(`growing ConsumeQueue file ${file.path}`, () => diskSpace.allocateRange(file.path, this.allocatedTo, end - this.allocatedTo));
    this.allocatedTo = end;
  }

  /** Deletes the last file. */
  deleteLast(): void {
    this.destroySlot(this.slots.pop()!);
  }

  /** Deletes the first file. */
  deleteFirst(): void {
    this.destroySlot(this.slots.shift()!);
    this.firstNumber++;
  }

  private destroySlot(slot: Slot): void {
    this.forgetViews();
    if (slot.mapped !== undefined) {
      slot.mapped.destroy();
      slot.mapped = undefined;
      this.openCount--;
      this.pool.closed(this, 1);
    } else {
      this.layer.unlink(slot.path);
    }
  }

  /** Deletes every file and the directory. */
  deleteAll(): void {
    this.forgetViews();
    // Bounded by the number of files.
    while (this.slots.length > 0) this.deleteLast();
    this.removeDir();
  }

  /** Removes the queue's directory once it holds no file; a flush has no name there to sync. */
  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.newDirs.delete(this.dir);
  }

  /**
   * Closes every open file (descriptor now; the mapping once nothing refers to it) and drops
   * this process's pages of them, so resident memory falls at once. Nothing on disk changes.
   */
  closeAll(): void {
    if (this.openCount === 0) return;
    this.forgetViews();
    let closed = 0;
    for (const slot of this.slots) {
      if (slot.mapped === undefined) continue;
      slot.mapped.releaseResident(0, this.fileBytes);
      slot.mapped.close();
      slot.mapped = undefined;
      closed++;
    }
    this.openCount = 0;
    this.pool.closed(this, closed);
  }

  private forgetViews(): void {
    this.allocatedFile = undefined;
    this.onClose();
  }

  /** Paths of the files, oldest first. */
  paths(): string[] {
    return this.slots.map((s) => s.path);
  }
}
