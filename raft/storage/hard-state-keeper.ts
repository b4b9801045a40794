// The `hardstate` file of the mmap Raft log and the rule for when it is written: a change of
// term or vote is written and fsynced before `set` returns (a vote must never be forgotten); a
// change of commit alone is kept in memory and written at most once per interval by a flush,
// at the next term/vote change, or at close, because the core re-learns the commit index and an
// fsync per Ready would cost more than the append.

import type { Logger } from 'pino';
import type { HardState } from '../core/types.js';
import type { FileLayer } from './file-layer.js';
import { writeHardState, writeHardStateInBackground } from './state-files.js';

export class HardStateKeeper {
  private hard: HardState;
  private persisted: HardState;
  private lastWriteMs = 0;
  /** Counts synchronous writes: a background write started before one of them is stale. */
  private generation = 0;
  private backgroundInFlight = false;
  private closed = false;

  constructor(
    private readonly dir: string,
    initial: HardState,
    private readonly commitPersistIntervalMs: number,
    private readonly log: Logger | undefined,
    private readonly layer: FileLayer,
  ) {
    this.hard = { ...initial };
    this.persisted = { ...initial };
  }

  get(): HardState {
    return { ...this.hard };
  }

  get commit(): number {
    return this.hard.commit;
  }

  /** Lowers the in-memory commit (recovery found a shorter log); written like any commit change. */
  lowerCommit(commit: number): void {
    if (commit < this.hard.commit) this.hard.commit = commit;
  }

  set(state: HardState): void {
    if (state.term !== this.persisted.term || state.vote !== this.persisted.vote) this.write(state);
    this.hard = { term: state.term, vote: state.vote, commit: state.commit };
  }

  /** Writes a commit-only change, blocking, when the interval since the last write has passed. */
  flushCommitIfDue(): void {
    if (this.commitDue()) this.write(this.hard);
  }

  /**
   * flushCommitIfDue without the fsync on the event loop: with ext4's ordered journal an fsync of
   * the small hardstate file also waits for the data blocks written since the last one, which
   * stalled a busy leader for tens of milliseconds once a second. Returns false when nothing was
   * started; otherwise `done` runs once the write finished or was dropped. A failure is logged,
   * not returned: the commit index can be re-learned and the next flush writes it again.
   */
  flushCommitInBackground(done: (err: Error | null) => void): boolean {
    if (this.backgroundInFlight || !this.commitDue()) return false;
    const state = { ...this.hard };
    const generation = this.generation;
    this.backgroundInFlight = true;
    this.lastWriteMs = Date.now();
    writeHardStateInBackground(this.layer, this.dir, state, (rename, err) => {
      this.backgroundInFlight = false;
      // A synchronous write (a new term or vote, or close) since the start supersedes this one.
      if (rename !== undefined && !this.closed && generation === this.generation) {
        try {
          rename();
          this.persisted = state;
        } catch (renameErr) {
          err = renameErr as Error;
        }
      }
      if (err) this.log?.warn({ err }, 'background write of the commit index failed');
      done(null);
    });
    return true;
  }

  /** Writes what is not persisted yet; later background writes are dropped. */
  close(): void {
    if (this.closed) return;
    if (this.hard.commit !== this.persisted.commit) this.write(this.hard);
    this.closed = true;
  }

  private commitDue(): boolean {
    return this.hard.commit !== this.persisted.commit && Date.now() - this.lastWriteMs >= this.commitPersistIntervalMs;
  }

  private write(state: HardState): void {
    this.generation++;
    writeHardState(this.layer, this.dir, state);
    this.persisted = { term: state.term, vote: state.vote, commit: state.commit };
    this.lastWriteMs = Date.now();
  }
}
