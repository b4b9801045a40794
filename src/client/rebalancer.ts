// Rebalancing: decides which queues this consumer owns (all of them when broadcasting, its
// AllocateMessageQueueAveragely share when clustering), starts a ProcessQueue and pull loop for a
// new queue at the right offset, and gives a removed queue up after persisting its offset.
// Runs are serialized; a request during a run schedules exactly one more run.
import type { SubscriptionData } from '../protocol/index.js';
import { ConsumeFromWhere, MessageModel, RETRY_GROUP_TOPIC_PREFIX } from './client-constants.js';
import type { ClientInstance } from './client-instance.js';
import { allocateAveragely } from './allocate-averagely.js';
import { getConsumerIdList, getMaxOffset, searchOffset } from './broker-api.js';
import { queueKey, type MessageQueue } from './message.js';
import type { OffsetStore } from './offset-store.js';
import { lockQueues, unlockQueues } from './lock-keeper.js';
import { ProcessQueue } from './process-queue.js';
import { sleep } from './sleep.js';

export interface RebalanceConfig {
  group: string;
  messageModel: MessageModel;
  consumeFromWhere: ConsumeFromWhere;
  consumeTimestampMs: number;
  /** Orderly clustering: a queue is taken only once its broker lock is held (lock-keeper.ts). */
  orderly?: boolean;
}

/** How long a queue given away may wait for its running handler before its lock is released anyway. */
const RELEASE_WAIT_MS = 60_000;

export class Rebalancer {
  readonly table = new Map<string, ProcessQueue>();
  /** Consumer ids seen per topic at the last run (sorted, joined), to detect membership changes. */
  private readonly lastCids = new Map<string, string>();
  private running: Promise<void> | undefined;
  private again = false;
  /** A queue could not be started (no offset yet): the consumer retries soon. */
  incomplete = false;

  constructor(
    private readonly instance: ClientInstance,
    private readonly config: RebalanceConfig,
    private readonly offsets: OffsetStore,
    private readonly subscriptions: () => ReadonlyMap<string, SubscriptionData>,
    private readonly startPull: (pq: ProcessQueue) => void,
  ) {}

