// RaftNode drives the pure core with real time, a durable log and the TCP transport. It owns
// the order of the Ready contract (persist, then send what depends on it, then apply, then
// advance), batches every input of one event-loop turn into one Ready, and turns commits into
// settled proposal promises. Everything here is I/O and bookkeeping; decisions stay in the core.

import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { Message, Ready } from '../core/messages.js';
import { Raft, type RaftStatus } from '../core/raft.js';
import { MAX_TERM, type Entry, type LogStart, type NodeId, type Role } from '../core/types.js';
import type { FlushPolicy, LogStorage } from '../storage/log-storage.js';
import { TcpTransport, type PeerAddress, type PeerTls, type TransportStats } from '../transport/tcp-transport.js';
import { systemClock, type RaftNodeClock, type RaftTransport, type RaftTransportFactory } from './node-runtime.js';
import { BusyError, NodeClosedError, NotLeaderError, ProposalTimeoutError, ProposalTooLargeError, RaftNodeError, RecoveryBlockedError, StorageFailedError, TermTooLargeError, proposalFailure } from './errors.js';
import type { BatchOutcome } from './batch-outcome.js';
import { PendingProposals, type DecidedBatch, type PendingBatch } from './pending-proposals.js';
import { PendingReads } from './pending-reads.js';

export interface RaftNodeOptions {
  id: NodeId;
  /** The group name, for logs (DLedger's `dLegerGroup`). */
  group?: string;
  /** Every voter including this node (see parsePeers). */
  peers: readonly PeerAddress[];
  /** The durable log; the node syncs and closes it on close(). */
  storage: LogStorage;
  flush?: FlushPolicy;
  /** Index the application already applied (its own checkpoint); 0 replays the whole log. */
  applied?: number;
  /** Committed entries in index order. Payloads may be views of mapped memory: copy to keep. */
  onApply: (entries: Entry[]) => void;
  /** The log was discarded and restarts after `start` (this follower fell behind the leader's head). */
  onReset?: (start: LogStart) => void;
  /**
   * Called at the start of every turn, before the proposals gathered since the last turn go to
   * the core: the place for an application that coalesces its own writes (see `requestTurn`) to
   * propose them, so they join this turn's Ready.
   */
  onTurn?: () => void;
  logger?: Logger;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  maxAppBytes?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  /** Pending proposed entries (appended, not committed) past which propose fails with ERR_BUSY. */
  maxPendingEntries?: number;
  proposalTimeoutMs?: number;
  readIndexTimeoutMs?: number;
  random?: () => number;
  /** Bytes past the log's end to keep pre-faulted when the storage supports it (0 = off). */
  warmAheadBytes?: number;
  /** Transport bounds (see TcpTransportOptions). */
  maxQueuedFrames?: number;
  maxQueuedBytes?: number;
  /** The group's shared secrets for peer authentication (see TcpTransportOptions.peerSecrets); none: off. */
  peerSecrets?: readonly string[];
  /** Mutual TLS between the peers (see TcpTransportOptions.tls); none: plain TCP. */
  tls?: PeerTls;
  /**
   * TEST ONLY (default false): restores the former all-or-nothing outcome of a batch proposal
   * (judged by the term at its last index; dropped whole when a new leader's append overlaps
   * it), which reports committed entries as not committed. It exists so the simulator can show
   * that it finds that bug; never set it outside tests.
   */
  unsafeTestLegacyBatchOutcome?: boolean;
  /** Time and timers; the system clock unless a simulation injects its own. */
  clock?: RaftNodeClock;
  /** Builds the transport; a TcpTransport over `peers` unless a simulation injects its own. */
  transport?: RaftTransportFactory;
  /** Told how long log appends and syncs take (an owner exporting metrics); decides nothing. */
  observer?: RaftNodeObserver;
}

/** Latencies of the durable log, for an owner that exports them (metrics). */
export interface RaftNodeObserver {
  /** One append of `entries` entries to the log took `ms` (wall clock). */
  append?(ms: number, entries: number): void;
  /** One sync of the log (in the turn or in the background) took `ms`. */
  sync?(ms: number): void;
}

export interface RoleChange {
  role: Role;
  leader: NodeId | '';
  term: number;
}

export interface RaftNodeStatus extends RaftStatus {
  pendingEntries: number;
  transport: TransportStats;
  /** Times this node saw the group's leader change to another known leader (metrics). */
  leaderChanges: number;
  /** Log resets installed from a leader (this follower had fallen behind its log head). */
  resetsInstalled: number;
}

