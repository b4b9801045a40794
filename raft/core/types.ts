// The vocabulary shared by the pure Raft core, the log storage, the transport, the node runner
// and the simulator. Plain data only: no I/O and no behaviour lives here.

/** A node id as written in `dLegerPeers` (`n0`, `n1`, ...). */
export type NodeId = string;

export const EntryType = {
  /** An application payload (for the broker: one or more RocketMQ message records). */
  Normal: 0,
  /** Appended by a new leader so that it can commit entries of earlier terms. */
  NoOp: 1,
  /** A membership change: the payload is the whole new configuration (membership.ts). */
  Config: 2,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** One Raft log entry. `index` starts at 1; `payload` is carried as raw bytes end to end. */
export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  payload: Uint8Array;
}

/**
 * The largest term a node accepts (2^48). Every election adds one to the term, and a term past
 * 2^53 - 1 is no longer an exact number: a peer that adopted a term near that (from a faulty or
 * hostile message) could never campaign again, and the term is persisted, so restarts would not
 * help. Refusing larger terms at the door leaves 2^53 - 2^48 elections of room, and 2^48
 * elections take thousands of years even at one per millisecond.
 */
export const MAX_TERM = 2 ** 48;

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  term: number;
  /** The node voted for in `term`, or '' for none. */
  vote: NodeId;
  /** Commit index known to this node; persisted lazily (it can always be re-learned). */
  commit: number;
}

export const Role = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/**
 * The point a log starts from when its head was deleted or replaced: the entry at `index`
 * (term `term`) is the last one no longer present, the first present entry is `index + 1`.
 * `data` is opaque to the core; the storage uses it (for example to carry the byte position
 * at which `index + 1` starts so physical offsets agree on every replica).
 */
export interface LogStart {
  index: number;
  term: number;
  data: Uint8Array;
}

/**
 * Read access to the durable log that the core consults. Implemented by the mmap log storage
 * and by the simulator's in-memory storage. Calls are synchronous and must not block on the
 * network; a mapped-memory read is fine.
 */
export interface LogReader {
  /** Index of the first entry present (`logStart().index + 1`). */
  firstIndex(): number;
  /** Index of the last entry present, or `logStart().index` when the log is empty. */
  lastIndex(): number;
  /** Term of entry `index`; for `index == logStart().index` the start term; else undefined. */
  term(index: number): number | undefined;
  /**
   * Entries in [lo, hi), at least one if lo < hi and lo is present, and stopping before the
   * total payload bytes would exceed `maxBytes`.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Where the log starts (see LogStart). */
  logStart(): LogStart;
}
