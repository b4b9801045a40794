// What only a leader knows and does: per-follower progress, pipelined replication with flow
// control, the commit rule, heartbeats, read-index confirmation and leadership transfer. It
// lives exactly as long as one leadership: created on election, dropped on stepping down.
import { assert } from './assert.js';
import { MessageType, type Message, type ReadState } from './messages.js';
import { Progress, SendNeed } from './progress.js';
import { majority, quorumIndex } from './quorum.js';
import type { RaftLog } from './raft-log.js';
import { decodeReadSeq, encodeReadSeq, ReadOnly } from './read-only.js';
import type { Membership } from './membership.js';
import type { Entry, NodeId } from './types.js';

/** What the leader needs from the Raft instance that hosts it. */
export interface LeaderHost {
  readonly id: NodeId;
  /** The committed configuration's voters (may change while leading) and learners. */
  voters(): readonly NodeId[];
  learners(): readonly NodeId[];
  readonly log: RaftLog;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly maxAppBytes: number;
  term(): number;
  commit(): number;
  setCommit(index: number): void;
  /** The leader's own durable index (it counts itself only this far). */
  selfMatch(): number;
  /** A message with every field present, from this node at its term. */
  message(type: MessageType, to: NodeId, index: number): Message;
  send(m: Message): void;
  readState(rs: ReadState): void;
  /** The committed configuration, sent with a Reset. */
  membership(): Membership;
}

const EMPTY_ENTRIES: Entry[] = [];

export class Leader {
  /** Every other member, voter or learner; only voters count toward commits, reads and check-quorum. */
  readonly progress = new Map<NodeId, Progress>();
  /** Leadership transfer in progress: proposals are refused until it ends. */
  transferee: NodeId | '' = '';
  private readonly reads = new ReadOnly();
  /**
   * Followers must hear of the commit at the next flush: set when a committed membership change
   * moved it. Any other commit advance rides on the next App, or on the empty one
   * announceCommit sends at the next tick (see there).
   */
  private commitBroadcast = false;
  private scratch: number[] = [];
  /** Removed members still sent to until they hold the change that removed them. */
  private readonly departing = new Set<NodeId>();
  private departIndex = 0;

  constructor(private readonly host: LeaderHost) {
    this.membershipChanged();
  }

  /** The committed configuration changed: track new members (probing), drop removed ones. */
  membershipChanged(): void {
    const h = this.host;
    // Every member hears of a committed change at once (a removed leader steps down after this flush).
    this.commitBroadcast = true;
    const members = new Set<NodeId>([...h.voters(), ...h.learners()]);
    members.delete(h.id);
    // A removed node is still replicated to ("departing", counted nowhere) until it holds the
    // change, then told the commit once, so it learns of its removal; at most until the next
    // election timeout ends (dropDepartures), so a dead one is not probed forever.
    this.departIndex = h.commit();
    for (const p of this.progress.keys()) if (!members.has(p)) this.departing.add(p);
    for (const p of [...this.departing]) this.maybeDepart(p);
    const next = h.log.lastIndex() + 1;
    for (const p of members) {
      if (this.progress.has(p)) continue;
      this.progress.set(p, new Progress(next, h.maxInflightMsgs, h.maxInflightBytes));
    }
    if (this.transferee !== '' && !this.progress.has(this.transferee)) this.transferee = '';
    this.scratch = new Array<number>(h.voters().length).fill(0);
  }

  /** New entries were appended: every follower should get them at the next flush. */
  entriesAppended(): void {
    this.markAllSend(SendNeed.Entries);
  }

  /** Every election timeout: departing nodes not done by now (dead, or far behind) are dropped. */
  dropDepartures(): void {
    for (const p of this.departing) this.progress.delete(p);
    this.departing.clear();
  }

  /** A departing node that holds the change learns the commit, and is dropped. */
  private maybeDepart(p: NodeId): void {
    const pr = this.progress.get(p);
    if (pr !== undefined && pr.match < this.departIndex) return;
    if (pr !== undefined) {
      const m = this.host.message(MessageType.Heartbeat, p, 0);
      m.commit = Math.min(this.host.commit(), pr.match);
      this.host.send(m);
    }
    this.progress.delete(p);
    this.departing.delete(p);
  }

  /** Whether a majority was heard from since the last call (check-quorum); resets the marks. */
  quorumActive(): boolean {
    const voters = this.host.voters();
    let active = voters.includes(this.host.id) ? 1 : 0;
    for (const [p, pr] of this.progress) {
      if (pr.recentActive && voters.includes(p)) active++;
      pr.recentActive = false;
    }
    return active >= majority(voters.length);
  }

