// The contract of a durable Raft log: what the node runner persists into and what the core
// reads from (through the LogReader half). Two implementations exist: the segmented mmap log
// (production) and the simulator's in-memory log, which models process kill and power loss.

import type { Membership } from '../core/membership.js';
import type { Entry, HardState, LogReader, LogStart } from '../core/types.js';

export type FlushPolicy =
  /** Entries become durable by a periodic flush every `intervalMs`; appends never wait. */
  | { mode: 'async'; intervalMs: number }
  /** Group commit: the runner calls `sync()` after each Ready's appends, before acknowledging. */
  | { mode: 'sync' };

/** Where an entry's bytes live: its global byte position in the data files and its sizes. */
export interface EntryLocation {
  /** Global byte offset of the entry header (segments are named by their first offset). */
  position: number;
  /** Global byte offset of the payload: `position + ENTRY_HEADER_BYTES`. */
  payloadPosition: number;
  payloadBytes: number;
  term: number;
}

/**
 * Computes the application's section of a new start record from where the log will start: the
 * first entry kept and its global byte position. Raft never looks inside the bytes.
 */
export type StartAppSource = (first: { index: number; position: number }) => Uint8Array;

export interface LogStorage extends LogReader {
  /** Persisted term and vote (and the last persisted commit). */
  hardState(): HardState;
  /** Write term/vote/commit atomically; durable when this returns (fsync). */
  setHardState(state: HardState): void;
  /**
   * Optional: the committed configuration as last saved (undefined: never changed, the bootstrap
   * peers hold), and saving it (durable when this returns). A storage without them cannot take
   * part in membership changes: the node runner refuses Ready.membership on it.
   */
  membership?(): Membership | undefined;
  setMembership?(m: Membership): void;
  /**
   * Append entries. If `entries[0].index <= lastIndex()` the conflicting suffix from that index
   * is truncated first. Indexes must be contiguous with what remains.
   */
  append(entries: readonly Entry[]): void;
  /** Remove every entry with index >= `fromIndex`. Never below `firstIndex()`'s start. */
  truncateSuffix(fromIndex: number): void;
  /**
   * Delete whole data segments that only hold entries with index < `beforeIndex` (retention).
   * Returns the new first index. Never deletes the segment holding the last entry. When the
   * head moves, `startApp` is asked, before anything changes, for the application's section of
   * the new start record (kept with it, handed to followers reset to it, read back by
   * `startAppData`); it may throw to leave the log as it was. Without it the new start has none.
   */
  deleteHead(beforeIndex: number, startApp?: StartAppSource): number;
  /** Discard everything and continue after `start` (a follower that fell behind the head). */
  reset(start: LogStart): void;
  /**
   * The application's section of the current start record: what `deleteHead`'s `startApp`
   * returned, or what the leader's start carried after a reset; undefined when it has none.
   */
  startAppData(): Uint8Array | undefined;
  /** Make every appended entry durable (msync/fsync of the dirty range). */
  sync(): void;
  /** Index of the last entry known to be durable. */
  durableIndex(): number;
  /** Location of an entry's bytes, or undefined when not present. */
  locate(index: number): EntryLocation | undefined;
  /** A view (no copy) of `length` bytes at global byte offset `position` in the data files. */
  slice(position: number, length: number): Buffer;
  /** Global byte offset where the next entry's header would be written. */
  endPosition(): number;
  /**
   * The largest payload one entry may carry: `append` refuses a larger one
   * (ERR_LOG_ENTRY_TOO_LARGE), so the node runner refuses it at proposal time instead.
   */
  maxEntryBytes(): number;
  /**
   * Optional: pre-fault up to `bytes` of free space after the write position (and create the
   * next segment when near the end of one) so appends avoid first-touch page faults. The node
   * runner calls it when idle; storages without mapped files leave it out.
   */
  warmAhead?(bytes: number): void;
  /**
   * Optional: whether entries written but not synced before the last stop may have been lost, or
   * replaced by older bytes (the previous process did not close the log and ran in another boot:
   * a power loss or OS crash; or a recovery from one was not finished). Under async flush the
   * node then starts in the core's recovering state. Storages that cannot tell leave it out.
   */
  mayHaveLostWrites?(): boolean;
  /** Optional: a leader has confirmed the log; clears what `mayHaveLostWrites` reported. */
  markRecovered?(): void;
  /**
   * Optional: a sync failed, so the kernel may have dropped the unsynced pages even without a
   * reboot; the next open reports `mayHaveLostWrites`. Best effort on a failing disk.
   */
  markLostWritesSuspected?(): void;
  close(): void;
}
