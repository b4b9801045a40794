// The file operations the Raft log storage and the store's mapped files need, behind one seam
// that keeps WRITTEN apart from DURABLE: a write (through a mapping or `writeAt`) reaches the
// page cache and survives a process kill; only `msync(..., true)`, `datasync` and
// `writeFileSynced`, plus `fsyncDir` for the names in a directory, make it survive power loss.
// Three implementations: the real one (mmap + node:fs, real-file-layer.ts), an in-memory one
// for the seeded simulator that can lose power (sim-file-layer.ts), and a test-only lazy one
// for real processes that keeps a shadow of the durable bytes next to each file (lazy-fs.ts).

export type FileSyncCallback = (err: Error | null) => void;

/** One file mapped read/write: `buffer` is the whole file, and writes to it are writes to the file. */
export interface MappedRegion {
  readonly buffer: Buffer;
  /** Copies `src[srcOffset, srcOffset + length)` to file offset `fileOffset` (pwrite); bounds already checked. */
  writeAt(src: Uint8Array, srcOffset: number, length: number, fileOffset: number): void;
  /** msync of [offset, offset + length), page-aligned by the caller; durable on return when `sync`. */
  msync(offset: number, length: number, sync: boolean): void;
  /** fdatasync of the whole file: durable on return. A closed region is a no-op. */
  datasync(): void;
  /** fdatasync in the background; a file deleted before it starts needs none: `done(null)`. */
  datasyncInBackground(done: FileSyncCallback): void;
  /** Drops this process's page-table entries of whole pages inside the range; no data changes. */
  releaseResident(offset: number, length: number): void;
  /** Closes the descriptor; the buffer stays readable until collected. */
  close(): void;
}

export interface FileLayer {
  /**
   * Opens (creating if needed) `path` and maps exactly `sizeBytes`: a shorter file is extended
   * with zeros, a longer one is an error. The size was validated by the caller.
   */
  mapFile(path: string, sizeBytes: number): MappedRegion;
  /** Whether a file or directory exists at `path`. */
  exists(path: string): boolean;
  sizeOf(path: string): number;
  /** Names in `dir` (files and directories), in no particular order. */
  readdir(dir: string): string[];
  /** mkdir -p; the directories are durable at once (no model loses a directory). */
  mkdir(dir: string): void;
  readFile(path: string): Buffer;
  /** Creates or truncates `path`, writes `data` and fsyncs it: its bytes are durable, its name not yet. */
  writeFileSynced(path: string, data: Uint8Array): void;
  /** The same off the event loop; `done` runs on it afterwards. */
  writeFileSyncedInBackground(path: string, data: Uint8Array, done: FileSyncCallback): void;
  /** Replaces `to` by `from` atomically; durable after `fsyncDir` of the directory. */
  rename(from: string, to: string): void;
  /** Removes the name; durable after `fsyncDir` of the directory. */
  unlink(path: string): void;
  /** fsync of a directory: the names created, renamed or removed in it become durable. */
  fsyncDir(dir: string): void;
}