  transfer(to: NodeId): void {
    if (this.transferee === to) return;
    this.transferee = to;
    const pr = this.progress.get(to)!;
    if (pr.match === this.host.log.lastIndex()) this.host.send(this.host.message(MessageType.TimeoutNow, to, 0));
    else pr.sendNeed = SendNeed.EvenEmpty;
  }

  /** Raises commit to what a quorum matched, counting only entries of this term (§5.4.2). */
  maybeCommit(): boolean {
    const h = this.host;
    const s = this.scratch;
    let i = 0;
    for (const p of h.voters()) s[i++] = p === h.id ? h.selfMatch() : this.progress.get(p)!.match;
    const q = quorumIndex(s);
    const term = h.term();
    const commit = h.commit();
    if (q <= commit || h.log.term(q) !== term) return false;
    const firstInTerm = h.log.term(commit) !== term;
    h.setCommit(q);
    if (firstInTerm) {
      this.reads.release(q);
      if (h.voters().length === 1) this.confirmReads();
    }
    return true;
  }

  onAppendResponse(m: Message): void {
    const pr = this.progress.get(m.from)!;
    pr.recentActive = true;
    if (m.reject) {
      this.onReject(pr, m);
      return;
    }
    const updated = pr.maybeUpdate(m.index);
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'reset') {
      if (pr.match >= pr.resetIndex) pr.becomeReplicate();
    } else pr.inflights.freeTo(m.index);
    if (updated) this.maybeCommit();
    if (this.departing.has(m.from)) {
      this.maybeDepart(m.from);
      return;
    }
    if (pr.sendNeed < SendNeed.Entries) pr.sendNeed = SendNeed.Entries;
    if (m.from === this.transferee && pr.match === this.host.log.lastIndex()) {
      this.host.send(this.host.message(MessageType.TimeoutNow, m.from, 0));
    }
  }

  private onReject(pr: Progress, m: Message): void {
    // Stale rejections (duplicates, reordering) are recognised by the index they refer to.
    if (pr.state === 'reset') return;
    if (pr.state === 'replicate' && m.index <= pr.match) return;
    if (pr.state === 'probe' && m.index !== pr.next - 1) return;
    const log = this.host.log;
    let next = m.rejectHint;
    if (m.logTerm > 0) {
      // Jump over the whole conflicting term: if we hold entries of it, resume after our last one.
      const k = log.lastIndexWithTermAtMost(m.logTerm, m.index);
      if (k >= log.logStart().index && log.term(k) === m.logTerm) next = k + 1;
    }
    next = Math.max(1, Math.min(next, m.index));
    pr.becomeProbe();
    // A follower that rejects at or below its match lost entries it acknowledged (a power
    // loss under async flush). Raft assumes that never happens; believing it keeps the
    // follower from being stuck forever, and a lower match only delays commits.
    if (next <= pr.match) pr.match = next - 1;
    pr.next = next;
    pr.sendNeed = SendNeed.EvenEmpty;
  }

  onHeartbeatResponse(m: Message): void {
    const pr = this.progress.get(m.from)!;
    pr.recentActive = true;
    if (m.reject && pr.state !== 'reset') {
      // The follower restarted after a power loss and may have lost what it acknowledged: only
      // up to `index` is it known to match. Probe again from there if we believed more.
      if (pr.match > m.index) {
        pr.match = m.index;
        pr.becomeProbe();
      }
      // Even when it seems to hold everything: only an App can confirm its log and end its recovery.
      pr.sendNeed = SendNeed.EvenEmpty;
    }
    pr.probeSent = false;
    if (pr.state === 'reset') pr.becomeProbe();
    else if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.match < this.host.log.lastIndex()) pr.sendNeed = SendNeed.EvenEmpty;
    const seq = decodeReadSeq(m.context);
    if (seq > pr.readAck) {
      pr.readAck = seq;
      this.confirmReads();
    }
  }

  onReadRequest(from: NodeId, context: Uint8Array): void {
    const h = this.host;
    if (h.log.term(h.commit()) !== h.term()) {
      this.reads.wait(from, context);
      return;
    }
    this.reads.add(from, context, h.commit());
    if (h.voters().length === 1) this.confirmReads();
  }

  private confirmReads(): void {
    const h = this.host;
    const s = this.scratch;
    let i = 0;
    for (const p of h.voters()) s[i++] = p === h.id ? Number.MAX_SAFE_INTEGER : this.progress.get(p)!.readAck;
    const acked = quorumIndex(s);
    for (const r of this.reads.confirm(acked)) {
      if (r.from === h.id) h.readState({ index: r.index, context: r.context });
      else {
        const resp = h.message(MessageType.ReadIndexResp, r.from, r.index);
        resp.context = r.context;
        h.send(resp);
      }
    }
  }

  private markAllSend(need: SendNeed): void {
    for (const pr of this.progress.values()) if (pr.sendNeed < need) pr.sendNeed = need;
  }

  /** Turns the deferred sends of this turn into messages: one batch per follower per flush. */
  flush(): void {
    if (this.commitBroadcast) {
      this.commitBroadcast = false;
      this.markAllSend(SendNeed.EvenEmpty);
    }
    for (const [p, pr] of this.progress) {
      if (pr.sendNeed === SendNeed.None) continue;
      const evenEmpty = pr.sendNeed === SendNeed.EvenEmpty;
      pr.sendNeed = SendNeed.None;
      this.sendAppend(p, pr, evenEmpty);
    }
    if (this.reads.needsHeartbeat) {
      this.reads.needsHeartbeat = false;
      this.broadcastHeartbeat();
    }
  }

  private sendAppend(to: NodeId, pr: Progress, evenEmpty: boolean): void {
    const h = this.host;
    const log = h.log;
    // Bounded: each pass either returns or adds one message to the inflight window.
    for (let pass = 0; pass <= h.maxInflightMsgs; pass++) {
      if (pr.paused()) return;
      const prevIndex = pr.next - 1;
      const prevTerm = log.term(prevIndex);
      if (prevTerm === undefined) {
        this.sendReset(to, pr);
        return;
      }
      const last = log.lastIndex();
      const entries = pr.next <= last ? log.entries(pr.next, last + 1, h.maxAppBytes) : EMPTY_ENTRIES;
      assert(pr.next > last || entries.length > 0, `entries from ${pr.next} must be readable`);
      if (entries.length === 0 && !evenEmpty) return;
      const m = h.message(MessageType.App, to, prevIndex);
      m.logTerm = prevTerm;
      m.entries = entries;
      pr.sentCommit = m.commit;
      // Nothing matched yet (a joiner, or the first probe of a term) in a group whose members
      // changed: the configuration rides along so the receiver learns every member's address,
      // this leader's included, and can answer a leader it was never told about. The receiver
      // takes only the addresses from it; a group never changed has nothing to tell.
      if (pr.match === 0 && h.membership().index > 0) m.membership = h.membership();
      h.send(m);
      evenEmpty = false;
      if (pr.state === 'probe') {
        pr.probeSent = true;
        return;
      }
      if (entries.length === 0) return;
      let bytes = 0;
      for (let i = 0; i < entries.length; i++) bytes += entries[i]!.payload.length;
      const lastSent = entries[entries.length - 1]!.index;
      pr.next = lastSent + 1;
      pr.inflights.add(lastSent, bytes);
    }
  }

  private sendReset(to: NodeId, pr: Progress): void {
    const start = this.host.log.logStart();
    const m = this.host.message(MessageType.Reset, to, start.index);
    m.logTerm = start.term;
    m.start = start;
    m.membership = this.host.membership();
    this.host.send(m);
    pr.becomeReset(start.index);
    pr.next = start.index + 1;
  }

  /**
   * Called every tick: a follower not yet told the commit index it could apply (up to what it
   * matches) gets an empty App at this flush. So a commit reaches followers on the next App when
   * sends keep coming (a sync producer's next send carries the previous one's commit), and within
   * one tick otherwise, instead of costing every commit an extra App and answer per follower
   * (two of a follower's four wake-ups per sync send).
   */
  announceCommit(): void {
    const commit = this.host.commit();
    for (const pr of this.progress.values()) {
      if (pr.sentCommit < Math.min(commit, pr.match) && pr.sendNeed < SendNeed.EvenEmpty) pr.sendNeed = SendNeed.EvenEmpty;
    }
  }

  broadcastHeartbeat(): void {
    const h = this.host;
    const seq = this.reads.newestSeq();
    const context = seq > 0 ? encodeReadSeq(seq) : undefined;
    const commit = h.commit();
    for (const [p, pr] of this.progress) {
      const m = h.message(MessageType.Heartbeat, p, 0);
      // A follower may not yet hold entries up to our commit; it may only commit what it matches.
      m.commit = Math.min(commit, pr.match);
      if (context !== undefined) m.context = context;
      h.send(m);
    }
  }
}
