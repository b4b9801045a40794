// The send half of the queue workload: `count` producer processes, each a loop of synchronous
// sends through the public SDK Producer at its share of the run's rate, every value unique in
// the run. Each send is recorded invoke → ok (with queue, acknowledged offset and msgId) / fail /
// info. With `batch` k > 1 a send is one SEND_BATCH of k values; the history has one process per
// value (`p0.0` … `p0.k-1`), all invoked and completed together, because a history process has at
// most one operation open.
// With `transactions` every send is a transaction of a TransactionProducer (group
// `jepsen-tx-producer`): by value, it commits, rolls back, or stays unknown and is decided by the
// broker's check (any producer of the group answers it from the shared decision table). Its
// decision is recorded on the invoke (`txn`); an ok completion names the real queue but no
// offset (the acknowledged offset is the half message's).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Producer, TransactionProducer, type LocalTransactionState, type SendResult } from '../../src/client/index.js';
import type { TxnDecision } from '../history/types.js';
import type { HistoryRecorder } from '../history/recorder.js';
import { queueKeyOf as keyOf } from '../history/types.js';
import { classifySendError, errorSummary } from './send-outcome.js';

export interface ProducerSettings {
  namesrvAddr: string;
  topic: string;
  count: number;
  /** Sends per second over all producers (a batch counts as one send). */
  ratePerSec: number;
  batch: number;
  sendTimeoutMs: number;
  /** The SDK's retryTimesWhenSendFailed; its internal attempts go into the history when reported. */
  clientRetries: number;
  routeRefreshMs: number;
  logger: Logger;
  /** Where to dial for a broker address (the run routes clients through proxies). */
  dialAddress?: (addr: string) => string;
  /** Every send a transaction (the `transactions` workload). */
  transactions?: boolean;
  /**
   * The history's key of a queue the client names (default `<topic>/<queueId>`); runs over several
   * groups or through front doors name the group's queue (`broker-b:jepsen/3`).
   */
  queueKeyOf?: (mq: { topic: string; brokerName: string; queueId: number }) => string;
}

/** How the transaction of `value` goes: [decision, what the local transaction says]. */
export function transactionPlan(value: number): [TxnDecision, LocalTransactionState] {
  switch (value % 4) {
    case 0: return ['commit', 'COMMIT_MESSAGE'];
    case 1: return ['rollback', 'ROLLBACK_MESSAGE'];
    case 2: return ['commit', 'UNKNOW'];
    default: return ['rollback', 'UNKNOW'];
  }
}

const STATE_OF: Record<TxnDecision, LocalTransactionState> = { commit: 'COMMIT_MESSAGE', rollback: 'ROLLBACK_MESSAGE' };

export interface ProducerStats {
  sends: number;
  ok: number;
  fail: number;
  info: number;
}

/** Values are `<run counter>`: numbers, unique across every producer of the run. */
class ValueSource {
  private next = 0;
  take(): number {
    return this.next++;
  }
}

export class QueueProducers {
  private readonly values = new ValueSource();
  private readonly producers: Producer[] = [];
  private readonly loops: Promise<void>[] = [];
  private stopping = false;
  private stopped = false;
  readonly stats: ProducerStats = { sends: 0, ok: 0, fail: 0, info: 0 };

