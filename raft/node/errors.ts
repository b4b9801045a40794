// Typed operating errors of the Raft node runner. One class per stable code; a caller
// switches on `code`, never on the message text.

import type { NodeId } from '../core/types.js';
import type { BatchOutcome } from './batch-outcome.js';
import { CodedError } from '../coded-error.js';

export type RaftNodeErrorCode =
  | 'ERR_RAFT_NOT_LEADER'
  | 'ERR_RAFT_LEADER_TRANSFERRING'
  | 'ERR_RAFT_PROPOSAL_TIMEOUT'
  | 'ERR_RAFT_PROPOSAL_DROPPED'
  | 'ERR_RAFT_PROPOSAL_PARTLY_COMMITTED'
  | 'ERR_RAFT_PROPOSAL_OUTCOME_UNKNOWN'
  | 'ERR_RAFT_PROPOSAL_TOO_LARGE'
  | 'ERR_RAFT_TERM_TOO_LARGE'
  | 'ERR_RAFT_BUSY'
  | 'ERR_RAFT_NODE_CLOSED'
  | 'ERR_RAFT_READ_INDEX_TIMEOUT'
  | 'ERR_RAFT_TRANSFER_FAILED'
  | 'ERR_RAFT_BAD_PEERS'
  | 'ERR_RAFT_STORAGE_FAILED'
  | 'ERR_RAFT_RECOVERY_BLOCKED'
  | 'ERR_RAFT_MEMBERSHIP_CHANGE_REFUSED';

export class RaftNodeError extends CodedError<RaftNodeErrorCode> {}

/** This node is not the leader; `leaderHint` names the leader it knows of, or ''. */
export class NotLeaderError extends RaftNodeError {
  override name = 'NotLeaderError';
  constructor(readonly leaderHint: NodeId | '', code: 'ERR_RAFT_NOT_LEADER' | 'ERR_RAFT_LEADER_TRANSFERRING' = 'ERR_RAFT_NOT_LEADER') {
    super(code, code === 'ERR_RAFT_NOT_LEADER'
      ? `not the leader${leaderHint ? `; the leader is ${leaderHint}` : '; no leader known'}`
      : `leadership is being transferred${leaderHint ? ` (leader ${leaderHint})` : ''}`);
  }
}

/**
 * The leader refused a membership change: `reason` is the core's code (`change-in-progress`: a
 * change is in flight or this leader has not committed in its term yet, retry shortly;
 * `invalid-change`: not a valid single-server change of the current configuration;
 * `learner-behind`: the learner is too far behind to be promoted yet; `transferring`).
 */
export class MembershipChangeError extends RaftNodeError {
  override name = 'MembershipChangeError';
  constructor(readonly reason: string, detail: string) {
    super('ERR_RAFT_MEMBERSHIP_CHANGE_REFUSED', `membership change refused (${reason}): ${detail}`);
  }
}

/**
 * A proposal that was appended and did not wholly commit. `outcome` says entry by entry what is
 * known (see BatchOutcome): a caller that shares one batch among several requests answers each
 * from the entries holding its data (entryOutcome), never from the batch's one error.
 */
export abstract class ProposalOutcomeError extends RaftNodeError {
  constructor(
    code: 'ERR_RAFT_PROPOSAL_TIMEOUT' | 'ERR_RAFT_PROPOSAL_DROPPED' | 'ERR_RAFT_PROPOSAL_PARTLY_COMMITTED' | 'ERR_RAFT_PROPOSAL_OUTCOME_UNKNOWN',
    readonly outcome: BatchOutcome,
    message: string,
  ) {
    super(code, message);
  }

  /** The batch's last index. */
  get index(): number {
    return this.outcome.lastIndex;
  }

  get term(): number {
    return this.outcome.term;
  }
}

function span(from: number, to: number): string {
  return from === to ? `entry ${from}` : `entries ${from}..${to}`;
}

function committedPart(o: BatchOutcome): string {
  return o.committedThrough >= o.firstIndex ? `${span(o.firstIndex, o.committedThrough)} committed; ` : '';
}

/** The proposal was appended but not committed in time; what is not known committed may still commit. */
export class ProposalTimeoutError extends ProposalOutcomeError {
  override name = 'ProposalTimeoutError';
  constructor(outcome: BatchOutcome, timeoutMs: number) {
    super('ERR_RAFT_PROPOSAL_TIMEOUT', outcome, `${committedPart(outcome)}${span(outcome.committedThrough + 1, outcome.lastIndex)} (term ${outcome.term}) not committed within ${timeoutMs} ms; it may still commit`);
  }
}

/** Another term's entries took every index of the proposal: no entry of it committed. */
export class ProposalDroppedError extends ProposalOutcomeError {
  override name = 'ProposalDroppedError';
  constructor(outcome: BatchOutcome) {
    super('ERR_RAFT_PROPOSAL_DROPPED', outcome, `${span(outcome.firstIndex, outcome.lastIndex)} of term ${outcome.term} replaced by a later leader; not committed`);
  }
}

