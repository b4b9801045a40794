// RaftNode drives the pure core with real time, a durable log and the TCP transport. It owns
// the order of the Ready contract (persist, then send what depends on it, then apply, then
// advance), batches every input of one event-loop turn into one Ready, and turns commits into settled proposal promises. Everything here is I/O and bookkeeping; decisions stay in the core.
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { MembershipChange } from '../core/membership.js';
import type { Message, Ready } from '../core/messages.js';
import { Raft } from '../core/raft.js';
import { MAX_TERM, type NodeId, type Role } from '../core/types.js';
import type { FlushPolicy, LogStorage } from '../storage/log-storage.js';
import { PeerContact, systemClock, type RaftNodeClock, type RaftTransport } from './node-runtime.js';
import { isMemberOf, knownAddresses, membershipAtStart, peersOf, PendingChanges } from './node-membership.js';
import { RecoveryReporter } from './recovery-reporter.js';
import { isFinal, settle, TransferWaits } from './settle.js';
import { LeaderChangeCounter, tcpTransportFor, timedPeriodicSync, timedStep } from './log-timing.js';
import type { BackgroundSyncStorage, QueuedBatch, RaftNodeOptions, RaftNodeStatus, RoleChange, WarmableStorage } from './raft-node-options.js';
import { BusyError, MembershipChangeError, NodeClosedError, NotLeaderError, ProposalTimeoutError, ProposalTooLargeError, RaftNodeError, StorageFailedError, TermTooLargeError } from './errors.js';
import { PendingProposals, type DecidedBatch } from './pending-proposals.js';
import { PendingReads } from './pending-reads.js';

export type { RaftNodeObserver, RaftNodeOptions, RaftNodeStatus, RoleChange } from './raft-node-options.js';

const APPLY_CHUNK_BYTES = 4 * 1024 * 1024;

export class RaftNode extends EventEmitter {
  readonly id: NodeId;
  readonly log: Logger;
  private readonly raft: Raft;
  private readonly transport: RaftTransport;
  private readonly clock: RaftNodeClock;
  private readonly storage: LogStorage;
  private readonly flush: FlushPolicy;
  private readonly tickMs: number;
  private readonly electionTimeoutMs: number;
  private readonly maxPendingEntries: number;
  private readonly proposalTimeoutMs: number;
  private readonly pending: PendingProposals;
  private readonly reads: PendingReads;
  /** Membership changes waiting for their commit (node-membership.ts). */
  private readonly changes: PendingChanges;
  private queuedPayloads: Uint8Array[] = [];
  private queuedBatches: QueuedBatch[] = [];
  private queuedEntries = 0;
  private appliedIndex: number;
  private role: RoleChange;
  /** The last leader this node knew (for the leader-change line: which leader was replaced). */
  private lastLeader: NodeId | '' = '';
  private turnScheduled = false;
  private closed = false;
  private timers: unknown[] = [];
  private readonly warmAheadBytes: number;
  private readonly committedScratch: DecidedBatch[] = [];
  /** Term of a committed index as the log has it now (undefined once it left the log). */
  private readonly termAt = (index: number): number | undefined => this.storage.term(index);
  /** Set when the storage failed and the node stopped itself (see failStop). */
  private fatalError: StorageFailedError | undefined;
  private readonly recovery: RecoveryReporter;
  private readonly transfers: TransferWaits; // one wait per transfer target
  private readonly leaderChanges = new LeaderChangeCounter();
  private resetsInstalled = 0;
  readonly contact = new PeerContact(() => this.clock.now(), () => 3 * this.electionTimeoutMs); // peers last heard (peer-contact.ts)

