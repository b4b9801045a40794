// Making the store's files durable: fdatasync of mapped ConsumeQueue/IndexFile files and fsync
// of the directories that got new entries, blocking or in libuv's thread pool. For a MAP_SHARED
// mapping, Linux's msync(MS_SYNC) is vfs_fsync_range over the mapped file, so an fdatasync of the
// file writes back the same pages dirtied through the mapping; the thread pool variant therefore
// gives the same guarantee without blocking the event loop.
// The `fileSync` object is a seam: tests replace its members to record what was made durable
// when (a power-loss model), as disk-usage.ts's `diskSpace` does for full disks.

import { close, closeSync, fsync, fsyncSync, open, openSync } from 'node:fs';
import type { MappedFile } from '../../raft/storage/mapped-file.js';

export type SyncCallback = (err: Error | null) => void;

/**
 * fsync of a directory, so the names created in it survive power loss. A directory removed
 * meanwhile (a ConsumeQueue left without files by retention or a restart at the log's start)
 * needs none, as in the thread-pool variant.
 */
function fsyncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The same in the thread pool. A directory removed meanwhile needs no sync. */
function fsyncDirInBackground(dir: string, done: SyncCallback): void {
  open(dir, 'r', (openErr, fd) => {
    if (openErr) {
      done(openErr.code === 'ENOENT' ? null : openErr);
      return;
    }
    fsync(fd, (syncErr) => close(fd, () => done(syncErr)));
  });
}

export const fileSync = {
  /** fdatasync of a mapped file, blocking (a closed file is a no-op: it was synced by close). */
  file(file: MappedFile): void {
    file.datasync();
  },
  /** fdatasync of a mapped file in the thread pool; a file deleted meanwhile needs none. */
  fileInBackground(file: MappedFile, done: SyncCallback): void {
    file.datasyncInBackground(done);
  },
  dir: fsyncDirSync,
  dirInBackground: fsyncDirInBackground,
};

/** What a ConsumeQueue or the IndexFile hands to a flush: its dirty files and new directories. */
export interface DirtyFileSource {
  takeDirtyFiles(out: MappedFile[], dirs: Set<string>): void;
}

/** Makes what `source` wrote since its last flush durable, blocking (files, then directories). */
export function flushDirtyNow(source: DirtyFileSource): void {
  const files: MappedFile[] = [];
  const dirs = new Set<string>();
  source.takeDirtyFiles(files, dirs);
  for (const f of files) fileSync.file(f);
  for (const d of dirs) fileSync.dir(d);
}

/**
 * Runs `tasks` in the thread pool with at most `limit` in flight and calls `done` once with the
 * first error (or null) after every task finished. Bounded so that one flush of many
 * ConsumeQueue files does not occupy libuv's 4 threads that the Raft log's own background sync
 * and other file I/O also need.
 */
export function runBounded(tasks: readonly ((cb: SyncCallback) => void)[], limit: number, done: SyncCallback): void {
  if (!(limit >= 1)) throw new RangeError(`limit ${limit} must be >= 1`);
  let next = 0;
  let running = 0;
  let failure: Error | null = null;
  let finished = false;
  const launch = (): void => {
    // Bounded: each round starts one of the remaining tasks.
    while (running < limit && next < tasks.length) {
      const task = tasks[next++]!;
      running++;
      task(onDone);
    }
    if (running === 0 && next >= tasks.length && !finished) {
      finished = true;
      done(failure);
    }
  };
  const onDone = (err: Error | null): void => {
    failure ??= err;
    running--;
    launch();
  };
  if (tasks.length === 0) {
    process.nextTick(done, null);
    return;
  }
  launch();
}
