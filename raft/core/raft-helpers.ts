// Small pieces of raft.ts kept apart so the state machine stays readable: which message types are
// answers, rebuilding the membership tracker at start, and the status snapshot.
import { assert } from './assert.js';
import type { Leader } from './leader.js';
import type { Membership, MembershipTracker } from './membership.js';
import { MessageType } from './messages.js';
import type { RaftStatus } from './raft-config.js';
import type { RaftLog } from './raft-log.js';
import type { NodeId, Role } from './types.js';

/** Answers to something this node sent: only taken from nodes it knows. */
export function isResponse(type: MessageType): boolean {
  return (
    type === MessageType.AppResp ||
    type === MessageType.HeartbeatResp ||
    type === MessageType.VoteResp ||
    type === MessageType.PreVoteResp ||
    type === MessageType.ReadIndex ||
    type === MessageType.ReadIndexResp
  );
}

/** Bytes read per pass when scanning the log tail for Config entries. */
const SCAN_BYTES = 1 << 20;

/**
 * Finds the Config entries above the recovered commit (below it, the persisted configuration
 * already covers them: Ready.membership is saved before the hard state carrying that commit).
 * Those at or below the commit take effect; the rest stay pending.
 */
export function recoverMembership(log: RaftLog, members: MembershipTracker, commit: number): void {
  let lo = Math.max(commit, members.committed.index, log.logStart().index) + 1;
  const last = log.lastIndex();
  while (lo <= last) {
    const batch = log.entries(lo, last + 1, SCAN_BYTES);
    assert(batch.length > 0, `entries from ${lo} must be readable`);
    members.appended(batch);
    lo += batch.length;
  }
  members.committedTo(commit);
}

export function statusOf(
  id: NodeId,
  role: Role,
  term: number,
  leader: NodeId | '',
  vote: NodeId | '',
  commit: number,
  applied: number,
  log: RaftLog,
  recovering: boolean,
  lead: Leader | undefined,
  selfMatch: number,
  members: Membership,
  counters: { electionsStarted: number; preVotesLost: number },
): RaftStatus {
  const progress: RaftStatus['progress'] = {};
  if (lead !== undefined) {
    for (const [p, pr] of lead.progress) progress[p] = { match: pr.match, next: pr.next, state: pr.state, inflight: pr.inflights.size(), active: pr.recentActive };
    progress[id] = { match: selfMatch, next: log.lastIndex() + 1, state: 'replicate', inflight: 0, active: true };
  }
  return {
    id,
    role,
    term,
    leader,
    vote,
    commit,
    applied,
    firstIndex: log.firstIndex(),
    lastIndex: log.lastIndex(),
    recovering,
    voters: members.voters,
    learners: members.learners,
    membershipIndex: members.index,
    progress,
    electionsStarted: counters.electionsStarted,
    preVotesLost: counters.preVotesLost,
  };
}
