// The thread-pool flush of the mmap Raft log (MmapLogStorage.syncInBackground): fdatasync of the
// data and index files touched since the last sync, beside the due commit-only hard-state write,
// at most one at a time. While one runs, a blocking flush must also cover the files it took
// (their dirty ranges were handed over), which `flushInFlight` does.

import type { EntryIndex } from './entry-index.js';
import type { HardStateKeeper } from './hard-state-keeper.js';
import type { MappedFile } from './mapped-file.js';
import type { MappedFileList } from './mapped-file-list.js';

export class BackgroundSync {
  /** The files the running sync is flushing, until it completes. */
  private files: MappedFile[] | null = null;

  constructor(
    private readonly data: MappedFileList,
    private readonly index: EntryIndex,
    private readonly hard: HardStateKeeper,
  ) {}

  /**
   * Starts a sync and returns true, or returns false (doing nothing) while one is in flight.
   * `done` runs once every file and the commit write (when due) finished, with the first error.
   */
  start(done: (err: Error | null) => void): boolean {
    if (this.files !== null) return false;
    const files: MappedFile[] = [];
    this.data.takeDirtyFiles(files);
    this.index.files.takeDirtyFiles(files);
    this.files = files;
    // The data files, and the commit index when it is due; `done` waits for all of them.
    let left = files.length + 1;
    let failure: Error | null = null;
    const one = (err: Error | null): void => {
      failure ??= err;
      if (--left > 0) return;
      this.files = null;
      done(failure);
    };
    for (const f of files) f.datasyncInBackground(one);
    if (!this.hard.flushCommitInBackground(one)) process.nextTick(one, null);
    return true;
  }

  /** Blocking fdatasync of the files a running sync took (nothing when none runs). */
  flushInFlight(): void {
    if (this.files !== null) for (const f of this.files) f.datasync();
  }
}