interface QueuedBatch {
  count: number;
  deadlineMs: number;
  resolve: PendingBatch['resolve'];
  reject: PendingBatch['reject'];
}

/** A storage may offer to touch the next mapped segment in advance (RocketMQ's warm-up). */
interface WarmableStorage {
  warmAhead?: (bytes: number) => void;
}

/** A storage may flush in the thread pool (MmapLogStorage does); false means one is running. */
interface BackgroundSyncStorage {
  syncInBackground?: (done: (err: Error | null) => void) => boolean;
}

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
  private queuedPayloads: Uint8Array[] = [];
  private queuedBatches: QueuedBatch[] = [];
  private queuedEntries = 0;
  private appliedIndex: number;
  private role: RoleChange;
  private turnScheduled = false;
  private closed = false;
  private timers: unknown[] = [];
  private readonly warmAheadBytes: number;
  private readonly committedScratch: DecidedBatch[] = [];
  /** Term of a committed index as the log has it now (undefined once it left the log). */
  private readonly termAt = (index: number): number | undefined => this.storage.term(index);
  /** Set when the storage failed and the node stopped itself (see failStop). */
  private fatalError: StorageFailedError | undefined;
  /** Transfers waiting for their target to be seen leading, one per target (see transferLeadership). */
  private readonly transfers = new Map<NodeId, { promise: Promise<void>; settle: (err?: Error) => void; timer: unknown }>();
  /** Recovering after a power loss (the core's recovery guard): since when no leader is known. */
  private recovering: { sinceMs: number; reportedMs: number } | undefined;
  private leaderChanges = 0;
  /** The last leader this node knew (not cleared by an election), to count changes of leader. */
  private lastKnownLeader: NodeId | '' = '';
  private resetsInstalled = 0;

  constructor(private readonly o: RaftNodeOptions) {
    super();
    this.id = o.id;
    this.storage = o.storage;
    this.clock = o.clock ?? systemClock;
    this.flush = o.flush ?? { mode: 'async', intervalMs: 200 };
    // Fine ticks with many of them per timeout: the check-quorum lease is counted in whole ticks,
    // so with coarse ticks a follower whose tick phase lags by less than one tick still sees the
    // leader as alive and ignores the first pre-vote, costing a whole extra election timeout.
    // 10 ms x 40 gives a 400-800 ms randomized timeout and a heartbeat every 100 ms.
    this.tickMs = o.tickMs ?? 10;
    const electionTicks = o.electionTicks ?? 40;
    this.electionTimeoutMs = electionTicks * this.tickMs;
    this.maxPendingEntries = o.maxPendingEntries ?? 100_000;
    this.proposalTimeoutMs = o.proposalTimeoutMs ?? 10_000;
    this.pending = new PendingProposals({ legacyBatchOutcome: o.unsafeTestLegacyBatchOutcome ?? false });
    this.warmAheadBytes = o.warmAheadBytes ?? 32 * 1024 * 1024;
    this.reads = new PendingReads(o.readIndexTimeoutMs ?? 4 * this.electionTimeoutMs, 10_000);
    const base = o.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
    this.log = base.child({ component: 'raft', nodeId: o.id, group: o.group ?? '' });
    const hardState = o.storage.hardState();
    const lastTerm = o.storage.term(o.storage.lastIndex()) ?? 0;
    if (hardState.term > MAX_TERM || lastTerm > MAX_TERM) throw new TermTooLargeError(Math.max(hardState.term, lastTerm), MAX_TERM);
    this.appliedIndex = o.applied ?? 0;
    this.raft = new Raft({
      id: o.id,
      peers: o.peers.map((p) => p.id),
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
    const onMessage = (m: Message): void => this.onMessage(m);
    this.transport = o.transport !== undefined ? o.transport(onMessage) : new TcpTransport({
      id: o.id,
      peers: o.peers,
      logger: this.log,
      onMessage,
      ...(o.maxQueuedFrames !== undefined ? { maxQueuedFrames: o.maxQueuedFrames } : {}),
      ...(o.maxQueuedBytes !== undefined ? { maxQueuedBytes: o.maxQueuedBytes } : {}),
      ...(o.peerSecrets !== undefined ? { peerSecrets: o.peerSecrets } : {}),
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
    });
    // After a power loss under async flush the core starts recovering (recovery-guard.ts);
    // otherwise (sync flush, one voter) the storage's suspicion is cleared now.
    if (this.raft.status().recovering) this.noteRecovery(this.clock.now());
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
   * than the log stores as one entry is refused at once (ERR_PROPOSAL_TOO_LARGE).
   */
  proposeBatch(payloads: readonly Uint8Array[]): Promise<{ index: number; lastIndex: number; term: number }> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    if (payloads.length === 0) throw new RangeError('proposeBatch needs at least one payload');
    // Refused here, not at the append: an entry the log cannot hold would fail every Ready that
    // carries it, and each new leader would inherit nothing but the same failure.
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
    if (!res.ok) {
      this.reads.fail(r.context, new NotLeaderError(res.leaderHint));
    }
    this.scheduleTurn();
    return r.promise;
  }

  /**
   * Asks the leader (this node) to hand leadership to `to`; resolves when `to` is seen as leader.
   * Requests for a target already being waited for share that wait (as the core shares the
   * transfer), so repeated transfers add no listener and no timer each.
   */
  transferLeadership(to: NodeId): Promise<void> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    const res = this.raft.transferLeadership(to);
    if (!res.ok) return Promise.reject(new RaftNodeError('ERR_TRANSFER_FAILED', `transfer to ${to}: ${res.code}: ${res.detail}`));
    this.scheduleTurn();
    // The core gives up on a transfer after an election timeout; allow for a slow target too.
    const waitMs = Math.max(1000, 3 * this.electionTimeoutMs);
    const timeout = (): void => this.settleTransfer(to, new RaftNodeError('ERR_TRANSFER_FAILED', `${to} did not become leader within ${waitMs} ms`));
    const waiting = this.transfers.get(to);
    if (waiting !== undefined) {
      // The core may have started the transfer anew: the wait starts anew with it.
      this.clock.clearTimeout(waiting.timer);
      waiting.timer = this.clock.setTimeout(timeout, waitMs);
      return waiting.promise;
    }
    let settle!: (err?: Error) => void;
    const promise = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.transfers.set(to, { promise, settle, timer: this.clock.setTimeout(timeout, waitMs) });
    return promise;
  }

  /** Ends the wait for a transfer to `to`, if one is waiting: resolved without `err`. */
  private settleTransfer(to: NodeId, err?: Error): void {
    const w = this.transfers.get(to);
    if (w === undefined) return;
    this.transfers.delete(to);
    this.clock.clearTimeout(w.timer);
    w.settle(err);
  }

  status(): RaftNodeStatus {
    return { ...this.raft.status(), pendingEntries: this.pending.entryCount + this.queuedEntries, transport: this.transport.stats(), leaderChanges: this.leaderChanges, resetsInstalled: this.resetsInstalled };
  }

  /** The last role, leader and term this node reported. */
  roleState(): RoleChange {
    return this.role;
  }

  get applied(): number {
    return this.appliedIndex;
  }

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
    if (this.recovering !== undefined) this.reportRecovery(now);
    // Keep the mapped pages ahead of the write position faulted in, a tick's worth at a time,
    // so appends on the hot path do not pay first-touch page faults. Already-warm pages are
    // skipped by the storage, so under no load this costs nothing.
    // Creating the next files failing (ENOSPC, EIO) is a failing log too: stop, never throw from a timer.
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
      if (s.syncInBackground) {
        const startedMs = performance.now();
        s.syncInBackground((err) => {
          if (!err) this.o.observer?.sync?.(performance.now() - startedMs);
          this.onBackgroundSync(err);
        });
      } else this.timed('sync', () => s.sync());
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
   * happened. Logs one fatal line, rejects everything pending with a StorageFailedError, stops
   * timers and sockets, leaves the storage untouched (no flush, no hard-state write over a disk
   * that just failed), and emits 'fatal' with the error: the owner should exit. A restart once
   * the disk is fixed recovers from what is on disk, like after a crash.
   */
  private failStop(during: string, cause: unknown): void {
    if (this.closed) return;
    const err = new StorageFailedError(during, cause);
    this.fatalError = err;
    this.closed = true;
    this.log.fatal({ err: cause, during, code: err.code }, 'raft log storage failed; this node stops (fail-stop)');
    if (during === 'sync' || during === 'periodic flush' || during === 'background flush') {
      // After a failed fdatasync the unsynced tail may be gone without a reboot: the restart
      // must recover like after a power loss. Best effort: the disk is failing.
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
    for (const to of [...this.transfers.keys()]) this.settleTransfer(to, err);
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
      const err = new NotLeaderError(res.leaderHint, res.code === 'transferring' ? 'ERR_LEADER_TRANSFERRING' : 'ERR_NOT_LEADER');
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
      this.log.warn({ index: rd.reset.index, term: rd.reset.term }, 'log reset to the leader head');
      this.o.onReset?.(rd.reset);
      if (this.appliedIndex < rd.reset.index) this.appliedIndex = rd.reset.index;
    }
    // 2a. Messages that do not depend on this Ready's persistence leave in parallel with it.
    if (rd.messages.length > 0) this.transport.send(rd.messages);
    if (rd.entries.length > 0 && !this.persistStep('append', () => this.timed('append', () => this.storage.append(rd.entries), rd.entries.length))) return;
    if (rd.hardState && !this.persistStep('hard-state write', () => this.storage.setHardState(rd.hardState!))) return;
    // mustSync also covers entries recovered after a kill but never synced: in sync mode a
    // follower must not acknowledge them before they are durable.
    if (rd.entries.length > 0 || rd.reset || rd.mustSync) {
      if (this.flush.mode === 'sync' && !this.persistStep('sync', () => this.timed('sync', () => this.storage.sync()))) return;
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
    if (this.recovering !== undefined) this.noteRecovery(this.clock.now());
  }

  /**
   * Follows the core's recovering state (a restart after a power loss under async flush): logs
   * its start and end, and clears the storage's suspicion once the core has left it (or never
   * entered it: sync flush, one voter).
   */
  private noteRecovery(now: number): void {
    const active = this.raft.status().recovering;
    if (active && this.recovering === undefined) {
      this.recovering = { sinceMs: now, reportedMs: now };
      this.log.warn({ commit: this.raft.status().commit, lastIndex: this.storage.lastIndex() }, 'restarted after a power loss or OS crash under async flush: not voting, campaigning or applying past the durable commit until a leader brings this log up to date');
    } else if (!active) {
      if (this.recovering !== undefined) this.log.info({ commit: this.raft.status().commit }, 'caught up with the leader after a power loss: voting and applying again');
      this.recovering = undefined;
      if (this.storage.mayHaveLostWrites?.() === true) this.persistStep('recovery marker write', () => this.storage.markRecovered?.());
    }
  }

  /** Loud, never silent: a recovering node that hears from no leader says so, periodically. */
  private reportRecovery(now: number): void {
    const r = this.recovering!;
    if (this.role.leader !== '') r.sinceMs = now;
    const intervalMs = 10 * this.electionTimeoutMs;
    if (now - r.sinceMs < intervalMs || now - r.reportedMs < intervalMs) return;
    r.reportedMs = now;
    const err = new RecoveryBlockedError(now - r.sinceMs);
    this.log.error({ code: err.code, waitedMs: err.waitedMs }, `${err.message}; if a majority of the group lost power at once, see "Power loss of a majority under ASYNC_FLUSH" in docs/operations.md`);
    this.emit('recovery-blocked', err);
  }

  /** Runs a log step, telling the observer (if any) how long it took. */
  private timed(what: 'append' | 'sync', step: () => void, entries = 0): void {
    const observer = this.o.observer;
    if (observer === undefined) return step();
    const startedMs = performance.now();
    step();
    const ms = performance.now() - startedMs;
    if (what === 'append') observer.append?.(ms, entries);
    else observer.sync?.(ms);
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
    const done = this.committedScratch;
    this.pending.takeDecided(commitTo, this.termAt, done);
    for (let i = 0; i < done.length; i++) settle(done[i]!.batch, done[i]!.outcome);
    done.length = 0;
  }

  private onSoftState(s: { role: Role; leader: NodeId | ''; term: number }): void {
    const prev = this.role;
    this.role = { role: s.role, leader: s.leader, term: s.term };
    if (s.leader !== '' && s.leader !== prev.leader && this.lastKnownLeader !== s.leader) {
      if (this.lastKnownLeader !== '') this.leaderChanges++;
      this.lastKnownLeader = s.leader;
    }
    if (prev.role !== s.role || prev.leader !== s.leader) {
      this.log.info({ role: s.role, leader: s.leader, term: s.term }, s.role === 'leader' ? 'became leader' : 'role changed');
    }
    if (s.leader !== '') this.settleTransfer(s.leader);
    this.emit('role', this.role);
  }
}

/** Every entry of the batch is committed or certainly not (no entry's outcome is still open). */
function isFinal(o: BatchOutcome): boolean {
  return o.droppedFrom === o.committedThrough + 1;
}

function settle(b: PendingBatch, o: BatchOutcome): void {
  if (o.committedThrough === b.lastIndex) b.resolve({ index: b.firstIndex, lastIndex: b.lastIndex, term: b.term });
  else b.reject(proposalFailure(o));
}
