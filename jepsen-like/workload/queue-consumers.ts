// The poll half of the queue workload: `count` consumer processes of one clustering group, each a
// PullConsumer loop that owns some of the topic's queues, polls them in turn and commits its
// offsets explicitly (every second and when it gives a queue away). Ownership rotates every
// `rebalanceMs` (queue q goes to consumer (q + rotation) mod count): the old owner commits and
// lets go first, then the new owner asks the group's committed offset (QUERY_CONSUMER_OFFSET) and
// resumes there. Every change of a consumer's queues is an `assign` record carrying the offset
// each owned queue resumes from, so the read-order checker holds the first poll to it. A pull
// answered OFFSET_ILLEGAL moves the consumer to the broker's next offset, recorded as a new assign.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { PullConsumer, type MessageQueue, type PullResult } from '../../src/client/index.js';
import type { HistoryRecorder } from '../history/recorder.js';
import { queueKeyOf as keyOf, type ReadItem } from '../history/types.js';
import { errorSummary } from './send-outcome.js';

export interface ConsumerSettings {
  namesrvAddr: string;
  topic: string;
  group: string;
  count: number;
  rebalanceMs: number;
  pullBatch: number;
  /** Long-poll hold per pull; short, because one process polls several queues in turn. */
  suspendMs: number;
  requestTimeoutMs: number;
  routeRefreshMs: number;
  logger: Logger;
  /** Where to dial for a broker address (the run routes clients through proxies). */
  dialAddress?: (addr: string) => string;
  /**
   * The history's key of a queue the client names (default `<topic>/<queueId>`); runs over several
   * groups or through front doors name the group's queue (`broker-b:jepsen/3`).
   */
  queueKeyOf?: (mq: { topic: string; brokerName: string; queueId: number }) => string;
}

export interface ConsumerStats {
  polls: number;
  pollErrors: number;
  messagesRead: number;
  rebalances: number;
  offsetResets: number;
  commitErrors: number;
}

interface Owned {
  mq: MessageQueue;
  next: number;
}

const COMMIT_INTERVAL_MS = 1000;
const IDLE_SLEEP_MS = 50;
const MAX_ERROR_SLEEP_MS = 1000;

export function parseValue(body: Buffer): number | string {
  const text = body.toString('utf8');
  return /^\d{1,15}$/.test(text) ? Number(text) : text;
}

export function readItems(key: string, r: PullResult): ReadItem[] {
  return r.messages.map((m) => ({ queue: key, offset: m.queueOffset, value: parseValue(m.body) }));
}

export class QueueConsumers {
  private readonly consumers: PullConsumer[] = [];
  private readonly owned: Map<string, Owned>[] = [];
  private readonly desired = new Map<string, number>();
  /** Who holds each queue now; undefined while it is between owners. */
  private readonly holder = new Map<string, number>();
  private queues: MessageQueue[] = [];
  private rotation = 0;
  private rebalanceTimer: NodeJS.Timeout | undefined;
  private readonly loops: Promise<void>[] = [];
  private stopping = false;
  readonly stats: ConsumerStats = { polls: 0, pollErrors: 0, messagesRead: 0, rebalances: 0, offsetResets: 0, commitErrors: 0 };

