// RaftNode drives the pure core with real time, a durable log and the TCP transport. It owns
// the order of the Ready contract (persist, then send what depends on it, then apply, then
// advance), batches every input of one event-loop turn into one Ready, and turns commits into
// settled proposal promises. Everything here is I/O and bookkeeping; decisions stay in the core.

import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { Message, Ready } from '../core/messages.js';
import { Raft, type RaftStatus } from '../core/raft.js';
import type { Entry, LogStart, NodeId, Role } from '../core/types.js';
import type { FlushPolicy, LogStorage } from '../storage/log-storage.js';
import { TcpTransport, type PeerAddress, type TransportStats } from '../transport/tcp-transport.js';
import { systemClock, type RaftNodeClock, type RaftTransport, type RaftTransportFactory } from './node-runtime.js';
import { BusyError, NodeClosedError, NotLeaderError, ProposalDroppedError, ProposalTimeoutError, RaftNodeError } from './errors.js';
import { PendingProposals, type PendingBatch } from './pending-proposals.js';
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
  /** Time and timers; the system clock unless a simulation injects its own. */
  clock?: RaftNodeClock;
  /** Builds the transport; a TcpTransport over `peers` unless a simulation injects its own. */
  transport?: RaftTransportFactory;
}

export interface RoleChange {
  role: Role;
  leader: NodeId | '';
  term: number;
}

export interface RaftNodeStatus extends RaftStatus {
  pendingEntries: number;
  transport: TransportStats;
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
  private readonly pending = new PendingProposals();
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
  private readonly committedScratch: PendingBatch[] = [];

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
    this.warmAheadBytes = o.warmAheadBytes ?? 32 * 1024 * 1024;
    this.reads = new PendingReads(o.readIndexTimeoutMs ?? 4 * this.electionTimeoutMs, 10_000);
    const base = o.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
    this.log = base.child({ component: 'raft', nodeId: o.id, group: o.group ?? '' });
    const hardState = o.storage.hardState();
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
    });
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
   * Proposes one entry per payload, appended contiguously; resolves once the last one is
   * committed with `index` = the first entry's index.
   */
  proposeBatch(payloads: readonly Uint8Array[]): Promise<{ index: number; lastIndex: number; term: number }> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    if (payloads.length === 0) throw new RangeError('proposeBatch needs at least one payload');
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

  /** Asks the leader (this node) to hand leadership to `to`; resolves when `to` is seen as leader. */
  transferLeadership(to: NodeId): Promise<void> {
    if (this.closed) return Promise.reject(new NodeClosedError());
    const res = this.raft.transferLeadership(to);
    if (!res.ok) return Promise.reject(new RaftNodeError('ERR_TRANSFER_FAILED', `transfer to ${to}: ${res.code}: ${res.detail}`));
    this.scheduleTurn();
    // The core gives up on a transfer after an election timeout; allow for a slow target too.
    const waitMs = Math.max(1000, 3 * this.electionTimeoutMs);
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.off('role', onRole);
        reject(new RaftNodeError('ERR_TRANSFER_FAILED', `${to} did not become leader within ${waitMs} ms`));
      }, waitMs);
      const onRole = (c: RoleChange): void => {
        if (c.leader !== to) return;
        this.clock.clearTimeout(timer);
        this.off('role', onRole);
        resolve();
      };
      this.on('role', onRole);
    });
  }

  status(): RaftNodeStatus {
    return { ...this.raft.status(), pendingEntries: this.pending.entryCount + this.queuedEntries, transport: this.transport.stats() };
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
    for (const t of this.timers) this.clock.clearInterval(t);
    this.timers = [];
    const err = new NodeClosedError();
    for (const b of this.queuedBatches) b.reject(err);
    this.queuedBatches = [];
    this.queuedPayloads = [];
    this.queuedEntries = 0;
    for (const b of this.pending.takeAll()) b.reject(err);
    this.reads.failAll(err);
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
    const expired: PendingBatch[] = [];
    this.pending.takeExpired(now, expired);
    for (const b of expired) b.reject(new ProposalTimeoutError(b.lastIndex, b.term, this.proposalTimeoutMs));
    this.reads.expire(now);
    // Keep the mapped pages ahead of the write position faulted in, a tick's worth at a time,
    // so appends on the hot path do not pay first-touch page faults. Already-warm pages are
    // skipped by the storage, so under no load this costs nothing.
    if (this.warmAheadBytes > 0) (this.storage as LogStorage & WarmableStorage).warmAhead?.(this.warmAheadBytes);
    this.scheduleTurn();
  }

  /**
   * The async-mode flush. In the thread pool when the storage can: a blocking flush of a
   * flush interval's worth of appends held up every turn behind it (and the followers' acks).
   */
  private periodicFlush(): void {
    const s = this.storage as LogStorage & BackgroundSyncStorage;
    if (s.syncInBackground) s.syncInBackground(this.onBackgroundSync);
    else s.sync();
  }

  private readonly onBackgroundSync = (err: Error | null): void => {
    if (err && !this.closed) this.log.error({ err }, 'background flush of the raft log failed');
  };

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
      for (const d of dropped) d.reject(new ProposalDroppedError(d.lastIndex, d.term));
      next += b.count;
    }
  }

  private handleReady(rd: Ready): void {
    // 1. Persist: reset, entries, hard state; in sync mode fsync before anything depends on it.
    if (rd.reset) {
      this.storage.reset(rd.reset);
      this.log.warn({ index: rd.reset.index, term: rd.reset.term }, 'log reset to the leader head');
      this.o.onReset?.(rd.reset);
      if (this.appliedIndex < rd.reset.index) this.appliedIndex = rd.reset.index;
    }
    // 2a. Messages that do not depend on this Ready's persistence leave in parallel with it.
    if (rd.messages.length > 0) this.transport.send(rd.messages);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    // mustSync also covers entries recovered after a kill but never synced: in sync mode a
    // follower must not acknowledge them before they are durable.
    if (rd.entries.length > 0 || rd.reset || rd.mustSync) {
      if (this.flush.mode === 'sync') this.storage.sync();
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
    this.pending.takeCommitted(commitTo, done);
    for (let i = 0; i < done.length; i++) {
      const b = done[i]!;
      if (this.storage.term(b.lastIndex) === b.term) b.resolve({ index: b.firstIndex, lastIndex: b.lastIndex, term: b.term });
      else b.reject(new ProposalDroppedError(b.lastIndex, b.term));
    }
    done.length = 0;
  }

  private onSoftState(s: { role: Role; leader: NodeId | ''; term: number }): void {
    const prev = this.role;
    this.role = { role: s.role, leader: s.leader, term: s.term };
    if (prev.role !== s.role || prev.leader !== s.leader) {
      this.log.info({ role: s.role, leader: s.leader, term: s.term }, s.role === 'leader' ? 'became leader' : 'role changed');
    }
    this.emit('role', this.role);
  }
}
