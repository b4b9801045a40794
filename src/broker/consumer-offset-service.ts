// Consumer offsets on the write side: the leader coalesces UPDATE_CONSUMER_OFFSET and pull
// commit-offset updates per group/topic/queue (the highest wins) and proposes them as one control
// entry every ~100 ms, so offsets travel through Raft and a new leader knows every committed one.
// An UPDATE_CONSUMER_OFFSET is answered once the entry carrying it is committed and applied here
// (SUCCESS means a new leader has it); when the entry fails or this node stops leading first, the
// request is refused as not committed and the client's next round (every 5 s) sends it again.
// Offsets only move forward: the replicated state keeps the highest offset per queue, so a late,
// relayed or retried update never moves a committed offset back (only an explicit reset entry
// may). A query is answered once this node's applied state is known to hold every offset
// committed before it (ReadIndex), so a follower never answers from state behind what was
// acknowledged.

import type { Logger } from '../common/logger.js';
import { ResponseCode } from '../protocol/response-code.js';
import type { ConsumerOffsetService, RaftFacade } from './broker-context.js';
import { BrokerError, notLeader } from './broker-errors.js';
import type { ConsumerOffsetUpdate } from './control-entry.js';
import type { MetadataState } from './metadata-state.js';

export const OFFSET_FLUSH_INTERVAL_MS = 100;
/** Updates per control entry; more wait for the next round. */
const MAX_UPDATES_PER_ENTRY = 2_000;
/** Distinct pending queues; beyond this an update is refused with SYSTEM_BUSY (the client resends it). */
const MAX_PENDING = 100_000;
/** How long a query waits for ReadIndex before it answers from the state applied here. */
export const READ_BARRIER_TIMEOUT_MS = 2_000;

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Pending {
  update: ConsumerOffsetUpdate;
  /** UPDATE_CONSUMER_OFFSET requests answered when this update commits. */
  waiters: Waiter[];
}

export interface OffsetCommitterDeps {
  raft: RaftFacade;
  metadata: MetadataState;
  log: Logger;
  /**
   * Raft ReadIndex: resolves with an index such that every entry committed before the call is
   * applied here once it is reached; rejects when no leader confirms it.
   */
  readIndex: () => Promise<number>;
  /** maxConsumerOffsetCount: (group, topic, queue) entries the replicated table may hold. */
  maxEntries?: number;
}

const keyOf = (group: string, topic: string, queueId: number): string => `${group}\u0001${topic}\u0001${queueId}`;

export class OffsetCommitter implements ConsumerOffsetService {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private readonly raft: RaftFacade;
  private readonly metadata: MetadataState;
  private readonly log: Logger;

