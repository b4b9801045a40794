// The Ready/advance bookkeeping: what the core has produced since the last Ready (messages,
// read states) and what the driver was last told (hard state, soft state, the commit handed out),
// so that `ready()` carries exactly the changes and `advance()` marks them done. It decides which
// messages may leave before this Ready is durable. The consensus state itself stays in raft.ts and
// is read through the host.
import { assert } from './assert.js';
import { MessageType, type Message, type ReadState, type Ready } from './messages.js';
import type { Membership } from './membership.js';
import type { RaftLog } from './raft-log.js';
import { Role, type Entry, type HardState, type NodeId } from './types.js';

/** The consensus state the bookkeeping reads from the Raft instance that hosts it. */
export interface ReadyHost {
  readonly log: RaftLog;
  term(): number;
  vote(): NodeId | '';
  commit(): number;
  role(): Role;
  leader(): NodeId | '';
  /** The driver's log is durable up to here. */
  persistedIndex(): number;
  /** The committed configuration. */
  membership(): Membership;
}

const EMPTY_ENTRIES: Entry[] = [];

export class ReadyTracker {
  /** Highest commit index handed to the driver (or skipped by a reset). */
  private reportedIndex: number;
  private msgs: Message[] = [];
  private msgsAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  private prevHardState: HardState;
  private prevSoftRole: Role;
  private prevSoftLeader: NodeId | '';
  private outstanding = false;
  private prevMembership: Membership;

  /** `hardState` as recovered; the soft state is the host's current one, taken as already known. */
  constructor(private readonly host: ReadyHost, hardState: HardState, reported: number) {
    this.reportedIndex = reported;
    this.prevHardState = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
    this.prevSoftRole = host.role();
    this.prevSoftLeader = host.leader();
    this.prevMembership = host.membership();
  }

  /** The last commit index handed to the application (what it has applied, or will). */
  reported(): number {
    return this.reportedIndex;
  }

  /** Commits at or below `index` are never handed out (a reset restarted the log after them). */
  skipReportsThrough(index: number): void {
    this.reportedIndex = Math.max(this.reportedIndex, index);
  }

  /**
   * A leader's messages need nothing of its pending persistence (its term was persisted before
   * it could win). Everything a non-leader says may depend on this Ready's term, vote or
   * entries, except pre-votes, which change nothing.
   */
  send(m: Message): void {
    if (this.host.role() === Role.Leader || m.type === MessageType.PreVote || m.type === MessageType.PreVoteResp) {
      this.msgs.push(m);
    } else {
      this.msgsAfterPersist.push(m);
    }
  }

  /** A message that may leave before this Ready is durable (the leader's traffic). */
  sendNow(m: Message): void {
    this.msgs.push(m);
  }

  readState(rs: ReadState): void {
    this.readStates.push(rs);
  }

  hasReady(): boolean {
    const h = this.host;
    return (
      this.msgs.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      h.log.hasUnstable() ||
      h.log.pendingReset() !== undefined ||
      h.commit() > this.reportedIndex ||
      this.readStates.length > 0 ||
      this.hardStateChanged() ||
      h.membership() !== this.prevMembership ||
      h.role() !== this.prevSoftRole ||
      h.leader() !== this.prevSoftLeader
    );
  }

  ready(): Ready {
    assert(!this.outstanding, 'ready() called again before advance()');
    const h = this.host;
    const log = h.log;
    this.outstanding = true;
    const entries = log.hasUnstable() ? log.unstableEntries() : EMPTY_ENTRIES;
    const reset = log.pendingReset();
    const rd: Ready = {
      entries,
      messages: this.msgs,
      messagesAfterPersist: this.msgsAfterPersist,
      mustSync:
        entries.length > 0 ||
        reset !== undefined ||
        (this.msgsAfterPersist.length > 0 && h.persistedIndex() < log.lastIndex()),
      commitFrom: this.reportedIndex + 1,
      commitTo: h.commit(),
      readStates: this.readStates,
    };
    if (reset !== undefined) rd.reset = reset;
    if (h.membership() !== this.prevMembership) rd.membership = h.membership();
    if (this.hardStateChanged()) rd.hardState = { term: h.term(), vote: h.vote(), commit: this.durableCommit() };
    const role = h.role();
    const leader = h.leader();
    if (role !== this.prevSoftRole || leader !== this.prevSoftLeader) {
      rd.softState = { role, leader, term: h.term() };
    }
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.readStates = [];
    return rd;
  }

  advance(rd: Ready): void {
    assert(this.outstanding, 'advance() without ready()');
    this.outstanding = false;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined || rd.reset !== undefined) {
      this.host.log.stableTo(last?.index ?? -1, last?.term ?? -1, rd.reset);
    }
    if (rd.commitTo > this.reportedIndex) this.reportedIndex = rd.commitTo;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    if (rd.membership !== undefined) this.prevMembership = rd.membership;
    if (rd.softState !== undefined) {
      this.prevSoftRole = rd.softState.role;
      this.prevSoftLeader = rd.softState.leader;
    }
  }

  private hardStateChanged(): boolean {
    const p = this.prevHardState;
    const h = this.host;
    return p.term !== h.term() || p.vote !== h.vote() || p.commit !== this.durableCommit();
  }

  /**
   * The commit index as the hard state may record it: never past what the driver reported
   * durable. The hard state is written before this Ready's entries are synced, and a follower
   * may just have replaced an unsynced suffix; recording a commit over entries that a power loss
   * could take back would make a restarted node apply the old entries at those indexes.
   */
  private durableCommit(): number {
    return Math.min(this.host.commit(), Math.max(this.host.persistedIndex(), this.prevHardState.commit));
  }
}
