// Typed operating errors of the Raft node runner. One class per stable code; a caller
// switches on `code`, never on the message text.

import type { NodeId } from '../core/types.js';

export type RaftNodeErrorCode =
  | 'ERR_NOT_LEADER'
  | 'ERR_LEADER_TRANSFERRING'
  | 'ERR_PROPOSAL_TIMEOUT'
  | 'ERR_PROPOSAL_DROPPED'
  | 'ERR_BUSY'
  | 'ERR_NODE_CLOSED'
  | 'ERR_READ_INDEX_TIMEOUT'
  | 'ERR_TRANSFER_FAILED'
  | 'ERR_BAD_PEERS'
  | 'ERR_STORAGE_FAILED'
  | 'ERR_RECOVERY_BLOCKED';

export class RaftNodeError extends Error {
  override name = 'RaftNodeError';
  constructor(
    readonly code: RaftNodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** This node is not the leader; `leaderHint` names the leader it knows of, or ''. */
export class NotLeaderError extends RaftNodeError {
  override name = 'NotLeaderError';
  constructor(readonly leaderHint: NodeId | '', code: 'ERR_NOT_LEADER' | 'ERR_LEADER_TRANSFERRING' = 'ERR_NOT_LEADER') {
    super(code, code === 'ERR_NOT_LEADER'
      ? `not the leader${leaderHint ? `; the leader is ${leaderHint}` : '; no leader known'}`
      : `leadership is being transferred${leaderHint ? ` (leader ${leaderHint})` : ''}`);
  }
}

/** The proposal was appended but not committed in time; it may still commit later. */
export class ProposalTimeoutError extends RaftNodeError {
  override name = 'ProposalTimeoutError';
  constructor(readonly index: number, readonly term: number, timeoutMs: number) {
    super('ERR_PROPOSAL_TIMEOUT', `entry ${index} (term ${term}) not committed within ${timeoutMs} ms; it may still commit`);
  }
}

/** Another term's entry took the proposal's index: the proposal certainly did not commit. */
export class ProposalDroppedError extends RaftNodeError {
  override name = 'ProposalDroppedError';
  constructor(readonly index: number, readonly term: number) {
    super('ERR_PROPOSAL_DROPPED', `entry ${index} of term ${term} was replaced by a later leader; it did not commit`);
  }
}

export class BusyError extends RaftNodeError {
  override name = 'BusyError';
  constructor(pending: number, limit: number) {
    super('ERR_BUSY', `${pending} proposals pending, the limit is ${limit}; retry later`);
  }
}

export class NodeClosedError extends RaftNodeError {
  override name = 'NodeClosedError';
  constructor() {
    super('ERR_NODE_CLOSED', 'the raft node is closed');
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
    super('ERR_STORAGE_FAILED', `the raft log failed during ${during}: ${(cause as Error)?.message ?? String(cause)}; this node stopped`, { cause });
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
    super('ERR_RECOVERY_BLOCKED', `recovering after a power loss under async flush: no leader heard from for ${waitedMs} ms; this node does not vote or campaign until a leader that kept its data brings it up to date`);
  }
}