  constructor(private readonly o: RaftNodeOptions) {
    super();
    this.id = o.id;
    this.storage = o.storage;
    this.clock = o.clock ?? systemClock;
    this.transfers = new TransferWaits(this.clock);
    this.flush = o.flush ?? { mode: 'async', intervalMs: 200 };
    // Fine ticks, many per timeout: the check-quorum lease counts whole ticks, so with coarse ones a
    // follower lagging by under a tick ignores the first pre-vote (a whole extra election timeout). 10 ms x 40: a 400-800 ms randomized timeout and a heartbeat every 100 ms.
    this.tickMs = o.tickMs ?? 10;
    const electionTicks = o.electionTicks ?? 40;
    this.electionTimeoutMs = electionTicks * this.tickMs;
    this.maxPendingEntries = o.maxPendingEntries ?? 100_000;
    this.proposalTimeoutMs = o.proposalTimeoutMs ?? 10_000;
    this.pending = new PendingProposals({ legacyBatchOutcome: o.unsafeTestLegacyBatchOutcome ?? false });
    this.warmAheadBytes = o.warmAheadBytes ?? 32 * 1024 * 1024;
    this.changes = new PendingChanges(this.proposalTimeoutMs);
    this.reads = new PendingReads(o.readIndexTimeoutMs ?? 4 * this.electionTimeoutMs, 10_000);
    const base = o.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
    this.log = base.child({ component: 'raft', nodeId: o.id, group: o.group ?? '' });
    const hardState = o.storage.hardState();
    const lastTerm = o.storage.term(o.storage.lastIndex()) ?? 0;
    if (hardState.term > MAX_TERM || lastTerm > MAX_TERM) throw new TermTooLargeError(Math.max(hardState.term, lastTerm), MAX_TERM);
    this.appliedIndex = o.applied ?? 0;
    const membership = membershipAtStart(o.storage, o.peers.map((p) => p.id), this.log);
    this.raft = new Raft({
      id: o.id,
      peers: o.peers.map((p) => p.id).filter((p) => o.joining !== true || p !== o.id),
      ...(membership !== undefined ? { membership } : {}),
      ...(o.maxPromoteLagEntries !== undefined ? { maxPromoteLagEntries: o.maxPromoteLagEntries } : {}),
      log: o.storage,
      hardState,
      applied: this.appliedIndex,
      electionTicks,
      heartbeatTicks: o.heartbeatTicks ?? 10,
      random: o.random ?? Math.random,
      maxInflightMsgs: o.maxInflightMsgs ?? 256,
      maxInflightBytes: o.maxInflightBytes ?? 32 * 1024 * 1024,
      maxAppBytes: o.maxAppBytes ?? 512 * 1024,
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      persisted: o.storage.durableIndex(),
      // Only async flush acknowledges unsynced entries; under sync flush the log is trusted.
      recovering: this.flush.mode === 'async' && (o.storage.mayHaveLostWrites?.() ?? false),
    });
    this.role = { role: 'follower', leader: '', term: hardState.term };
    const onMessage = this.contact.listen((m: Message): void => this.onMessage(m));
    // A joiner takes connections from members it was not told about until it is a member itself.
    const acceptUnknownPeers = (): boolean => o.joining === true && !isMemberOf(this.raft.membership(), o.id);
    this.transport = o.transport !== undefined ? o.transport(onMessage) : tcpTransportFor(o, base.child({ component: 'raft-transport', nodeId: o.id, group: o.group ?? '' }), onMessage, acceptUnknownPeers);
    for (const p of peersOf(membership)) this.transport.addPeer?.(p);
    // After a power loss under async flush the core starts recovering (recovery-guard.ts); otherwise (sync flush, one voter) the storage's suspicion is cleared now.
    this.recovery = new RecoveryReporter({
      log: this.log,
      status: () => this.raft.status(),
      lastIndex: () => this.storage.lastIndex(),
      leader: () => this.role.leader,
      electionTimeoutMs: this.electionTimeoutMs,
      markRecovered: () => this.storage.mayHaveLostWrites?.() === true && this.persistStep('recovery marker write', () => this.storage.markRecovered?.()),
      emit: (err) => this.emit('recovery-blocked', err),
    });
    if (this.raft.status().recovering) this.recovery.note(this.clock.now());
    else if (o.storage.mayHaveLostWrites?.() === true) o.storage.markRecovered?.();
  }

