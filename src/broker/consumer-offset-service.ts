// Consumer offsets on the write side: the leader coalesces UPDATE_CONSUMER_OFFSET and pull
// commit-offset updates per group/topic/queue (latest wins) and proposes them as one control
// entry every ~100 ms, so offsets travel through Raft and a new leader knows every committed
// one. Pending updates are dropped when this node stops leading; clients resend every 5 s.

import type { Logger } from '../common/logger.js';
import type { ConsumerOffsetService, RaftFacade } from './broker-context.js';
import type { ConsumerOffsetUpdate } from './control-entry.js';
import { BrokerError } from './broker-errors.js';
import { ResponseCode } from '../protocol/response-code.js';
import type { MetadataState } from './metadata-state.js';

export const OFFSET_FLUSH_INTERVAL_MS = 100;
/** Updates per control entry; more wait for the next round. */
const MAX_UPDATES_PER_ENTRY = 2_000;
/** Distinct pending queues; beyond this an update is dropped (the client resends it). */
const MAX_PENDING = 100_000;

export class OffsetCommitter implements ConsumerOffsetService {
  private pending = new Map<string, ConsumerOffsetUpdate>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(
    private readonly raft: RaftFacade,
    private readonly metadata: MetadataState,
    private readonly log: Logger,
    /** maxConsumerOffsetCount: (group, topic, queue) entries the replicated table may hold. */
    private readonly maxEntries = Number.MAX_SAFE_INTEGER,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.flush(), OFFSET_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Throws BrokerError ERR_BROKER_LIMIT_REACHED when a new entry would pass maxConsumerOffsetCount. */
  commit(group: string, topic: string, queueId: number, offset: number): void {
    if (!(offset >= 0) || !Number.isSafeInteger(offset)) return;
    const key = `${group}\u0001${topic}\u0001${queueId}`;
    if (!this.pending.has(key) && this.pending.size >= MAX_PENDING) return;
    // A new entry (rare: once per queue and group) is counted against the table's bound.
    if (!this.pending.has(key) && this.metadata.consumerOffset(group, topic, queueId) === undefined
      && this.metadata.consumerOffsetCount() + this.pending.size >= this.maxEntries) {
      throw new BrokerError('ERR_BROKER_LIMIT_REACHED', ResponseCode.SYSTEM_ERROR, `consumer offset not stored: this broker holds at most ${this.maxEntries} (group, topic, queue) offset entries (broker.conf maxConsumerOffsetCount); delete unused groups or raise maxConsumerOffsetCount`);
    }
    this.pending.set(key, { group, topic, queueId, offset });
  }

  query(group: string, topic: string, queueId: number): number | undefined {
    return this.pending.get(`${group}\u0001${topic}\u0001${queueId}`)?.offset ?? this.metadata.consumerOffset(group, topic, queueId);
  }

  /**
   * Proposes what is pending (one entry at a time, so entries commit in update order); the
   * promise settles when that entry is decided (it never rejects).
   */
  flush(): Promise<void> {
    if (this.inFlight || this.pending.size === 0) return Promise.resolve();
    if (!this.raft.isLeader()) {
      if (this.raft.role().role !== 'leader') this.pending.clear();
      return Promise.resolve();
    }
    const batch: ConsumerOffsetUpdate[] = [];
    for (const [key, u] of this.pending) {
      batch.push(u);
      this.pending.delete(key);
      if (batch.length >= MAX_UPDATES_PER_ENTRY) break;
    }
    this.inFlight = true;
    return this.raft.proposeControl({ kind: 'consumer-offsets', offsets: batch }).then(
      () => { this.inFlight = false; },
      (err: unknown) => {
        this.inFlight = false;
        // Put back what no newer update replaced; a later round retries while we lead.
        for (const u of batch) {
          const key = `${u.group}\u0001${u.topic}\u0001${u.queueId}`;
          if (!this.pending.has(key)) this.pending.set(key, u);
        }
        this.log.warn({ err, updates: batch.length }, 'consumer offsets not committed; will retry');
      },
    );
  }
}
