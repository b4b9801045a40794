// The arithmetic of elections, kept apart from the role transitions in raft.ts: which votes
// count, what a campaign sends, and whether a vote request may be granted.
import { blankMessage, MessageType, type Message } from './messages.js';
import { voteOutcome, type VoteOutcome } from './quorum.js';
import type { RaftLog } from './raft-log.js';
import type { NodeId } from './types.js';

/** Counts only `voters`' answers: a learner's or a removed node's vote is ignored. */
export function countVotes(votes: ReadonlyMap<NodeId, boolean>, voters: readonly NodeId[]): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const p of voters) {
    const v = votes.get(p);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  return voteOutcome(granted, rejected, voters.length);
}

/** The (pre-)vote requests of a campaign at `term`, one per other voter. */
export function voteRequests(self: NodeId, voters: readonly NodeId[], pre: boolean, force: boolean, term: number, commit: number, log: RaftLog): Message[] {
  const out: Message[] = [];
  const lastIndex = log.lastIndex();
  const lastTerm = log.lastTerm();
  for (const p of voters) {
    if (p === self) continue;
    const m = blankMessage(pre ? MessageType.PreVote : MessageType.Vote, self, p, term, lastIndex, commit);
    m.logTerm = lastTerm;
    if (force) m.force = true;
    out.push(m);
  }
  return out;
}

export interface VoterState {
  term: number;
  vote: NodeId | '';
  leader: NodeId | '';
  /** Recovering after a power loss (recovery-guard.ts). */
  recovering: boolean;
  log: RaftLog;
}

/**
 * Whether a (pre-)vote request may be granted. A recovering node may have lost entries it
 * acknowledged: its vote could elect a candidate missing committed entries, so it refuses all.
 * Any node answers, member or not: only the candidate's own voters are counted (countVotes).
 */
export function grantsVote(m: Message, s: VoterState): boolean {
  const pre = m.type === MessageType.PreVote;
  const canVote = !s.recovering && (s.vote === m.from || (s.vote === '' && s.leader === '') || (pre && m.term > s.term));
  return canVote && s.log.isUpToDate(m.index, m.logTerm);
}