  /** Starts listening, connecting and ticking. */
  async start(): Promise<void> {
    await this.transport.start();
    this.timers.push(this.clock.setInterval(() => this.onTick(), this.tickMs));
    if (this.flush.mode === 'async') {
      this.timers.push(this.clock.setInterval(() => this.periodicFlush(), this.flush.intervalMs));
    }
    this.log.info({ term: this.role.term, firstIndex: this.storage.firstIndex(), lastIndex: this.storage.lastIndex(), flush: this.flush.mode }, 'raft node started');
    this.scheduleTurn();
  }

  /** Proposes one entry; resolves with its index and term once it is committed. */
  propose(payload: Uint8Array): Promise<{ index: number; term: number }> {
    return this.proposeBatch([payload]).then((r) => ({ index: r.index, term: r.term }));
  }

  /**
   * Proposes one entry per payload, appended contiguously; resolves once every one is committed
   * with `index` = the first entry's index. When not all commit, the rejection (a
   * ProposalOutcomeError) says entry by entry what did (see `entryOutcome`). A payload larger
   * than the log stores as one entry is refused at once (ERR_RAFT_PROPOSAL_TOO_LARGE).
   */
  proposeBatch(payloads: readonly Uint8Array[]): Promise<{ index: number; lastIndex: number; term: number }> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    if (payloads.length === 0) throw new RangeError('proposeBatch needs at least one payload');
    // Refused here, not at the append: an entry the log cannot hold would fail every Ready that carries it, and each new leader would inherit nothing but the same failure.
    const maxEntryBytes = this.storage.maxEntryBytes();
    for (let i = 0; i < payloads.length; i++) {
      if (payloads[i]!.length > maxEntryBytes) return Promise.reject(new ProposalTooLargeError(payloads[i]!.length, maxEntryBytes));
    }
    const inFlight = this.pending.entryCount + this.queuedEntries;
    if (inFlight + payloads.length > this.maxPendingEntries) return Promise.reject(new BusyError(inFlight, this.maxPendingEntries));
    return new Promise((resolve, reject) => {
      for (let i = 0; i < payloads.length; i++) this.queuedPayloads.push(payloads[i]!);
      this.queuedEntries += payloads.length;
      this.queuedBatches.push({ count: payloads.length, deadlineMs: this.clock.now() + this.proposalTimeoutMs, resolve, reject });
      this.scheduleTurn();
    });
  }

  /** Asks for a turn soon (an `onTurn` hook has something to propose). */
  requestTurn(): void {
    this.scheduleTurn();
  }

  /** Resolves with an index such that every entry committed before the call is applied up to it. */
  readIndex(): Promise<number> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    const r = this.reads.add(this.clock.now());
    if (!r.ok) return Promise.reject(r.error);
    const res = this.raft.readIndex(r.context);
    if (!res.ok) this.reads.fail(r.context, new NotLeaderError(res.leaderHint));
    this.scheduleTurn();
    return r.promise;
  }

  /** Asks the leader (this node) to hand leadership to `to`; resolves when `to` is seen leading (TransferWaits). */
  transferLeadership(to: NodeId): Promise<void> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    const res = this.raft.transferLeadership(to);
    if (!res.ok) return Promise.reject(new RaftNodeError('ERR_RAFT_TRANSFER_FAILED', `transfer to ${to}: ${res.code}: ${res.detail}`));
    this.scheduleTurn(); // the core gives up after an election timeout; allow for a slow target
    return this.transfers.wait(to, Math.max(1000, 3 * this.electionTimeoutMs));
  }

  /**
   * Appends one single-server membership change (on the leader); resolves once it is committed,
   * that is in force. Refusals (not leader, a change in flight, an invalid change, a learner
   * too far behind) reject at once with a MembershipChangeError naming the core's reason.
   */
  changeMembership(change: MembershipChange): Promise<{ index: number; term: number }> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    const res = this.raft.proposeMembership({ ...change, knownAddresses: knownAddresses(this.o.peers, change.knownAddresses) });
    if (!res.ok) return Promise.reject(res.code === 'not-leader' ? new NotLeaderError(res.leaderHint) : new MembershipChangeError(res.code, res.detail));
    this.scheduleTurn();
    return this.changes.add(res.index, res.term, this.clock.now() + this.proposalTimeoutMs);
  }

  /** The configuration in force (voters, learners) and whether a change is in flight. */
  membership(): ReturnType<Raft['membership']> {
    return this.raft.membership();
  }

  status(): RaftNodeStatus {
    return { ...this.raft.status(), pendingEntries: this.pending.entryCount + this.queuedEntries, transport: this.transport.stats(), leaderChanges: this.leaderChanges.count, resetsInstalled: this.resetsInstalled };
  }

  /** The last role, leader and term this node reported. */
  roleState(): RoleChange { return this.role; }

  get applied(): number { return this.appliedIndex; }

  /** Stops timers and sockets, fails what is pending, flushes and closes the storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new NodeClosedError();
    this.stopAndFailAll(err);
    await this.transport.close();
    this.storage.sync();
    this.storage.close();
    this.log.info('raft node closed');
  }

  private onMessage(m: Message): void {
    if (this.closed) return;
    // A leader's configuration (a Reset's, or on its first App to a node) says where to answer.
    if (m.membership?.addresses !== undefined) for (const p of peersOf(m.membership)) this.transport.addPeer?.(p);
    const err = this.raft.step(m);
    if (err && err.code !== 'stale-term') this.log.warn({ code: err.code, detail: err.detail, from: m.from, type: m.type }, 'message rejected by raft core');
    this.scheduleTurn();
  }

  private onTick(): void {
    this.raft.tick();
    const now = this.clock.now();
    const expired: DecidedBatch[] = [];
    this.pending.takeExpired(now, this.appliedIndex, this.termAt, expired);
    for (const { batch, outcome } of expired) {
      if (isFinal(outcome)) settle(batch, outcome);
      else batch.reject(new ProposalTimeoutError(outcome, this.proposalTimeoutMs));
    }
    this.reads.expire(now);
    this.changes.settle(this.appliedIndex, this.termAt, now);
    this.recovery.report(now);
    // Keep the mapped pages ahead of the write position faulted in (appends then pay no first-touch
    // faults; warm pages are skipped). Failing to create the next files (ENOSPC, EIO) is a failing log too: stop, never throw from a timer.
    if (this.warmAheadBytes > 0 && !this.persistStep('warm-ahead', () => (this.storage as LogStorage & WarmableStorage).warmAhead?.(this.warmAheadBytes))) return;
    this.scheduleTurn();
  }

  /**
   * The async-mode flush. In the thread pool when the storage can: a blocking flush of a
   * flush interval's worth of appends held up every turn behind it (and the followers' acks).
   */
  private periodicFlush(): void {
    if (this.closed) return;
    const s = this.storage as LogStorage & BackgroundSyncStorage;
    try {
      timedPeriodicSync(s, this.o.observer, this.onBackgroundSync);
    } catch (err) {
      this.failStop('periodic flush', err);
    }
  }

  /** A failed fdatasync may have dropped the dirty pages it covered: the log is no longer known. */
  private readonly onBackgroundSync = (err: Error | null): void => {
    if (err) this.failStop('background flush', err);
  };

  /**
   * Fail-stop on a storage error: no further turn may build on a log whose writes may not have
   * happened. Logs one fatal line, rejects everything pending (StorageFailedError), stops timers
   * and sockets, leaves the storage untouched (no flush or hard-state write over a failing disk),
   * and emits 'fatal': the owner should exit. A restart recovers from disk, as after a crash.
   */
  private failStop(during: string, cause: unknown): void {
    if (this.closed) return;
    const err = new StorageFailedError(during, cause);
    this.fatalError = err;
    this.closed = true;
    this.log.fatal({ err: cause, during, code: err.code }, 'raft log storage failed; this node stops (fail-stop)');
    if (during === 'sync' || during === 'periodic flush' || during === 'background flush') {
      // After a failed fdatasync the unsynced tail may be gone without a reboot: the restart must recover like after a power loss. Best effort: the disk is failing.
      try {
        this.storage.markLostWritesSuspected?.();
      } catch (markErr) {
        this.log.error({ err: markErr }, 'could not record that unsynced raft log writes may be lost');
      }
    }
    this.stopAndFailAll(err);
    void this.transport.close().catch(() => undefined);
    this.emit('fatal', err);
  }

  /** Stops the timers and fails every queued and pending proposal and read with `err`. */
  private stopAndFailAll(err: Error): void {
    for (const t of this.timers) this.clock.clearInterval(t);
    this.timers = [];
    for (const b of this.queuedBatches) b.reject(err);
    this.queuedBatches = [];
    this.queuedPayloads = [];
    this.queuedEntries = 0;
    for (const b of this.pending.takeAll()) b.reject(err);
    this.reads.failAll(err);
    this.changes.failAll(err);
    this.transfers.failAll(err);
  }

  /** The storage error that stopped this node, if one did. */
  get fatal(): StorageFailedError | undefined {
    return this.fatalError;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.closed) return;
    this.turnScheduled = true;
    this.clock.setImmediate(this.runTurn);
  }

  private readonly runTurn = (): void => this.turn();

  /** One event-loop turn: hand the gathered proposals to the core, then process one Ready. */
  private turn(): void {
    this.turnScheduled = false;
    if (this.closed) return;
    this.o.onTurn?.();
    if (this.queuedBatches.length > 0) this.flushProposals();
    if (this.raft.hasReady()) this.handleReady(this.raft.ready());
    if (this.raft.hasReady()) this.scheduleTurn();
  }

  private flushProposals(): void {
    const batches = this.queuedBatches;
    const payloads = this.queuedPayloads;
    this.queuedBatches = [];
    this.queuedPayloads = [];
    this.queuedEntries = 0;
    const res = this.raft.propose(payloads);
    if (!res.ok) {
      const err = new NotLeaderError(res.leaderHint, res.code === 'transferring' ? 'ERR_RAFT_LEADER_TRANSFERRING' : 'ERR_RAFT_NOT_LEADER');
      for (const b of batches) b.reject(err);
      return;
    }
    if (res.lastIndex - res.firstIndex + 1 !== payloads.length) {
      throw new Error(`core appended ${res.firstIndex}..${res.lastIndex} for ${payloads.length} payloads`);
    }
    let next = res.firstIndex;
    for (const b of batches) {
      const dropped = this.pending.push({
        firstIndex: next, lastIndex: next + b.count - 1, term: res.term, deadlineMs: b.deadlineMs, resolve: b.resolve, reject: b.reject,
      });
      // Only the test-only legacy switch drops anything here.
      for (const d of dropped) settle(d.batch, d.outcome);
      next += b.count;
    }
  }

  private handleReady(rd: Ready): void {
    // 1. Persist: reset, entries, hard state; in sync mode fsync before anything depends on it.
    if (rd.reset) {
      if (!this.persistStep('reset of the log', () => this.storage.reset(rd.reset!))) return;
      this.resetsInstalled++;
      // One line an operator can alert on (event names: docs/operations.md, "Log events").
      this.log.warn({ event: 'raft-log-reset', index: rd.reset.index, term: rd.reset.term, leader: rd.softState?.leader ?? this.role.leader }, 'log reset to the leader head');
      this.o.onReset?.(rd.reset);
      if (this.appliedIndex < rd.reset.index) this.appliedIndex = rd.reset.index;
    }
    // 2a. Messages not depending on this Ready's persistence leave now (a new member's address comes with it).
    if (rd.membership) for (const p of peersOf(rd.membership)) this.transport.addPeer?.(p);
    if (rd.messages.length > 0) this.transport.send(rd.messages);
    if (rd.entries.length > 0 && !this.persistStep('append', () => timedStep(this.o.observer, 'append', () => this.storage.append(rd.entries), rd.entries.length))) return;
    // The configuration before the hard state whose commit may cover its entry (see Ready.membership).
    if (rd.membership && !this.persistStep('membership write', () => this.saveMembership(rd.membership!))) return;
    if (rd.hardState && !this.persistStep('hard-state write', () => this.storage.setHardState(rd.hardState!))) return;
    // mustSync also covers entries recovered after a kill but never synced: in sync mode a follower must not acknowledge them before they are durable.
    if (rd.entries.length > 0 || rd.reset || rd.mustSync) {
      if (this.flush.mode === 'sync' && !this.persistStep('sync', () => timedStep(this.o.observer, 'sync', () => this.storage.sync()))) return;
      this.raft.persisted(this.storage.lastIndex());
    }
    // 2b. Votes and acknowledgements only once what they promise is durable.
    if (rd.messagesAfterPersist.length > 0) this.transport.send(rd.messagesAfterPersist);
    // 3. Apply the newly committed range in order, then settle what it decides.
    if (rd.commitTo >= rd.commitFrom) this.apply(rd.commitFrom, rd.commitTo);
    for (const rs of rd.readStates) this.reads.ready(rs.context, rs.index);
    this.reads.settle(this.appliedIndex);
    if (rd.softState) this.onSoftState(rd.softState);
    // 4. Tell the core this Ready is done.
    this.raft.advance(rd);
    this.recovery.noteIfRecovering(this.clock.now());
  }

  /** Runs one persistence step; on a storage error stops the node and returns false (no advance). */
  private persistStep(during: string, step: () => void): boolean {
    try {
      step();
      return true;
    } catch (err) {
      this.failStop(during, err);
      return false;
    }
  }

  private apply(commitFrom: number, commitTo: number): void {
    let lo = Math.max(commitFrom, this.appliedIndex + 1, this.storage.firstIndex());
    // Each round applies at least one entry, so the loop ends within commitTo - lo + 1 rounds.
    while (lo <= commitTo) {
      const entries = this.storage.entries(lo, commitTo + 1, APPLY_CHUNK_BYTES);
      if (entries.length === 0) throw new Error(`storage returned no entries for committed range ${lo}..${commitTo}`);
      if (entries[0]!.index !== lo) throw new Error(`storage returned entry ${entries[0]!.index} for ${lo}`);
      this.o.onApply(entries);
      lo += entries.length;
    }
    this.appliedIndex = Math.max(this.appliedIndex, commitTo);
    this.changes.settle(this.appliedIndex, this.termAt, this.clock.now());
    const done = this.committedScratch;
    this.pending.takeDecided(commitTo, this.termAt, done);
    for (let i = 0; i < done.length; i++) settle(done[i]!.batch, done[i]!.outcome);
    done.length = 0;
  }

  private saveMembership(m: Ready['membership'] & object): void {
    if (this.storage.setMembership === undefined) throw new Error('this log storage cannot save a membership configuration');
    this.storage.setMembership(m);
    this.log.info({ index: m.index, voters: m.voters, learners: m.learners }, 'membership changed');
    this.emit('membership', m);
  }

  private onSoftState(s: { role: Role; leader: NodeId | ''; term: number }): void {
    const prev = this.role;
    this.role = { role: s.role, leader: s.leader, term: s.term };
    this.leaderChanges.seen(s.leader);
    if (s.role === 'leader' && prev.role !== 'leader') {
      // The one line per leader change (logged by the new leader): event names, docs/operations.md.
      this.log.info({ event: 'raft-leader-changed', role: s.role, leader: s.leader, term: s.term, previousLeader: this.lastLeader }, 'became leader');
    } else if (prev.role !== s.role || prev.leader !== s.leader) {
      this.log.info({ role: s.role, leader: s.leader, term: s.term }, 'role changed');
    }
    if (s.leader !== '') { this.lastLeader = s.leader; this.transfers.settle(s.leader); }
    this.emit('role', this.role);
  }
}
