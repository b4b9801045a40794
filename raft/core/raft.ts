// The pure Raft state machine: messages, ticks and proposals in; a Ready batch out. This file
// turns inputs into transitions: the term rules of every message, elections with pre-vote and
// check-quorum, membership proposals, and the routing of each message to the role's step
// function. The state and the role transitions live in raft-state.ts, the leader's side of
// replication in leader.ts, the follower's (App, Heartbeat, Reset) in follower.ts, the
// Ready/advance bookkeeping in ready-tracker.ts, membership in membership.ts, the config and
// result types in raft-config.ts. It does no I/O, reads no clock and draws randomness only from
// `config.random`. Expected outcomes are returned values, never throws.
import { assert } from './assert.js';
import { countVotes, grantsVote, voteRequests } from './election.js';
import { applyChange, encodeMembership, type Membership, type MembershipChange } from './membership.js';
import { MessageType, type Message, type Ready } from './messages.js';
import type { MembershipProposeResult, ProposeResult, StepError } from './raft-config.js';
import { isResponse } from './raft-helpers.js';
import { RaftState } from './raft-state.js';
import { EntryType, Role, type Entry, type NodeId } from './types.js';
import { validateMessage } from './validate-message.js';

// The types moved to raft-config.ts; re-exported so `import { RaftConfig } from './raft.js'` keeps working.
export type { MembershipProposeResult, ProposeResult, RaftConfig, RaftStatus, StepError } from './raft-config.js';

export class Raft extends RaftState {
  // ---- inputs ---------------------------------------------------------------------------

