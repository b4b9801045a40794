// The state a Raft node keeps and the transitions between roles; raft.ts (which extends it) turns
// inputs (ticks, messages, proposals) into those transitions. Split from raft.ts only to keep each
// file readable: nothing else extends this class. It does no I/O, reads no clock and draws
// randomness only from `config.random`.
import { assert } from './assert.js';
import { Follower } from './follower.js';
import { Leader, type LeaderHost } from './leader.js';
import { blankMessage, type Message, type MessageType } from './messages.js';
import { DEFAULT_MAX_PROMOTE_LAG_ENTRIES, type RaftConfig, type RaftStatus } from './raft-config.js';
import { RaftLog } from './raft-log.js';
import { ReadyTracker } from './ready-tracker.js';
import { RecoveryGuard } from './recovery-guard.js';
import { EntryType, MAX_TERM, Role, type NodeId } from './types.js';
import { bootstrapMembership, MembershipTracker } from './membership.js';
import { recoverMembership, statusOf } from './raft-helpers.js';

const EMPTY_PAYLOAD = new Uint8Array(0);

export abstract class RaftState {
  readonly id: NodeId;
  /** The committed configuration and the changes in the log above it (membership.ts). */
  protected readonly members: MembershipTracker;
  protected readonly maxPromoteLagEntries: number;
  protected readonly unsafeConcurrentChanges: boolean;
  protected readonly log: RaftLog;
  protected readonly electionTicks: number;
  protected readonly heartbeatTicks: number;
  protected readonly random: () => number;
  protected readonly preVote: boolean;
  protected readonly checkQuorum: boolean;

  protected term: number;
  protected vote: NodeId | '';
  protected leader: NodeId | '' = '';
  protected role: Role = Role.Follower;
  protected commit: number;
  /** The driver's log is durable up to here (a leader counts itself only this far). */
  protected selfPersisted: number;

  /** Counters for operators (status()); they change no decision. */
  protected electionsStarted = 0;
  protected preVotesLost = 0;

  protected electionElapsed = 0;
  protected heartbeatElapsed = 0;
  protected randomizedElectionTimeout = 0;
  protected readonly votes = new Map<NodeId, boolean>();
  protected stepDownAfterFlush = false;
  /** Present exactly while this node leads. */
  protected lead: Leader | undefined;
  protected readonly leaderHost: LeaderHost;
  protected readonly follower: Follower;
  /** Active while recovering after a power loss (recovery-guard.ts). */
  protected readonly guard: RecoveryGuard;

  /** What the next Ready carries; set up once the initial role is known. */
  protected readonly out: ReadyTracker;

  protected stepRole: (m: Message) => void;

  constructor(config: RaftConfig) {
    const { id, peers, hardState } = config;
    // A joining node need not be among the bootstrap peers: it learns its role from the log.
    assert(new Set(peers).size === peers.length && peers.length > 0, 'peers must be distinct and not empty');
    assert(Number.isInteger(config.heartbeatTicks) && config.heartbeatTicks >= 1, 'heartbeatTicks >= 1');
    assert(Number.isInteger(config.electionTicks) && config.electionTicks > config.heartbeatTicks, 'electionTicks > heartbeatTicks');
    assert(config.maxInflightMsgs >= 1 && config.maxInflightBytes >= 1 && config.maxAppBytes >= 1, 'positive flow-control limits');
    // The node runner refuses such a state with a typed error first (ERR_RAFT_TERM_TOO_LARGE).
    assert(Number.isSafeInteger(hardState.term) && hardState.term >= 0 && hardState.term <= MAX_TERM, `persisted term ${hardState.term} outside 0..${MAX_TERM}`);
    this.id = id;
    this.log = new RaftLog(config.log);
    this.members = new MembershipTracker(config.membership ?? bootstrapMembership(peers));
    this.maxPromoteLagEntries = config.maxPromoteLagEntries ?? DEFAULT_MAX_PROMOTE_LAG_ENTRIES;
    this.unsafeConcurrentChanges = config.unsafeTestConcurrentConfigChanges === true;
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.random = config.random;
    this.preVote = config.preVote;
    this.checkQuorum = config.checkQuorum;
    this.leaderHost = {
      id,
      voters: () => this.members.committed.voters,
      learners: () => this.members.committed.learners,
      log: this.log,
      maxInflightMsgs: config.maxInflightMsgs,
      maxInflightBytes: config.maxInflightBytes,
      maxAppBytes: config.maxAppBytes,
      term: () => this.term,
      commit: () => this.commit,
      setCommit: (index) => this.setCommit(index),
      selfMatch: () => Math.min(this.selfPersisted, this.log.lastIndex()),
      message: (type, to, index) => this.message(type, to, index),
      send: (m) => this.out.sendNow(m),
      readState: (rs) => this.out.readState(rs),
      membership: () => this.members.committed,
    };
    this.follower = new Follower({
      log: this.log,
      commit: () => this.commit,
      setCommit: (index) => this.setCommit(index),
      persistedIndex: () => this.selfPersisted,
      setPersistedIndex: (index) => {
        this.selfPersisted = index;
      },
      skipReportsThrough: (index) => this.out.skipReportsThrough(index),
      message: (type, to, index) => this.message(type, to, index),
      send: (m) => this.out.send(m),
    });

    const lastIndex = this.log.lastIndex();
    const startIndex = this.log.logStart().index;
    assert(config.applied <= lastIndex, `applied ${config.applied} is beyond the last log index ${lastIndex}`);
    this.term = hardState.term;
    this.vote = hardState.vote;
    // The commit is persisted lazily and may trail; it can never exceed the log (after an
    // unsafe power loss it could), and everything applied or deleted from the head is committed.
    this.commit = Math.max(Math.min(hardState.commit, lastIndex), config.applied, startIndex);
    this.selfPersisted = Math.min(config.persisted ?? lastIndex, lastIndex);
    recoverMembership(this.log, this.members, this.commit);
    this.log.listener = this.members;
    this.guard = new RecoveryGuard(config.recovering === true && this.members.committed.voters.length > 1, this.commit);
    this.stepRole = this.stepFollower;
    this.becomeFollower(this.term, '');
    this.out = new ReadyTracker(
      {
        log: this.log,
        term: () => this.term,
        vote: () => this.vote,
        // While recovering, nothing past the durable commit reaches the application.
        commit: () => this.guard.applyLimit(this.commit),
        role: () => this.role,
        leader: () => this.leader,
        persistedIndex: () => this.selfPersisted,
        membership: () => this.members.committed,
      },
      hardState,
      Math.max(config.applied, startIndex),
    );
  }

