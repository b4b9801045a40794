// The messages Raft peers exchange, and the Ready batch the core hands to its driver.
// The transport encodes the header fields with msgpackr and carries entry payloads as raw bytes.

import type { Membership } from './membership.js';
import type { Entry, HardState, LogStart, NodeId, Role } from './types.js';

export const MessageType = {
  /** AppendEntries: `index`/`logTerm` describe the entry before `entries`. */
  App: 1,
  /** Answer to App: `index` is the follower's last matching index, or on reject the hint. */
  AppResp: 2,
  Vote: 3,
  VoteResp: 4,
  PreVote: 5,
  PreVoteResp: 6,
  /** Carries the leader's commit (bounded by what the follower is known to match). */
  Heartbeat: 7,
  HeartbeatResp: 8,
  /** Leadership transfer: the receiver campaigns at once, skipping pre-vote. */
  TimeoutNow: 9,
  /** Tells a follower behind the leader's first index to discard its log and restart at `start`. */
  Reset: 10,
  /** A follower forwarding a ReadIndex request to the leader, and its answer. */
  ReadIndex: 11,
  ReadIndexResp: 12,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: index of the entry before `entries`. AppResp: see MessageType.AppResp. Votes: candidate's last index. */
  index: number;
  /** App: term of entry `index`. Votes: candidate's last term. AppResp reject: conflict term (0 = none). */
  logTerm: number;
  /** App/Heartbeat: leader commit. */
  commit: number;
  /**
   * AppResp/VoteResp/PreVoteResp. HeartbeatResp: the follower is recovering after a power loss
   * and asks to be probed again from `index` (its commit index).
   */
  reject: boolean;
  /** AppResp reject: first index of the conflict term, or the follower's last index + 1. */
  rejectHint: number;
  /** App only; may be empty. */
  entries: Entry[];
  /** Reset only. */
  start?: LogStart;
  /** Reset only: the leader's committed configuration (the Config entries before `start` are gone). */
  membership?: Membership;
  /** Heartbeat/HeartbeatResp/ReadIndex/ReadIndexResp: an opaque request id for read index. */
  context?: Uint8Array;
  /**
   * Vote/PreVote only: the campaign was forced by TimeoutNow (leadership transfer), so voters
   * answer even while they still hear from a leader (the check-quorum lease).
   */
  force?: boolean;
}

const EMPTY_ENTRIES: Entry[] = [];

/** A message with every field present, so all messages share one object shape. */
export function blankMessage(type: MessageType, from: NodeId, to: NodeId, term: number, index: number, commit: number): Message {
  return { type, from, to, term, index, logTerm: 0, commit, reject: false, rejectHint: 0, entries: EMPTY_ENTRIES };
}

/** A linearizable read that may now be served: apply up to `index`, then read. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/**
 * The batch of work the core asks its driver to do. The driver must, in this order:
 *   1. if `reset`, reset the log to it; persist `entries` (truncating any conflicting suffix);
 *      persist `hardState` if present (durably: fsync) — before step 2;
 *   2. send `messages` (messages in `messagesAfterPersist` only after step 1 is durable);
 *   3. apply the committed range (commitFrom..commitTo) in order;
 *   4. call `advance(ready)`.
 */
export interface Ready {
  /** Present when term, vote or commit changed since the last Ready. */
  hardState?: HardState;
  /**
   * Present when the committed configuration changed: persist it durably (`setMembership`)
   * BEFORE `hardState`, so a recovered commit never covers a Config entry whose configuration
   * was not saved (recovery scans only the log above the recovered commit).
   */
  membership?: Membership;
  /** Entries to append to the durable log (the first may overwrite a conflicting suffix). */
  entries: Entry[];
  /** Present when the log must be discarded and restarted (follower behind the leader's head). */
  reset?: LogStart;
  /**
   * Messages that do not depend on this Ready's persistence (a leader's App to followers may
   * leave in parallel with its own append, as in Raft §10.2.1).
   */
  messages: Message[];
  /** Messages (votes, AppResp) that may leave only once this Ready's hardState/entries are durable. */
  messagesAfterPersist: Message[];
  /**
   * Sync flush mode: the log must be synced (then `persisted(lastIndex)` reported) before
   * `messagesAfterPersist` leave. True when this Ready appends or resets, and also when an
   * acknowledgement covers entries not yet reported durable (e.g. recovered after a process
   * kill without a sync). `setHardState` is durable on its own and does not set this.
   */
  mustSync: boolean;
  /** Newly committed range, inclusive; empty when commitTo < commitFrom. */
  commitFrom: number;
  commitTo: number;
  /** Present when the role or known leader changed. */
  softState?: { role: Role; leader: NodeId | ''; term: number };
  readStates: ReadState[];
}