  constructor(
    private readonly s: ConsumerSettings,
    private readonly history: HistoryRecorder,
  ) {
    assert(s.count >= 1 && s.count <= 64, `consumer count out of range: ${s.count}`);
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.s.count; i++) {
      const c = new PullConsumer({
        namesrvAddr: this.s.namesrvAddr,
        consumerGroup: this.s.group,
        instanceName: `jepsen-c${i}`,
        requestTimeoutMs: this.s.requestTimeoutMs,
        routeRefreshIntervalMs: this.s.routeRefreshMs,
        ...(this.s.dialAddress !== undefined ? { dialAddress: this.s.dialAddress } : {}),
        logger: this.s.logger.child({ component: 'consumer', process: `c${i}` }),
      });
      await c.start();
      this.consumers.push(c);
      this.owned.push(new Map());
    }
    this.queues = (await this.consumers[0]!.fetchQueues(this.s.topic)).filter((q) => q.topic === this.s.topic);
    assert(this.queues.length > 0, `topic ${this.s.topic} has no readable queue`);
    this.assignDesired();
    this.rebalanceTimer = setInterval(() => {
      this.rotation++;
      this.stats.rebalances++;
      this.assignDesired();
    }, this.s.rebalanceMs);
    for (let i = 0; i < this.s.count; i++) this.loops.push(this.loop(i));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.rebalanceTimer !== undefined) clearInterval(this.rebalanceTimer);
    await Promise.all(this.loops);
    await Promise.all(this.consumers.map((c) => c.shutdown().catch(() => undefined)));
  }

  private assignDesired(): void {
    this.queues.forEach((mq, q) => this.desired.set(keyOf(this.s, mq), (q + this.rotation) % this.s.count));
  }

  private async loop(i: number): Promise<void> {
    const process = `c${i}`;
    const consumer = this.consumers[i]!;
    const owned = this.owned[i]!;
    let lastCommitMs = Date.now();
    let errors = 0;
    let turn = 0;
    // Bounded by the stop flag; every pull has a timeout.
    while (!this.stopping) {
      await this.reconcile(i, process, consumer, owned);
      if (owned.size === 0) {
        await sleep(IDLE_SLEEP_MS * 2);
        continue;
      }
      const keys = [...owned.keys()];
      const key = keys[turn++ % keys.length]!;
      const o = owned.get(key)!;
      const got = await this.poll(process, consumer, key, o, owned);
      if (got === undefined) {
        errors++;
        await sleep(Math.min(MAX_ERROR_SLEEP_MS, 50 * 2 ** Math.min(errors, 5)));
      } else {
        errors = 0;
        // Nothing new anywhere: do not spin.
        if (got === 0 && turn % keys.length === 0) await sleep(IDLE_SLEEP_MS);
      }
      if (Date.now() - lastCommitMs >= COMMIT_INTERVAL_MS) {
        lastCommitMs = Date.now();
        await Promise.all([...owned.values()].map((x) => this.commit(consumer, x)));
      }
    }
    await Promise.all([...owned.values()].map((x) => this.commit(consumer, x)));
    owned.clear();
  }

  /** One recorded poll; the number of messages read, or undefined when the pull failed. */
  private async poll(process: string, consumer: PullConsumer, key: string, o: Owned, owned: Map<string, Owned>): Promise<number | undefined> {
    this.history.invokeRead(process, 'poll');
    this.stats.polls++;
    let r: PullResult;
    try {
      r = await consumer.pull(o.mq, o.next, this.s.pullBatch, { suspendTimeoutMs: this.s.suspendMs, timeoutMs: this.s.suspendMs + this.s.requestTimeoutMs });
    } catch (err) {
      // A read changes nothing, so a failed one is simply a `fail`.
      this.history.completeRead(process, 'poll', 'fail', null, { error: errorSummary(err) });
      this.stats.pollErrors++;
      return undefined;
    }
    const items = r.status === 'FOUND' ? readItems(key, r) : [];
    this.history.completeRead(process, 'poll', 'ok', items);
    this.stats.messagesRead += items.length;
    if (r.status === 'OFFSET_ILLEGAL') {
      o.next = r.nextBeginOffset;
      this.stats.offsetResets++;
      this.recordAssign(process, owned);
      return 0;
    }
    if (r.status === 'FOUND' && items.length > 0) o.next = items[items.length - 1]!.offset + 1;
    else if (r.status !== 'FOUND') o.next = Math.max(o.next, r.nextBeginOffset);
    return items.length;
  }

  private async commit(consumer: PullConsumer, o: Owned): Promise<boolean> {
    try {
      await consumer.commitOffset(o.mq, o.next);
      return true;
    } catch {
      this.stats.commitErrors++;
      return false;
    }
  }

  /** Lets go of queues now desired elsewhere, takes free ones desired here, records any change. */
  private async reconcile(i: number, process: string, consumer: PullConsumer, owned: Map<string, Owned>): Promise<void> {
    let changed = false;
    for (const [key, o] of owned) {
      if (this.desired.get(key) === i) continue;
      await this.commit(consumer, o);
      owned.delete(key);
      this.holder.delete(key);
      changed = true;
    }
    for (const mq of this.queues) {
      const key = keyOf(this.s, mq);
      if (this.desired.get(key) !== i || owned.has(key) || this.holder.has(key) || this.stopping) continue;
      let committed: number;
      try {
        committed = await consumer.queryOffset(mq);
      } catch {
        continue; // try again on the next round; the queue stays unowned meanwhile
      }
      owned.set(key, { mq, next: committed >= 0 ? committed : 0 });
      this.holder.set(key, i);
      changed = true;
    }
    if (changed) this.recordAssign(process, owned);
  }

  private recordAssign(process: string, owned: Map<string, Owned>): void {
    const startOffsets: Record<string, number> = {};
    for (const [key, o] of owned) startOffsets[key] = o.next;
    this.history.assign(process, [...owned.keys()], startOffsets);
  }
}