  constructor(private readonly d: OffsetCommitterDeps) {
    this.raft = d.raft;
    this.metadata = d.metadata;
    this.log = d.log;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), OFFSET_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the timer, gives what is pending one bounded chance to commit, refuses the rest. */
  async close(waitMs: number): Promise<void> {
    this.stop();
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, waitMs).unref())]);
    this.failAll(new BrokerError('ERR_BROKER_CLOSED', ResponseCode.SERVICE_NOT_AVAILABLE, 'offset update not committed: the broker is shutting down; retry on the new leader'));
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  commit(group: string, topic: string, queueId: number, offset: number): Promise<void> {
    if (!(offset >= 0) || !Number.isSafeInteger(offset)) return Promise.resolve();
    if (!this.raft.isLeader()) return Promise.reject(notLeader('offset updates commit on the leader'));
    if (this.overLimit(group, topic, queueId)) {
      return Promise.reject(
        new BrokerError('ERR_BROKER_LIMIT_REACHED', ResponseCode.SYSTEM_ERROR, `consumer offset not stored: this broker holds at most ${this.d.maxEntries} (group, topic, queue) offset entries (broker.conf maxConsumerOffsetCount); delete unused groups or raise maxConsumerOffsetCount`),
      );
    }
    const p = this.add(group, topic, queueId, offset);
    if (p === undefined) return Promise.reject(busy());
    return new Promise((resolve, reject) => p.waiters.push({ resolve, reject }));
  }

  async reset(offsets: readonly ConsumerOffsetUpdate[]): Promise<void> {
    if (!this.raft.isLeader()) throw notLeader('offset resets commit on the leader');
    for (const u of offsets) {
      const key = keyOf(u.group, u.topic, u.queueId);
      const p = this.pending.get(key);
      if (p === undefined) continue;
      // Superseded by the reset: their requests are answered as committed, as if overwritten.
      this.pending.delete(key);
      for (const w of p.waiters) w.resolve();
    }
    await this.raft.proposeControl({ kind: 'consumer-offsets-reset', offsets: offsets.map((u) => ({ ...u })) });
  }

  /** A pull's piggy-backed commit: dropped (the client commits again) past the table's bound. */
  commitInBackground(group: string, topic: string, queueId: number, offset: number): void {
    if (!(offset >= 0) || !Number.isSafeInteger(offset) || !this.raft.isLeader()) return;
    if (this.overLimit(group, topic, queueId)) return;
    this.add(group, topic, queueId, offset);
  }

  /** A new (group, topic, queue) entry would pass maxConsumerOffsetCount (rare: once per queue and group). */
  private overLimit(group: string, topic: string, queueId: number): boolean {
    const max = this.d.maxEntries;
    if (max === undefined) return false;
    const key = keyOf(group, topic, queueId);
    return !this.pending.has(key) && this.metadata.consumerOffset(group, topic, queueId) === undefined && this.metadata.consumerOffsetCount() + this.pending.size >= max;
  }

  /** Queues `offset` (the highest pending one per queue wins); undefined when the table is full. */
  private add(group: string, topic: string, queueId: number, offset: number): Pending | undefined {
    const key = keyOf(group, topic, queueId);
    const known = this.pending.get(key);
    if (known !== undefined) {
      if (offset > known.update.offset) known.update = { group, topic, queueId, offset };
      return known;
    }
    if (this.pending.size >= MAX_PENDING) return undefined;
    const p: Pending = { update: { group, topic, queueId, offset }, waiters: [] };
    this.pending.set(key, p);
    return p;
  }

  query(group: string, topic: string, queueId: number): number | undefined {
    const pending = this.pending.get(keyOf(group, topic, queueId))?.update.offset;
    const replicated = this.metadata.consumerOffset(group, topic, queueId);
    if (pending === undefined) return replicated;
    return replicated === undefined ? pending : Math.max(pending, replicated);
  }

  async catchUp(timeoutMs = READ_BARRIER_TIMEOUT_MS): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      timer.unref();
    });
    try {
      const index = await Promise.race([this.d.readIndex(), expired]);
      return index !== undefined && this.metadata.appliedIndex >= index;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Proposes what is pending (one entry at a time, so entries commit in update order); the
   * promise settles when that entry is decided (it never rejects).
   */
  flush(): Promise<void> {
    if (this.inFlight || this.pending.size === 0) return Promise.resolve();
    if (!this.raft.isLeader()) {
      // A leader whose announcement is not committed yet keeps them; a deposed one refuses them.
      if (this.raft.role().role !== 'leader') this.failAll(notLeader('it stopped leading before the offset update was committed'));
      return Promise.resolve();
    }
    const batch: Pending[] = [];
    for (const [key, p] of this.pending) {
      batch.push(p);
      this.pending.delete(key);
      if (batch.length >= MAX_UPDATES_PER_ENTRY) break;
    }
    this.inFlight = true;
    return this.raft.proposeControl({ kind: 'consumer-offsets', offsets: batch.map((p) => p.update) }).then(
      () => {
        this.inFlight = false;
        for (const p of batch) for (const w of p.waiters) w.resolve();
      },
      (err: unknown) => {
        this.inFlight = false;
        // Applying an offset again is harmless (the highest wins), so an entry whose outcome is
        // unknown is retried like one certainly not stored: requeued while this node leads.
        for (const p of batch) {
          const { group, topic, queueId, offset } = p.update;
          this.add(group, topic, queueId, offset);
        }
        const refusal = new BrokerError('ERR_BROKER_NOT_COMMITTED', ResponseCode.SERVICE_NOT_AVAILABLE,
          `offset update not committed (${err instanceof Error ? err.message : String(err)}); retry: offset updates are idempotent`, { cause: err });
        for (const p of batch) for (const w of p.waiters) w.reject(refusal);
        this.log.warn({ err, updates: batch.length }, 'consumer offsets not committed; will retry');
      },
    );
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) for (const w of p.waiters) w.reject(err);
  }
}

function busy(): BrokerError {
  return new BrokerError('ERR_BROKER_BUSY', ResponseCode.SYSTEM_BUSY, `more than ${MAX_PENDING} queues have offset updates waiting to commit; retry later`);
}
