// The pure Raft state machine: messages, ticks and proposals in; a Ready batch out. It owns the
// terms, votes and roles: elections with pre-vote and check-quorum, the role transitions and the
// routing of each message to the role's step function. The leader's side of replication lives in
// leader.ts, the follower's (App, Heartbeat, Reset) in follower.ts, the Ready/advance bookkeeping
// in ready-tracker.ts, the config and result types in raft-config.ts. It does no I/O, reads no
// clock and draws randomness only from `config.random`. Expected outcomes are returned values,
// never throws.
import { assert } from './assert.js';
import { Follower } from './follower.js';
import { Leader, type LeaderHost } from './leader.js';
import { MessageType, type Message, type Ready } from './messages.js';
import { voteOutcome } from './quorum.js';
import type { ProposeResult, RaftConfig, RaftStatus, StepError } from './raft-config.js';
import { RaftLog } from './raft-log.js';
import { ReadyTracker } from './ready-tracker.js';
import { RecoveryGuard } from './recovery-guard.js';
import { EntryType, MAX_TERM, Role, type Entry, type NodeId } from './types.js';
import { validateMessage } from './validate-message.js';

// The types moved to raft-config.ts; re-exported so `import { RaftConfig } from './raft.js'` keeps working.
export type { ProposeResult, RaftConfig, RaftStatus, StepError } from './raft-config.js';

const EMPTY_ENTRIES: Entry[] = [];
const EMPTY_PAYLOAD = new Uint8Array(0);

export class Raft {
  readonly id: NodeId;
  private readonly voters: readonly NodeId[];
  private readonly voterSet: ReadonlySet<NodeId>;
  /** The other voters, in config order. */
  private readonly others: readonly NodeId[];
  private readonly log: RaftLog;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly random: () => number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;

  private term: number;
  private vote: NodeId | '';
  private leader: NodeId | '' = '';
  private role: Role = Role.Follower;
  private commit: number;
  /** The driver's log is durable up to here (a leader counts itself only this far). */
  private selfPersisted: number;

  /** Counters for operators (status()); they change no decision. */
  private electionsStarted = 0;
  private preVotesLost = 0;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  /** Present exactly while this node leads. */
  private lead: Leader | undefined;
  private readonly leaderHost: LeaderHost;
  private readonly follower: Follower;
  /** Active while recovering after a power loss (recovery-guard.ts). */
  private readonly guard: RecoveryGuard;

  /** What the next Ready carries; set up once the initial role is known. */
  private readonly out: ReadyTracker;

  private stepRole: (m: Message) => void;

  constructor(config: RaftConfig) {
    const { id, peers, hardState } = config;
    assert(peers.includes(id), `peers must include the node itself (${id})`);
    assert(new Set(peers).size === peers.length, 'peers must be distinct');
    assert(Number.isInteger(config.heartbeatTicks) && config.heartbeatTicks >= 1, 'heartbeatTicks >= 1');
    assert(Number.isInteger(config.electionTicks) && config.electionTicks > config.heartbeatTicks, 'electionTicks > heartbeatTicks');
    assert(config.maxInflightMsgs >= 1 && config.maxInflightBytes >= 1 && config.maxAppBytes >= 1, 'positive flow-control limits');
    assert(hardState.vote === '' || peers.includes(hardState.vote), `vote for unknown peer ${hardState.vote}`);
    // The node runner refuses such a state with a typed error first (ERR_TERM_TOO_LARGE).
    assert(Number.isSafeInteger(hardState.term) && hardState.term >= 0 && hardState.term <= MAX_TERM, `persisted term ${hardState.term} outside 0..${MAX_TERM}`);
    this.id = id;
    this.voters = peers.slice();
    this.voterSet = new Set(peers);
    this.others = peers.filter((p) => p !== id);
    this.log = new RaftLog(config.log);
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.random = config.random;
    this.preVote = config.preVote;
    this.checkQuorum = config.checkQuorum;
    this.leaderHost = {
      id,
      voters: this.voters,
      others: this.others,
      log: this.log,
      maxInflightMsgs: config.maxInflightMsgs,
      maxInflightBytes: config.maxInflightBytes,
      maxAppBytes: config.maxAppBytes,
      term: () => this.term,
      commit: () => this.commit,
      setCommit: (index) => {
        this.commit = index;
      },
      selfMatch: () => Math.min(this.selfPersisted, this.log.lastIndex()),
      message: (type, to, index) => this.message(type, to, index),
      send: (m) => this.out.sendNow(m),
      readState: (rs) => this.out.readState(rs),
    };
    this.follower = new Follower({
      log: this.log,
      commit: () => this.commit,
      setCommit: (index) => {
        this.commit = index;
      },
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
    this.guard = new RecoveryGuard(config.recovering === true && peers.length > 1, this.commit);
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
      },
      hardState,
      Math.max(config.applied, startIndex),
    );
  }

  // ---- inputs ---------------------------------------------------------------------------

