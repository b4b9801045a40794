// Disk space as the store sees it: how full the file system under a path is (statfs, injectable
// for tests), the typed error for a full disk, and claiming space up front. ConsumeQueue and
// IndexFile files are mapped; writing through a mapping into a sparse file that the disk can no
// longer back kills the process with SIGBUS, so their space is claimed with real zero writes
// through the descriptor first, where a full disk is an ordinary ENOSPC we can report.

import { closeSync, openSync, renameSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { StoreError } from './store-errors.js';

/** The store's file system ran out of space (ENOSPC/EDQUOT), or retention says it is too full. */
export class DiskFullError extends StoreError {
  readonly code = 'ERR_STORE_DISK_FULL';
}

export interface DiskUsage {
  /** Used fraction as `df` shows it: used / (used + available to unprivileged users), 0..1. */
  usedRatio: number;
  totalBytes: number;
  availableBytes: number;
}

/** Reports the usage of the file system holding `path`. Tests pass a fake reporting any ratio. */
export type DiskUsageProbe = (path: string) => DiskUsage;

/** The real probe: statfs(2) through `fs.statfsSync` (Node 18.15+). */
export function statfsUsage(path: string): DiskUsage {
  const s = statfsSync(path);
  const used = (s.blocks - s.bfree) * s.bsize;
  const available = s.bavail * s.bsize;
  const denominator = used + available;
  return { usedRatio: denominator > 0 ? used / denominator : 0, totalBytes: s.blocks * s.bsize, availableBytes: available };
}

/** True for the errno codes that mean "no space": the disk or the user's quota is full. */
export function isNoSpaceError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

/** Writes zeros over [offset, offset + length) of the open file `fd` (1 MiB per syscall). */
export function writeZeros(fd: number, offset: number, length: number): void {
  // Bounded: each round writes at least one byte or throws.
  for (let done = 0; done < length; ) {
    const n = writeSync(fd, ZERO_CHUNK, 0, Math.min(ZERO_CHUNK.length, length - done), offset + done);
    if (n <= 0) throw new Error(`write of zeros at ${offset + done} wrote ${n} bytes`);
    done += n;
  }
}

/**
 * Creates `path` holding `sizeBytes` zero bytes that are really allocated on disk. The file is
 * built under a temporary name and renamed, so a crash or a full disk never leaves a short file
 * at `path` (the ConsumeQueue and IndexFile loaders refuse files of the wrong size).
 */
function allocateZeroedFileOnDisk(path: string, sizeBytes: number): void {
  const tmp = `${path}.alloc`;
  const fd = openSync(tmp, 'w');
  try {
    writeZeros(fd, 0, sizeBytes);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/**
 * The allocation functions the store calls. A seam for tests: replace a member to simulate a full
 * disk (throw an error with `code: 'ENOSPC'`), and put the original back afterwards.
 */
export const diskSpace = {
  /** Creates a file of `sizeBytes` allocated zeros (see allocateZeroedFileOnDisk). */
  allocateFile: allocateZeroedFileOnDisk,
  /** Allocates [offset, offset + length) of an existing file by writing zeros (never over data). */
  allocateRange(path: string, offset: number, length: number): void {
    const fd = openSync(path, 'r+');
    try {
      writeZeros(fd, offset, length);
    } finally {
      closeSync(fd);
    }
  },
};

/**
 * Runs `fn`; a no-space error becomes a DiskFullError whose message says what was being written
 * (`what`), any other error passes through unchanged.
 */
export function withDiskFullCheck<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isNoSpaceError(err)) {
      throw new DiskFullError(`disk full while ${what}: ${(err as Error).message}. Free space on the store's file system; the store resumes where it stopped.`, { cause: err });
    }
    throw err;
  }
}
