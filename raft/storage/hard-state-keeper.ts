// The `hardstate` file of the mmap Raft log and the rule for when it is written: a change of
// term or vote is written and fsynced before `set` returns (a vote must never be forgotten); a
// change of commit alone is kept in memory and written at most once per interval by a flush,
// at the next term/vote change, or at close, because the core re-learns the commit index and an
// fsync per Ready would cost more than the append.
//
// Every write clamps the commit to the log's durable index at the moment the write starts: a
// commit recorded over entries a power loss can still take back (async flush acknowledges before
// the data fdatasync, and the background commit write runs in parallel with it) would make a
// restarted node apply whatever stale entries recovery finds at those indexes, and then refuse
// the real leader's entries there as rewrites of committed ones.

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

  /**
   * `durableIndex` is the log's durable index now; `unsafeCommitAheadOfDurable` (tests only)
   * turns the clamp off to reproduce the old behaviour.
   */
  constructor(
    private readonly dir: string,
    initial: HardState,
    private readonly commitPersistIntervalMs: number,
    private readonly log: Logger | undefined,
    private readonly durableIndex: () => number,
    private readonly layer: FileLayer,
    private readonly unsafeCommitAheadOfDurable = false,
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
   * started; otherwise `done` runs once the write finished or was dropped, with the error when it
   * failed: a disk that cannot take this small write cannot take the log either (fail-stop).
   */
  flushCommitInBackground(done: (err: Error | null) => void): boolean {
    if (this.backgroundInFlight || !this.commitDue()) return false;
    // Clamped now, before the data fdatasync that runs beside this write has completed.
    const state = this.clamped(this.hard);
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
      done(err);
    });
    return true;
  }

  /** Writes what is not persisted yet; later background writes are dropped. */
  close(): void {
    if (this.closed) return;
    if (this.clamped(this.hard).commit !== this.persisted.commit) this.write(this.hard);
    this.closed = true;
  }

  /** The commit index the file holds (or is being written with): never above the durable log. */
  get persistedCommit(): number {
    return this.persisted.commit;
  }

  private commitDue(): boolean {
    return this.clamped(this.hard).commit !== this.persisted.commit && Date.now() - this.lastWriteMs >= this.commitPersistIntervalMs;
  }

  /** `state` with its commit lowered to the durable log (but never below what is already on disk). */
  private clamped(state: HardState): HardState {
    if (this.unsafeCommitAheadOfDurable) return { term: state.term, vote: state.vote, commit: state.commit };
    // The file's commit was durable-bounded when written, and committed entries are never
    // truncated, so it stays valid while the durable index dips after a truncation.
    const bound = Math.max(this.durableIndex(), Math.min(this.persisted.commit, state.commit));
    return { term: state.term, vote: state.vote, commit: Math.min(state.commit, bound) };
  }

  private write(state: HardState): void {
    this.generation++;
    const s = this.clamped(state);
    writeHardState(this.layer, this.dir, s);
    this.persisted = s;
    this.lastWriteMs = Date.now();
  }
}