/** A prefix of the batch committed, a later leader replaced the rest. */
export class ProposalPartlyCommittedError extends ProposalOutcomeError {
  override name = 'ProposalPartlyCommittedError';
  constructor(outcome: BatchOutcome) {
    super('ERR_RAFT_PROPOSAL_PARTLY_COMMITTED', outcome, `${committedPart(outcome)}${span(outcome.droppedFrom, outcome.lastIndex)} of term ${outcome.term} replaced by a later leader; not committed`);
  }
}

/** Some entries of the batch left the log (compaction, reset) before their outcome could be read. */
export class ProposalOutcomeUnknownError extends ProposalOutcomeError {
  override name = 'ProposalOutcomeUnknownError';
  constructor(outcome: BatchOutcome) {
    super('ERR_RAFT_PROPOSAL_OUTCOME_UNKNOWN', outcome, `${committedPart(outcome)}${span(outcome.committedThrough + 1, Math.min(outcome.droppedFrom - 1, outcome.lastIndex))} of term ${outcome.term} left the log before this node saw them committed; outcome unknown`);
  }
}

/** The error a decided, not wholly committed outcome is reported with. */
export function proposalFailure(o: BatchOutcome): ProposalOutcomeError {
  if (o.committedThrough < o.firstIndex && o.droppedFrom === o.firstIndex) return new ProposalDroppedError(o);
  if (o.droppedFrom === o.committedThrough + 1) return new ProposalPartlyCommittedError(o);
  return new ProposalOutcomeUnknownError(o);
}

/**
 * Where entry `offset` (0 = the first) of a failed batch proposal stands: committed at
 * `index`/`term`, or the error that entry alone failed with. Errors raised before anything was
 * appended (not leader, busy, closed) apply to every entry as they are.
 */
export function entryOutcome(err: unknown, offset: number): { index: number; term: number } | { error: unknown } {
  if (!(err instanceof ProposalOutcomeError)) return { error: err };
  const o = err.outcome;
  const index = o.firstIndex + offset;
  if (index <= o.committedThrough) return { index, term: o.term };
  if (index >= o.droppedFrom) {
    return { error: err instanceof ProposalDroppedError ? err : new ProposalDroppedError({ firstIndex: index, lastIndex: index, term: o.term, committedThrough: index - 1, droppedFrom: index }) };
  }
  // Between the two: a timeout or a lost log head left this entry's outcome unknown.
  return { error: err };
}

/** A payload larger than the log can store as one entry; refused before anything is appended. */
export class ProposalTooLargeError extends RaftNodeError {
  override name = 'ProposalTooLargeError';
  constructor(readonly payloadBytes: number, readonly maxEntryBytes: number) {
    super('ERR_RAFT_PROPOSAL_TOO_LARGE', `a proposed entry has ${payloadBytes} payload bytes; the log stores at most ${maxEntryBytes} per entry`);
  }
}

export class BusyError extends RaftNodeError {
  override name = 'BusyError';
  constructor(pending: number, limit: number) {
    super('ERR_RAFT_BUSY', `${pending} proposals pending, the limit is ${limit}; retry later`);
  }
}

export class NodeClosedError extends RaftNodeError {
  override name = 'NodeClosedError';
  constructor() {
    super('ERR_RAFT_NODE_CLOSED', 'the raft node is closed');
  }
}

/**
 * The persisted Raft state carries a term above MAX_TERM (adopted from a faulty message before
 * such terms were refused): the node could never campaign, so it refuses to start instead.
 */
export class TermTooLargeError extends RaftNodeError {
  override name = 'TermTooLargeError';
  constructor(readonly term: number, readonly maxTerm: number) {
    super('ERR_RAFT_TERM_TOO_LARGE', `the persisted Raft state has term ${term}, above the largest term ${maxTerm}: this node could never take part in an election again, so it does not start (see "Terms" in docs/raft.md)`);
  }
}

/**
 * A write, sync or hard-state write of the durable log failed (disk full, I/O error): the node
 * stopped (fail-stop) rather than run on with a log it cannot trust. Every pending proposal is
 * rejected with it; whether a proposal in flight committed is unknown (it may have, on the other
 * replicas). `during` names the step that failed; `cause` is the storage's error.
 */
export class StorageFailedError extends RaftNodeError {
  override name = 'StorageFailedError';
  constructor(readonly during: string, cause: unknown) {
    super('ERR_RAFT_STORAGE_FAILED', `the raft log failed during ${during}: ${(cause as Error)?.message ?? String(cause)}; this node stopped`, { cause });
  }
}

/**
 * This node restarted after a power loss or OS crash under async flush, so it neither votes nor
 * campaigns until a leader has brought its log up to date, and no leader has been heard from for
 * `waitedMs`. If a majority of the group lost power at once, no leader can be elected until a
 * node that kept its data comes back, or an operator accepts the possible loss (docs/operations.md).
 */
export class RecoveryBlockedError extends RaftNodeError {
  override name = 'RecoveryBlockedError';
  constructor(readonly waitedMs: number) {
    super('ERR_RAFT_RECOVERY_BLOCKED', `recovering after a power loss under async flush: no leader heard from for ${waitedMs} ms; this node does not vote or campaign until a leader that kept its data brings it up to date`);
  }
}