  /** Runs a rebalance now, or once more after the one in progress. */
  request(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        // At most two rounds per call: requests during a round coalesce into the second.
        for (let round = 0; round < 2; round++) {
          this.again = false;
          await this.runOnce();
          if (!this.again) break;
        }
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** True when the group's consumer list differs from the one the last rebalance used. */
  async membershipChanged(): Promise<boolean> {
    if (this.config.messageModel === MessageModel.BROADCASTING) return false;
    for (const topic of this.subscriptions().keys()) {
      const cids = await this.fetchCids(topic).catch(() => undefined);
      if (cids !== undefined && cids.join(',') !== this.lastCids.get(topic)) return true;
    }
    return false;
  }

  ownedQueues(): MessageQueue[] {
    return [...this.table.values()].filter((pq) => !pq.dropped).map((pq) => pq.mq);
  }

  /**
   * RESET_CONSUMER_CLIENT_OFFSET: the broker moved these queues' committed offsets. Each owned
   * one is dropped without persisting its position (that would undo the reset) and the next run
   * takes it again from the broker's offset. Returns how many were owned.
   */
  forget(mqs: readonly MessageQueue[]): number {
    let n = 0;
    for (const mq of mqs) {
      const key = queueKey(mq);
      const pq = this.table.get(key);
      if (pq === undefined) continue;
      pq.dropped = true;
      this.table.delete(key);
      this.offsets.remove(mq);
      n++;
    }
    return n;
  }

  /** Drops every queue (shutdown); offsets are persisted by the caller. */
  dropAll(): ProcessQueue[] {
    const out = [...this.table.values()];
    for (const pq of out) pq.dropped = true;
    this.table.clear();
    return out;
  }

  private async fetchCids(topic: string): Promise<string[]> {
    const info = await this.instance.routes.get(topic);
    const names = [...new Set(info.readQueues.map((q) => q.brokerName))].sort();
    let lastErr: unknown;
    for (const name of names) {
      const addr = this.instance.routes.addrFor(name);
      if (addr === undefined) continue;
      try {
        return (await getConsumerIdList(this.instance, addr, this.config.group)).sort();
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr ?? new Error(`no broker of topic ${topic} to ask for the consumer list`);
  }

  private async runOnce(): Promise<void> {
    this.incomplete = false;
    for (const topic of this.subscriptions().keys()) {
      try {
        const info = await this.instance.routes.refresh(topic).catch(() => this.instance.routes.get(topic));
        let allocated: MessageQueue[];
        if (this.config.messageModel === MessageModel.BROADCASTING) allocated = [...info.readQueues];
        else {
          const cids = await this.fetchCids(topic);
          this.lastCids.set(topic, cids.join(','));
          if (cids.length === 0) {
            this.incomplete = true;
            continue;
          }
          allocated = allocateAveragely(info.readQueues, cids, this.instance.clientId);
        }
        await this.apply(topic, allocated);
      } catch (err) {
        this.incomplete = true;
        this.instance.log.warn({ err, topic }, 'rebalance of topic failed; retrying soon');
      }
    }
  }

  private async apply(topic: string, allocated: readonly MessageQueue[]): Promise<void> {
    const wanted = new Set(allocated.map(queueKey));
    for (const [key, pq] of this.table) {
      if (pq.mq.topic !== topic || wanted.has(key)) continue;
      pq.dropped = true;
      this.table.delete(key);
      if (this.locking) {
        // The lock is released only once the running handler finished: until then no other
        // consumer can lock the queue, so two never process it at once.
        void this.release(pq);
        continue;
      }
      await this.offsets.persist(pq.mq).catch((err: unknown) => this.instance.log.warn({ err, queue: key }, 'could not persist the offset of a queue given away'));
      this.offsets.remove(pq.mq);
      this.instance.log.info({ queue: key }, 'rebalance: queue given away');
    }
    const fresh = allocated.filter((mq) => !this.table.has(queueKey(mq)));
    let held: Set<string> | undefined;
    let lockSentMs = 0;
    if (this.locking && fresh.length > 0) {
      lockSentMs = Date.now();
      held = await lockQueues(this.instance, this.config.group, fresh);
    }
    for (const mq of fresh) {
      const key = queueKey(mq);
      if (this.table.has(key)) continue;
      if (held !== undefined && !held.has(key)) {
        // Another consumer still holds it (or a new leader still pauses grants): try again soon.
        this.incomplete = true;
        continue;
      }
      let offset: number;
      try {
        offset = await this.startOffset(mq);
      } catch (err) {
        this.incomplete = true;
        this.instance.log.warn({ err, queue: key }, 'rebalance: no start offset for a new queue yet');
        continue;
      }
      const pq = new ProcessQueue(mq, offset);
      if (held !== undefined) {
        pq.locked = true;
        pq.lastLockMs = lockSentMs;
      }
      this.table.set(key, pq);
      this.instance.log.info({ queue: key, offset }, 'rebalance: queue taken');
      this.startPull(pq);
    }
  }

  private get locking(): boolean {
    return this.config.orderly === true && this.config.messageModel === MessageModel.CLUSTERING;
  }

  /**
   * Orderly: renews the locks of every owned queue. A queue whose lock is not renewed (another
   * client holds it, a new leader pauses grants, the broker cannot be reached) is dropped with
   * its in-flight messages, its position committed, and taken again by a later run once locked.
   */
  async renewLocks(): Promise<void> {
    if (!this.locking) return;
    const owned = [...this.table.values()].filter((pq) => !pq.dropped);
    if (owned.length === 0) return;
    const sentMs = Date.now();
    const held = await lockQueues(this.instance, this.config.group, owned.map((pq) => pq.mq));
    for (const pq of owned) {
      const key = queueKey(pq.mq);
      if (held.has(key)) {
        pq.locked = true;
        pq.lastLockMs = sentMs;
        continue;
      }
      pq.locked = false;
      pq.dropped = true;
      if (this.table.get(key) === pq) this.table.delete(key);
      this.incomplete = true;
      this.instance.log.warn({ queue: key }, 'lost the lock of a queue: its in-flight messages are dropped and it is taken again once locked');
      // Taken again meanwhile: the new ProcessQueue owns the offset entry.
      void this.offsets.persist(pq.mq).catch(() => undefined).finally(() => {
        if (!this.table.has(key)) this.offsets.remove(pq.mq);
      });
    }
  }

  /** Orderly: releases the lock of a queue given away once its running handler finished. */
  private async release(pq: ProcessQueue): Promise<void> {
    const key = queueKey(pq.mq);
    const deadline = Date.now() + RELEASE_WAIT_MS;
    // Bounded by RELEASE_WAIT_MS: a handler is user code of unknown length.
    while (pq.consuming && Date.now() < deadline) await sleep(10);
    await this.offsets.persist(pq.mq).catch((err: unknown) => this.instance.log.warn({ err, queue: key }, 'could not persist the offset of a queue given away'));
    if (!this.table.has(key)) this.offsets.remove(pq.mq);
    // Taken back meanwhile: the new ProcessQueue holds the same lock (same client id).
    if (pq.locked && !this.table.has(key)) await unlockQueues(this.instance, this.config.group, [pq.mq]);
    pq.locked = false;
    this.instance.log.info({ queue: key }, 'rebalance: queue given away and unlocked');
  }

  /** Orderly: releases every lock still held (shutdown, after the handlers stopped). */
  async unlockAll(pqs: readonly ProcessQueue[]): Promise<void> {
    const held = pqs.filter((pq) => pq.locked);
    for (const pq of held) pq.locked = false;
    if (this.locking && held.length > 0) await unlockQueues(this.instance, this.config.group, held.map((pq) => pq.mq));
  }

  /** The committed offset, else the consumeFromWhere position (RocketMQ's computePullFromWhere). */
  private async startOffset(mq: MessageQueue): Promise<number> {
    const stored = await this.offsets.read(mq, true);
    if (stored >= 0) return stored;
    if (mq.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) return 0;
    const addr = this.instance.routes.addrFor(mq.brokerName);
    if (addr === undefined) throw new Error(`no address for broker ${mq.brokerName}`);
    switch (this.config.consumeFromWhere) {
      case ConsumeFromWhere.FIRST_OFFSET:
        return 0;
      case ConsumeFromWhere.TIMESTAMP:
        return searchOffset(this.instance, addr, mq, this.config.consumeTimestampMs);
      default:
        return getMaxOffset(this.instance, addr, mq);
    }
  }
}