  tick(): void {
    if (this.role === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  step(m: Message): StepError | undefined {
    const problem = validateMessage(m, this.id, this.voterSet);
    if (problem !== undefined) return problem;
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
    if (lead === undefined) return { ok: false, code: 'not-leader', leaderHint: this.leader };
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

  transferLeadership(to: NodeId): { ok: true } | { ok: false; code: string; detail: string } {
    const lead = this.lead;
    if (lead === undefined) return { ok: false, code: 'not-leader', detail: `leader is ${this.leader || 'unknown'}` };
    if (!this.voterSet.has(to)) return { ok: false, code: 'unknown-peer', detail: `${to} is not a voter` };
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
    this.lead?.flush();
    return this.out.hasReady();
  }

  ready(): Ready {
    this.lead?.flush();
    return this.out.ready();
  }

  advance(rd: Ready): void {
    this.out.advance(rd);
  }

  status(): RaftStatus {
    const progress: RaftStatus['progress'] = {};
    if (this.lead !== undefined) {
      for (const [id, pr] of this.lead.progress) {
        progress[id] = { match: pr.match, next: pr.next, state: pr.state, inflight: pr.inflights.size(), active: pr.recentActive };
      }
      progress[this.id] = { match: this.leaderHost.selfMatch(), next: this.log.lastIndex() + 1, state: 'replicate', inflight: 0, active: true };
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      vote: this.vote,
      commit: this.commit,
      applied: this.out.reported(),
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      recovering: this.guard.active,
      progress,
      electionsStarted: this.electionsStarted,
      preVotesLost: this.preVotesLost,
    };
  }

  // ---- role transitions -----------------------------------------------------------------

  private resetTerm(term: number): void {
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

  private becomeFollower(term: number, leader: NodeId | ''): void {
    if (this.role === Role.PreCandidate) this.preVotesLost++;
    this.resetTerm(term);
    this.role = Role.Follower;
    this.leader = leader;
    this.stepRole = this.stepFollower;
  }

  private becomePreCandidate(): void {
    assert(this.role !== Role.Leader, 'a leader does not pre-campaign');
    // Keeps term and vote: a pre-candidacy that fails must leave no trace.
    if (this.role === Role.PreCandidate) this.preVotesLost++;
    const term = this.term;
    this.resetTerm(term);
    this.role = Role.PreCandidate;
    this.stepRole = this.stepCandidate;
  }

  private becomeCandidate(): void {
    assert(this.role !== Role.Leader, 'a leader does not campaign');
    this.electionsStarted++;
    this.resetTerm(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.stepRole = this.stepCandidate;
  }

  private becomeLeader(): void {
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

  /**
   * `pre-vote`: ask first without disturbing anyone (if enabled); `election`: a real vote;
   * `transfer`: a real vote that voters answer even inside the check-quorum lease.
   */
  private campaign(kind: 'pre-vote' | 'election' | 'transfer'): void {
    const pre = kind === 'pre-vote' && this.preVote;
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    const type = pre ? MessageType.PreVote : MessageType.Vote;
    const term = pre ? this.term + 1 : this.term;
    this.votes.set(this.id, true);
    if (this.tally() !== 'pending') return;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const p of this.others) {
      const m = this.message(type, p, 0);
      m.term = term;
      m.index = lastIndex;
      m.logTerm = lastTerm;
      if (kind === 'transfer') m.force = true;
      this.out.send(m);
    }
  }

  /** Counts votes and acts on the outcome; returns it. */
  private tally(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const v of this.votes.values()) {
      if (v) granted++;
      else rejected++;
    }
    const outcome = voteOutcome(granted, rejected, this.voters.length);
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
      if (!this.guard.active) this.campaign('pre-vote');
      else if (this.leader !== '') this.becomeFollower(this.term, '');
    }
  }

  private tickLeader(): void {
    const lead = this.lead!;
    this.electionElapsed++;
    this.heartbeatElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
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
  }

  // ---- step functions -------------------------------------------------------------------

  private stepFollower(m: Message): void {
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
        return;
      case MessageType.TimeoutNow:
        if (!this.guard.active) this.campaign('transfer');
        return;
      case MessageType.ReadIndexResp:
        this.out.readState({ index: m.index, context: m.context! });
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
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
        this.follower.onReset(m);
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

  private stepLeader(m: Message): void {
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
    // A recovering node may have lost entries it acknowledged: its vote could elect a candidate
    // missing committed entries, so it refuses every vote and pre-vote.
    const canVote =
      !this.guard.active && (this.vote === m.from || (this.vote === '' && this.leader === '') || (pre && m.term > this.term));
    const resp = this.message(pre ? MessageType.PreVoteResp : MessageType.VoteResp, m.from, 0);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
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

  // ---- plumbing -------------------------------------------------------------------------

  /** A message with every field present, so all messages share one object shape. */
  private message(type: MessageType, to: NodeId, index: number): Message {
    return {
      type,
      from: this.id,
      to,
      term: this.term,
      index,
      logTerm: 0,
      commit: this.commit,
      reject: false,
      rejectHint: 0,
      entries: EMPTY_ENTRIES,
    };
  }
}