  tick(): void {
    if (this.role === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  step(m: Message): StepError | undefined {
    const problem = validateMessage(m, this.id);
    if (problem !== undefined) return problem;
    // Requests are taken from any node (a joining learner or a stale bootstrap list may not know
    // the leader yet); answers only from nodes this node asked.
    if (isResponse(m.type) && (this.lead?.progress.has(m.from) ?? this.members.isKnown(m.from, this.id)) !== true) {
      return { code: 'unknown-peer', detail: `type ${m.type} from ${m.from}, not a member` };
    }
    if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        // The check-quorum lease: while a leader is heard from, a rejoining node with a higher
        // term cannot disrupt it. A transfer (TimeoutNow) is the one sanctioned exception.
        const inLease = this.checkQuorum && this.leader !== '' && this.electionElapsed < this.electionTicks;
        if (inLease && m.force !== true) return undefined;
      }
      if (m.type === MessageType.PreVote || (m.type === MessageType.PreVoteResp && !m.reject)) {
        // A pre-vote asks about a future term; neither side adopts it.
      } else {
        const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Reset;
        this.becomeFollower(m.term, fromLeader ? m.from : '');
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.App || m.type === MessageType.Heartbeat)) {
        // A deposed leader must learn the newer term, or with pre-vote it and its followers could
        // stay stuck at the old term forever.
        this.out.send(this.message(MessageType.AppResp, m.from, 0));
      } else if (m.type === MessageType.PreVote) {
        const resp = this.message(MessageType.PreVoteResp, m.from, 0);
        resp.reject = true;
        this.out.send(resp);
      }
      return { code: 'stale-term', detail: `type ${m.type} from ${m.from} at term ${m.term} < ${this.term}` };
    }
    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return undefined;
    }
    if (m.type === MessageType.App && this.role !== Role.Leader) {
      const conflict = this.follower.checkAppendAgainstCommit(m);
      if (conflict !== undefined) return conflict;
    }
    this.stepRole(m);
    return undefined;
  }

  propose(payloads: readonly Uint8Array[]): ProposeResult {
    const lead = this.lead;
    // A leader whose removal just committed takes nothing more: it steps down at the next flush.
    if (lead === undefined || this.stepDownAfterFlush) return { ok: false, code: 'not-leader', leaderHint: lead === undefined ? this.leader : '' };
    if (lead.transferee !== '') return { ok: false, code: 'transferring', leaderHint: this.leader };
    assert(payloads.length > 0, 'propose needs at least one payload');
    const first = this.log.lastIndex() + 1;
    const entries = new Array<Entry>(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      entries[i] = { index: first + i, term: this.term, type: EntryType.Normal, payload: payloads[i]! };
    }
    this.log.append(entries, true);
    lead.entriesAppended();
    return { ok: true, firstIndex: first, lastIndex: first + payloads.length - 1, term: this.term };
  }

  /**
   * Appends one single-server change. Refused (`change-in-progress`) until this leader has
   * committed an entry of its own term and while another change is above the commit: the two
   * rules that keep every configuration in use adjacent to the committed one.
   */
  proposeMembership(change: MembershipChange): MembershipProposeResult {
    const lead = this.lead;
    if (lead === undefined || !this.members.isVoter(this.id)) return { ok: false, code: 'not-leader', leaderHint: this.leader, detail: `leader is ${this.leader || 'unknown'}` };
    if (lead.transferee !== '') return { ok: false, code: 'transferring', leaderHint: this.leader, detail: `transferring to ${lead.transferee}` };
    if (!this.unsafeConcurrentChanges && (this.log.term(this.commit) !== this.term || this.members.hasPending())) {
      return { ok: false, code: 'change-in-progress', leaderHint: this.id, detail: 'a change or this term\'s first commit is pending' };
    }
    const next = applyChange(this.unsafeConcurrentChanges ? this.members.latest() : this.members.committed, change);
    if (!next.ok) return { ...next, leaderHint: this.id };
    if (change.kind === 'promote') {
      const match = lead.progress.get(change.node)?.match ?? 0;
      if (this.log.lastIndex() - match > this.maxPromoteLagEntries) {
        return { ok: false, code: 'learner-behind', leaderHint: this.id, detail: `${change.node} matches ${match}, ${this.log.lastIndex() - match} entries behind (limit ${this.maxPromoteLagEntries})` };
      }
    }
    const index = this.log.lastIndex() + 1;
    this.log.append([{ index, term: this.term, type: EntryType.Config, payload: encodeMembership(next) }], true);
    lead.entriesAppended();
    return { ok: true, index, term: this.term };
  }

  /** The committed configuration (in force), and whether a change is in flight. */
  membership(): Membership & { pending: boolean } {
    return { ...this.members.committed, pending: this.members.hasPending() };
  }

  transferLeadership(to: NodeId): { ok: true } | { ok: false; code: string; detail: string } {
    const lead = this.lead;
    if (lead === undefined) return { ok: false, code: 'not-leader', detail: `leader is ${this.leader || 'unknown'}` };
    if (!this.members.isVoter(to)) return { ok: false, code: 'unknown-peer', detail: `${to} is not a voter` };
    if (to === this.id) return { ok: false, code: 'already-leader', detail: `${to} already leads` };
    if (lead.transferee === to) return { ok: true };
    // The transfer aborts after one election timeout, counted from now.
    this.electionElapsed = 0;
    lead.transfer(to);
    return { ok: true };
  }

  readIndex(context: Uint8Array): { ok: true } | { ok: false; code: 'not-leader'; leaderHint: NodeId | '' } {
    if (this.lead !== undefined) {
      this.lead.onReadRequest(this.id, context);
      return { ok: true };
    }
    if (this.role === Role.Follower && this.leader !== '') {
      const m = this.message(MessageType.ReadIndex, this.leader, 0);
      m.context = context;
      this.out.send(m);
      return { ok: true };
    }
    return { ok: false, code: 'not-leader', leaderHint: this.leader };
  }

  persisted(index: number): void {
    assert(Number.isSafeInteger(index) && index >= 0, `persisted index ${index}`);
    this.selfPersisted = Math.min(index, this.log.lastIndex());
    this.lead?.maybeCommit();
  }

  // ---- outputs --------------------------------------------------------------------------

  hasReady(): boolean {
    this.flushLeader();
    return this.out.hasReady();
  }

  ready(): Ready {
    this.flushLeader();
    return this.out.ready();
  }

  advance(rd: Ready): void {
    this.out.advance(rd);
  }

  /**
   * `pre-vote`: ask first without disturbing anyone (if enabled); `election`: a real vote;
   * `transfer`: a real vote that voters answer even inside the check-quorum lease.
   */
  private campaign(kind: 'pre-vote' | 'election' | 'transfer'): void {
    const pre = kind === 'pre-vote' && this.preVote;
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    this.votes.set(this.id, true);
    if (this.tally() !== 'pending') return;
    const term = pre ? this.term + 1 : this.term;
    for (const m of voteRequests(this.id, this.members.committed.voters, pre, kind === 'transfer', term, this.commit, this.log)) this.out.send(m);
  }

  /** Counts votes and acts on the outcome; returns it. */
  private tally(): 'won' | 'lost' | 'pending' {
    const outcome = countVotes(this.votes, this.members.committed.voters);
    if (outcome === 'won') {
      if (this.role === Role.PreCandidate) this.campaign('election');
      else this.becomeLeader();
    } else if (outcome === 'lost') {
      this.becomeFollower(this.term, '');
    }
    return outcome;
  }

  // ---- ticks ----------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      // A recovering node never campaigns; it only forgets a leader it no longer hears from.
      // Nor does a learner or a node whose removal is in its log: it only forgets a silent leader.
      if (!this.guard.active && this.members.mayCampaign(this.id)) this.campaign('pre-vote');
      else if (this.leader !== '') this.becomeFollower(this.term, '');
    }
  }

  private tickLeader(): void {
    const lead = this.lead!;
    this.electionElapsed++;
    this.heartbeatElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      lead.dropDepartures();
      if (this.checkQuorum && !lead.quorumActive()) {
        this.becomeFollower(this.term, '');
        return;
      }
      // A transfer not done within an election timeout is abandoned.
      lead.transferee = '';
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      lead.broadcastHeartbeat();
    }
    lead.announceCommit();
  }

  // ---- step functions -------------------------------------------------------------------

  protected stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App: {
        this.electionElapsed = 0;
        this.leader = m.from;
        const matched = this.follower.onAppend(m);
        if (matched !== undefined) this.guard.onAppendMatched(matched, m.commit, this.commit, this.term);
        return;
      }
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.leader = m.from;
        if (this.guard.active) this.follower.onHeartbeatRecovering(m, this.guard.confirmedMatch(this.term, this.commit));
        else this.follower.onHeartbeat(m);
        return;
      case MessageType.Reset:
        this.electionElapsed = 0;
        this.leader = m.from;
        this.follower.onReset(m);
        // The leader's committed configuration: the Config entries below its start are gone.
        if (m.membership !== undefined) this.members.adopt(m.membership);
        return;
      case MessageType.TimeoutNow:
        if (!this.guard.active && this.members.mayCampaign(this.id)) this.campaign('transfer');
        return;
      case MessageType.ReadIndexResp:
        this.out.readState({ index: m.index, context: m.context! });
        return;
      default:
        return;
    }
  }

  protected stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.follower.onAppend(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.follower.onHeartbeat(m);
        return;
      case MessageType.Reset:
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case MessageType.PreVoteResp:
      case MessageType.VoteResp: {
        const mine = this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
        if (m.type !== mine) return;
        if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
        this.tally();
        return;
      }
      default:
        return;
    }
  }

  protected stepLeader(m: Message): void {
    const lead = this.lead!;
    switch (m.type) {
      case MessageType.AppResp:
        lead.onAppendResponse(m);
        return;
      case MessageType.HeartbeatResp:
        lead.onHeartbeatResponse(m);
        return;
      case MessageType.ReadIndex:
        lead.onReadRequest(m.from, m.context!);
        return;
      default:
        return;
    }
  }

  // ---- vote requests --------------------------------------------------------------------

  private handleVoteRequest(m: Message): void {
    const pre = m.type === MessageType.PreVote;
    const resp = this.message(pre ? MessageType.PreVoteResp : MessageType.VoteResp, m.from, 0);
    const s = { term: this.term, vote: this.vote, leader: this.leader, recovering: this.guard.active, log: this.log };
    if (grantsVote(m, s)) {
      resp.term = m.term;
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      resp.reject = true;
    }
    this.out.send(resp);
  }
}
