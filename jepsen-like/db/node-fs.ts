// A small file system of its own per node, for the disk-full nemesis: a tmpfs of a fixed size
// mounted on the node's data folder before it starts, filled with a ballast file to run the
// disk (nearly) full and emptied again. Mounting needs root (CI and these machines run as root);
// without it the run stops at setup with a message saying so. Every mount is undone at teardown
// and by an exit hook, so a mount never outlives the run.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DbError } from './db-errors.js';

export const BALLAST_FILE = 'disk-full-ballast';
const CHUNK_BYTES = 1024 * 1024;

/** Mounts a tmpfs of `bytes` on `dir` (which must exist and be empty). */
export function mountSmallFs(dir: string, bytes: number): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new DbError('ERR_JEPSEN_NODE_FS', `a node needs a small file system of its own for disk-full faults; mounting a ${bytes}-byte tmpfs on ${dir} failed (run as root): ${why}`, { cause: err });
  }
}

/** Undoes mountSmallFs; lazily when something still holds the file system. Never throws. */
export function unmountSmallFs(dir: string): void {
  if (!isMountPoint(dir)) return;
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // Left for the operator; the run summary of the next run's stale sweep will not see it.
    }
  }
}

export function isMountPoint(dir: string): boolean {
  const target = resolve(dir);
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === target);
}

/**
 * Writes a ballast file so that about `leaveFreeBytes` stay free on the file system of `dir`;
 * returns the ballast size. Bounded: at most the free space, in 1 MiB writes.
 */
export function fillDisk(dir: string, leaveFreeBytes: number): { ballastBytes: number; freeBytes: number; totalBytes: number } {
  const st = statfsSync(dir);
  const free = Number(st.bavail) * Number(st.bsize);
  const want = Math.max(0, free - leaveFreeBytes);
  const fd = openSync(join(dir, BALLAST_FILE), 'a');
  const chunk = Buffer.alloc(CHUNK_BYTES, 0x5a);
  let written = 0;
  try {
    while (written < want) {
      const n = Math.min(CHUNK_BYTES, want - written);
      try {
        written += writeSync(fd, chunk, 0, n);
      } catch {
        break; // ENOSPC: as full as it gets.
      }
    }
  } finally {
    closeSync(fd);
  }
  const after = statfsSync(dir);
  return { ballastBytes: written, freeBytes: Number(after.bavail) * Number(after.bsize), totalBytes: Number(after.blocks) * Number(after.bsize) };
}

/** Removes the ballast; returns the free bytes afterwards. */
export function emptyDisk(dir: string): number {
  rmSync(join(dir, BALLAST_FILE), { force: true });
  const st = statfsSync(dir);
  return Number(st.bavail) * Number(st.bsize);
}