  status(): RaftStatus {
    return statusOf(this.id, this.role, this.term, this.leader, this.vote, this.commit, this.out.reported(), this.log, this.guard.active, this.lead, this.leaderHost.selfMatch(), this.members.committed, { electionsStarted: this.electionsStarted, preVotesLost: this.preVotesLost });
  }

  // ---- commit and membership -------------------------------------------------------------

  protected setCommit(index: number): void {
    this.commit = index;
    if (this.members.committedTo(index)) this.membershipChanged();
  }

  /** The committed configuration changed: the leader's progress follows it. */
  protected membershipChanged(): void {
    const lead = this.lead;
    if (lead === undefined) return;
    lead.membershipChanged();
    // A removed leader steps down once this turn's commit broadcast has gone out (flushLeader),
    // so the others learn the change from it rather than only from the next leader.
    if (!this.members.isVoter(this.id)) this.stepDownAfterFlush = true;
  }

  protected flushLeader(): void {
    this.lead?.flush();
    if (this.stepDownAfterFlush) {
      this.stepDownAfterFlush = false;
      if (this.lead !== undefined) this.becomeFollower(this.term, '');
    }
  }

  // ---- role transitions -----------------------------------------------------------------

  protected resetTerm(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.leader = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(this.random() * this.electionTicks);
    this.votes.clear();
    this.lead = undefined;
  }

  protected becomeFollower(term: number, leader: NodeId | ''): void {
    if (this.role === Role.PreCandidate) this.preVotesLost++;
    this.resetTerm(term);
    this.role = Role.Follower;
    this.leader = leader;
    this.stepRole = this.stepFollower;
  }

  protected becomePreCandidate(): void {
    assert(this.role !== Role.Leader, 'a leader does not pre-campaign');
    // Keeps term and vote: a pre-candidacy that fails must leave no trace.
    if (this.role === Role.PreCandidate) this.preVotesLost++;
    const term = this.term;
    this.resetTerm(term);
    this.role = Role.PreCandidate;
    this.stepRole = this.stepCandidate;
  }

  protected becomeCandidate(): void {
    assert(this.role !== Role.Leader, 'a leader does not campaign');
    this.electionsStarted++;
    this.resetTerm(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.stepRole = this.stepCandidate;
  }

  protected becomeLeader(): void {
    assert(this.role === Role.Candidate, 'only a candidate becomes leader');
    this.resetTerm(this.term);
    this.role = Role.Leader;
    this.leader = this.id;
    this.stepRole = this.stepLeader;
    const lead = new Leader(this.leaderHost);
    this.lead = lead;
    // The no-op lets the leader commit (and so learn the commit index of) earlier terms (§5.4.2).
    const next = this.log.lastIndex() + 1;
    this.log.append([{ index: next, term: this.term, type: EntryType.NoOp, payload: EMPTY_PAYLOAD }], true);
    lead.entriesAppended();
  }

  protected message(type: MessageType, to: NodeId, index: number): Message {
    return blankMessage(type, this.id, to, this.term, index, this.commit);
  }

  protected abstract stepFollower(m: Message): void;
  protected abstract stepCandidate(m: Message): void;
  protected abstract stepLeader(m: Message): void;
}