  constructor(
    private readonly s: ProducerSettings,
    private readonly history: HistoryRecorder,
  ) {
    assert(s.count >= 1 && s.count <= 64, `producer count out of range: ${s.count}`);
    assert(s.batch >= 1 && s.batch <= 256, `batch size out of range: ${s.batch}`);
    assert(s.ratePerSec > 0 && s.ratePerSec <= 100_000, `rate out of range: ${s.ratePerSec}`);
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.s.count; i++) {
      const common = {
        namesrvAddr: this.s.namesrvAddr,
        producerGroup: this.s.transactions === true ? 'jepsen-tx-producer' : 'jepsen-producer',
        instanceName: `jepsen-p${i}`,
        sendMsgTimeoutMs: this.s.sendTimeoutMs,
        retryTimesWhenSendFailed: this.s.clientRetries,
        // One group: backing off its only address would only turn sends into failures.
        sendLatencyFaultEnable: false,
        routeRefreshIntervalMs: this.s.routeRefreshMs,
        ...(this.s.dialAddress !== undefined ? { dialAddress: this.s.dialAddress } : {}),
        logger: this.s.logger.child({ component: 'producer', process: `p${i}` }),
      };
      const p = this.s.transactions === true
        ? new TransactionProducer({
          ...common,
          topics: [this.s.topic],
          listener: {
            executeLocalTransaction: (msg) => transactionPlan(Number(String(msg.body)))[1],
            // Every process of the group answers from the same plan (it is a function of the value).
            checkLocalTransaction: (msg) => STATE_OF[transactionPlan(Number(msg.body.toString()))[0]],
          },
        })
        : new Producer(common);
      await p.start();
      this.producers.push(p);
    }
    for (let i = 0; i < this.s.count; i++) this.loops.push(this.loop(i));
  }

  /** Stops issuing sends and waits for the ones in flight (each bounded by its timeout); the producers stay up. */
  async pause(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** pause(), then shuts the producers down. */
  async stop(): Promise<void> {
    await this.pause();
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.producers.map((p) => p.shutdown().catch(() => undefined)));
  }

  private async loop(i: number): Promise<void> {
    const producer = this.producers[i]!;
    const intervalMs = (1000 * this.s.count) / this.s.ratePerSec;
    let nextAtMs = Date.now() + Math.random() * intervalMs;
    // Bounded by the stop flag, which the run sets before its deadline.
    while (!this.stopping) {
      const waitMs = nextAtMs - Date.now();
      if (waitMs > 0) await sleep(waitMs);
      if (this.stopping) break;
      // No catch-up bursts after a slow send: the schedule restarts from now.
      nextAtMs = Math.max(nextAtMs + intervalMs, Date.now());
      if (this.s.batch === 1) await this.sendOne(producer, `p${i}`);
      else await this.sendBatch(producer, i);
    }
  }

  private async sendOne(producer: Producer, process: string): Promise<void> {
    if (producer instanceof TransactionProducer) return this.sendTransaction(producer, process);
    const value = this.values.take();
    this.history.invokeSend(process, { value });
    this.stats.sends++;
    try {
      const r = await producer.send({ topic: this.s.topic, body: String(value) });
      this.history.completeSend(process, 'ok', okValue(value, r, 0, this.s), attemptsOf(r));
      this.stats.ok++;
    } catch (err) {
      const type = classifySendError(err);
      this.history.completeSend(process, type, { value }, { ...attemptsOfError(err), error: errorSummary(err) });
      this.stats[type]++;
    }
  }

  private async sendTransaction(producer: TransactionProducer, process: string): Promise<void> {
    const value = this.values.take();
    const txn = transactionPlan(value)[0];
    this.history.invokeSend(process, { value, txn });
    this.stats.sends++;
    try {
      const r = await producer.sendMessageInTransaction({ topic: this.s.topic, body: String(value) });
      this.history.completeSend(process, 'ok', { value, queue: keyOf(this.s, r), txn }, attemptsOf(r));
      this.stats.ok++;
    } catch (err) {
      const type = classifySendError(err);
      this.history.completeSend(process, type, { value, txn }, { ...attemptsOfError(err), error: errorSummary(err) });
      this.stats[type]++;
    }
  }

  private async sendBatch(producer: Producer, i: number): Promise<void> {
    const values = Array.from({ length: this.s.batch }, () => this.values.take());
    const procs = values.map((_, j) => `p${i}.${j}`);
    values.forEach((value, j) => this.history.invokeSend(procs[j]!, { value }));
    this.stats.sends++;
    try {
      const r = await producer.sendBatch(values.map((v) => ({ topic: this.s.topic, body: String(v) })));
      values.forEach((value, j) => this.history.completeSend(procs[j]!, 'ok', okValue(value, r, j, this.s), attemptsOf(r)));
      this.stats.ok++;
    } catch (err) {
      const type = classifySendError(err);
      const extra = { ...attemptsOfError(err), error: errorSummary(err) };
      values.forEach((value, j) => this.history.completeSend(procs[j]!, type, { value }, extra));
      this.stats[type]++;
    }
  }
}

function okValue(value: number, r: SendResult, indexInBatch: number, s: ProducerSettings): { value: number; queue: string; offset?: number; msgId?: string } {
  const out: { value: number; queue: string; offset?: number; msgId?: string } = { value, queue: keyOf(s, r) };
  // A batch lands in one queue at consecutive offsets from the first one's. A negative offset
  // means the broker did not say (the unsafe ack-before-commit switch answers before dispatch).
  if (Number.isInteger(r.queueOffset) && r.queueOffset >= 0) out.offset = r.queueOffset + indexInBatch;
  const msgId = r.offsetMsgId.split(',')[indexInBatch];
  if (msgId !== undefined && msgId !== '') out.msgId = msgId;
  return out;
}

/** The SDK's request count for an ok send, when its result reports one. */
function attemptsOf(r: SendResult): { attempts?: number } {
  const a = (r as unknown as { attempts?: unknown }).attempts;
  return typeof a === 'number' && a >= 1 ? { attempts: a } : {};
}

function attemptsOfError(err: unknown): { attempts?: number } {
  const a = (err as { attempts?: unknown } | null)?.attempts;
  return typeof a === 'number' && a >= 1 ? { attempts: a } : {};
}
