// SimpleConsumer support: ReceiveMessage (long polling over every readable queue of the topic on
// this broker group), AckMessage and ChangeInvisibleDuration by receipt handle. The per-message
// state lives in an InvisibilityTable on this node; a group's committed offset (the replicated
// one remoting consumers use too) follows the lowest unacknowledged offset of each queue, so a
// restart or failover redelivers only what was not acknowledged (docs/protocol.md, "gRPC").

import { randomBytes } from 'node:crypto';
import { decodeMessageRecord, type MessageRecord } from '../common/message/message-record.js';
import { getProperty, MessageProperty } from '../common/message/message-properties.js';
import { makeRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { PERM_READ } from '../protocol/route-data.js';
import type { BrokerContext } from '../broker/broker-context.js';
import { PULL_MAX_BYTES, tagFilter } from '../broker/processors/pull-message.js';
import { consumerSendBackProcessor } from '../broker/processors/consumer-send-back.js';
import { updateConsumerOffsetProcessor } from '../broker/processors/update-consumer-offset.js';
import { callChannel } from './grpc-channel.js';
import { InvisibilityTable, type QueueLease } from './invisibility.js';
import { toV5Message } from './message-view.js';
import { durationMs, ok, status, type Duration, type Message, type Resource, type Status } from './proto.js';

export interface ReceiveMessageRequest {
  group?: Resource | null;
  messageQueue?: { topic?: Resource | null; id: number } | null;
  filterExpression?: { type: string; expression: string } | null;
  batchSize: number;
  invisibleDuration?: Duration | null;
  /** PushConsumers ask the server to keep their messages invisible and send no duration. */
  autoRenew?: boolean;
  longPollingTimeout?: Duration | null;
}

export type ReceiveOutput = { message: Message } | { status: Status };

export interface AckEntry { messageId: string; receiptHandle: string }

/** A group's retries when it has no subscription group config (RocketMQ's retryMaxTimes default). */
export const DEFAULT_RETRY_MAX_TIMES = 16;

/** Deliveries of one message to a group before it goes to %DLQ%<group>: its retries + the first. */
export function maxDeliveryAttempts(ctx: BrokerContext, group: string): number {
  return (ctx.metadata.subscriptionGroup(group)?.retryMaxTimes ?? DEFAULT_RETRY_MAX_TIMES) + 1;
}

/** Messages per receive (Apache's limit). */
export const MAX_BATCH_SIZE = 32;
export const MIN_INVISIBLE_MS = 1_000;
export const MAX_INVISIBLE_MS = 12 * 3_600_000;
/**
 * The invisible time of a receive that names none and asks for auto-renewal (a PushConsumer).
 * Nothing renews it here: a message still being consumed after this long is delivered again.
 */
export const AUTO_RENEW_INVISIBLE_MS = 60_000;
/** A receive is never held longer than this, whatever the client asks. */
export const MAX_LONG_POLLING_MS = 60_000;
/** Never-delivered messages read ahead per queue and group. */
const READ_AHEAD = 32;
/** Entries (delivered or not) per queue and group before the queue stops reading ahead. */
const MAX_WINDOW = 1_000;
/** Answer this much before the client's own deadline. */
const DEADLINE_MARGIN_MS = 500;
/** When long polling cannot register (too many held pulls), look again after this long. */
const FULL_RETRY_MS = 200;

interface Handle { topic: string; queueId: number; offset: number; nonce: number }

/** This process: a handle issued by another node or before a restart is refused as stale. */
const EPOCH = randomBytes(4).toString('hex');

export function encodeHandle(h: Handle): string {
  return Buffer.from(JSON.stringify([EPOCH, h.topic, h.queueId, h.offset, h.nonce])).toString('base64url');
}

export function decodeHandle(text: string): Handle | undefined {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 5 || v[0] !== EPOCH || typeof v[1] !== 'string') return undefined;
    const [, topic, queueId, offset, nonce] = v as [string, string, number, number, number];
    if (![queueId, offset, nonce].every(Number.isSafeInteger)) return undefined;
    return { topic, queueId, offset, nonce };
  } catch {
    return undefined;
  }
}

export class SimpleConsumeService {
  readonly table: InvisibilityTable;
  private rotation = 0;
  /** Held receives per group and topic, woken when one of their messages becomes visible early. */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly ctx: BrokerContext,
    table?: InvisibilityTable,
  ) {
    this.table = table ?? new InvisibilityTable();
  }

  /** Answers one ReceiveMessage: messages then a final status. `cancelled` ends a held receive. */
  async receive(req: ReceiveMessageRequest, callDeadlineMs: number, cancelled: () => boolean, onCancel: Promise<void> = new Promise(() => {})): Promise<ReceiveOutput[]> {
    const ctx = this.ctx;
    const group = req.group?.name ?? '';
    const topic = req.messageQueue?.topic?.name ?? '';
    if (group === '') return [{ status: status('ILLEGAL_CONSUMER_GROUP', 'the consumer group is empty') }];
    const config = ctx.metadata.topic(topic);
    if (config === undefined) return [{ status: status('TOPIC_NOT_FOUND', `topic ${topic} does not exist on broker group ${ctx.config.brokerName}`) }];
    if ((config.perm & PERM_READ) === 0) return [{ status: status('FORBIDDEN', `topic ${topic} is not readable (perm ${config.perm})`) }];
    const filter = req.filterExpression;
    if (filter && filter.type === 'SQL') return [{ status: status('ILLEGAL_FILTER_EXPRESSION', 'SQL92 filters are not supported; use a TAG expression') }];
    const batch = req.batchSize;
    if (!(batch >= 1 && batch <= MAX_BATCH_SIZE)) return [{ status: status('BAD_REQUEST', `batch size ${batch} is outside 1..${MAX_BATCH_SIZE}`) }];
    const invisibleMs = durationMs(req.invisibleDuration) ?? (req.autoRenew === true ? AUTO_RENEW_INVISIBLE_MS : undefined);
    if (invisibleMs === undefined || invisibleMs < MIN_INVISIBLE_MS || invisibleMs > MAX_INVISIBLE_MS) {
      return [{ status: status('ILLEGAL_INVISIBLE_TIME', `invisible duration ${invisibleMs ?? 'missing'} ms is outside ${MIN_INVISIBLE_MS}..${MAX_INVISIBLE_MS} ms`) }];
    }
    const tags = tagFilter(filter?.expression);
    const queues = Array.from({ length: config.readQueueNums }, (_, i) => i);
    const pollMs = Math.min(durationMs(req.longPollingTimeout) ?? 0, MAX_LONG_POLLING_MS, callDeadlineMs - ctx.nowMs() - DEADLINE_MARGIN_MS);
    const deadline = ctx.nowMs() + Math.max(0, pollMs);
    // Bounded: each turn delivers, or waits for an arrival, a visibility deadline or the poll's end.
    for (;;) {
      const out = this.collect(group, topic, queues, batch, invisibleMs, tags);
      if (out.length > 0) return [...out, { status: ok() }];
      const left = deadline - ctx.nowMs();
      if (left <= 0 || cancelled()) break;
      if (this.table.room() === 0) return [{ status: status('TOO_MANY_REQUESTS', `this node tracks ${this.table.trackedCount} unacknowledged messages; acknowledge some and retry`) }];
      await this.waitForWork(group, topic, queues, left, onCancel);
    }
    return [{ status: status('MESSAGE_NOT_FOUND', 'no new message within the long polling time') }];
  }

  private collect(group: string, topic: string, queues: number[], batch: number, invisibleMs: number, tags: ((h: number) => boolean) | undefined): ReceiveOutput[] {
    const out: ReceiveOutput[] = [];
    const start = this.rotation++;
    for (let i = 0; i < queues.length && out.length < batch; i++) {
      const queueId = queues[(start + i) % queues.length]!;
      const lease = this.table.lease(group, topic, queueId, () => this.ctx.offsets.query(group, topic, queueId) ?? 0);
      this.readAhead(topic, queueId, lease, batch, tags);
      const now = this.ctx.nowMs();
      const maxAttempts = maxDeliveryAttempts(this.ctx, group);
      for (const d of this.table.deliver(lease, batch - out.length, now, invisibleMs)) {
        if (d.entry.attempts > maxAttempts) {
          // Delivered as often as the group allows: to its dead-letter topic instead. Invisible
          // meanwhile; should that fail it becomes visible again and is tried again.
          void this.deadLetter(group, topic, queueId, lease, d.entry.offset, d.handleNonce);
          continue;
        }
        const record = this.readOne(topic, queueId, d.entry.offset);
        if (record === undefined) {
          // Gone from the store (retention): nothing to deliver, so it counts as done.
          this.acked(group, topic, queueId, this.table.ack(lease, d.entry.offset, d.handleNonce));
          continue;
        }
        const receiptHandle = encodeHandle({ topic, queueId, offset: d.entry.offset, nonce: d.handleNonce });
        out.push({ message: toV5Message(record, { receiptHandle, attempt: d.entry.attempts, invisibleMs }) });
      }
    }
    return out;
  }

  /** Tracks new messages at the lease's cursor when it has too few never-delivered ones. */
  private readAhead(topic: string, queueId: number, lease: QueueLease, batch: number, tags: ((h: number) => boolean) | undefined): void {
    let fresh = 0;
    for (const e of lease.entries.values()) if (e.attempts === 0) fresh++;
    const want = Math.min(READ_AHEAD, MAX_WINDOW - lease.entries.size, this.table.room());
    if (fresh >= batch || want <= 0) return;
    const r = this.ctx.store.getMessage(topic, queueId, lease.cursor, want, PULL_MAX_BYTES, tags);
    if (r.status === 'FOUND') {
      for (const buf of r.messages) {
        const rec = decodeMessageRecord(buf);
        this.table.track(lease, rec.queueOffset, getProperty(rec.properties, MessageProperty.SHARDING_KEY));
      }
      this.table.skipTo(lease, r.nextBeginOffset);
    } else if (r.status === 'NO_MATCHED_MESSAGE' || r.status === 'OFFSET_TOO_SMALL') {
      this.table.skipTo(lease, r.nextBeginOffset);
    }
  }

  private readOne(topic: string, queueId: number, offset: number): MessageRecord | undefined {
    const r = this.ctx.store.getMessage(topic, queueId, offset, 1, PULL_MAX_BYTES);
    if (r.status !== 'FOUND' || r.messages.length === 0) return undefined;
    const rec = decodeMessageRecord(r.messages[0]!);
    return rec.queueOffset === offset ? rec : undefined;
  }

  private async waitForWork(group: string, topic: string, queues: number[], leftMs: number, onCancel: Promise<void>): Promise<void> {
    let until = leftMs;
    for (const q of queues) {
      const lease = this.table.peek(group, topic, q);
      const at = lease === undefined ? undefined : this.table.nextVisibleAt(lease);
      if (at !== undefined) until = Math.min(until, Math.max(0, at - this.ctx.nowMs()));
    }
    // One channel per turn: finishing it lets the hold service drop this turn's other holds.
    const channel = callChannel('0.0.0.0:0');
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    const timeout = new Promise<'timer'>((r) => {
      timer = setTimeout(() => r('timer'), until);
    });
    const woken = new Promise<'woken'>((r) => {
      wake = () => r('woken');
    });
    const key = `${group}\u0000${topic}`;
    let set = this.waiters.get(key);
    if (set === undefined) this.waiters.set(key, (set = new Set()));
    set.add(wake!);
    try {
      const first = await Promise.race([timeout, woken, onCancel, ...queues.map((q) => this.ctx.waitForMessage(topic, q, until, channel))]);
      if (first === 'full') await new Promise((r) => setTimeout(r, Math.min(FULL_RETRY_MS, until)));
    } finally {
      clearTimeout(timer);
      channel.finish();
      set.delete(wake!);
      if (set.size === 0) this.waiters.delete(key);
    }
  }

  /** Wakes the held receives of a group and topic (a message of theirs became visible earlier). */
  private wakeWaiters(group: string, topic: string): void {
    const set = this.waiters.get(`${group}\u0000${topic}`);
    if (set !== undefined) for (const w of [...set]) w();
  }

  ack(group: string, topic: string, entries: AckEntry[]): { status: Status; entries: { messageId: string; receiptHandle: string; status: Status }[] } {
    const results = entries.map((e) => ({ messageId: e.messageId, receiptHandle: e.receiptHandle, status: this.ackOne(group, topic, e.receiptHandle) }));
    const failed = results.find((r) => r.status.code !== 'OK');
    if (failed === undefined) return { status: ok(), entries: results };
    return { status: results.length === 1 ? failed.status : status('MULTIPLE_RESULTS', 'some entries were not acknowledged; see each entry'), entries: results };
  }

  private ackOne(group: string, topic: string, receiptHandle: string): Status {
    const found = this.find(group, topic, receiptHandle);
    if ('code' in found) return found;
    this.acked(group, topic, found.h.queueId, this.table.ack(found.lease, found.h.offset, found.h.nonce));
    // The next message of its message group may be receivable now.
    this.wakeWaiters(group, topic);
    return ok();
  }

  private acked(group: string, topic: string, queueId: number, result: number | 'stale' | 'unchanged'): void {
    if (typeof result === 'number') this.commit(group, topic, queueId, result);
  }

  /** ForwardMessageToDeadLetterQueue: the client gives up on a delivery; its message goes to %DLQ%<group>. */
  async forwardToDeadLetter(group: string, topic: string, receiptHandle: string): Promise<Status> {
    const found = this.find(group, topic, receiptHandle);
    if ('code' in found) return found;
    return this.deadLetter(group, topic, found.h.queueId, found.lease, found.h.offset, found.h.nonce);
  }

  /**
   * Stores the message in %DLQ%<group> through the send-back processor (the path a remoting
   * consumer's give-up takes, relayed to the leader from a follower), then acknowledges it.
   */
  private async deadLetter(group: string, topic: string, queueId: number, lease: QueueLease, offset: number, nonce: number): Promise<Status> {
    const record = this.readOne(topic, queueId, offset);
    if (record === undefined) {
      this.acked(group, topic, queueId, this.table.ack(lease, offset, nonce));
      return ok('the message is gone from the store; nothing to forward');
    }
    const req = makeRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { group, offset: String(record.physicalOffset), delayLevel: '-1', originTopic: topic, maxReconsumeTimes: '0' });
    try {
      const resp = await consumerSendBackProcessor.handle(this.ctx, req, callChannel('0.0.0.0:0'));
      if (!resp || resp.code !== ResponseCode.SUCCESS) {
        this.ctx.log.warn({ group, topic, queueId, offset, code: resp?.code, remark: resp?.remark }, 'gRPC: moving a message to its dead-letter topic failed; it will be delivered again');
        return status('INTERNAL_SERVER_ERROR', `moving the message to the dead-letter topic failed: ${resp?.remark ?? 'no answer'}`);
      }
    } catch (err) {
      this.ctx.log.warn({ err, group, topic, queueId, offset }, 'gRPC: moving a message to its dead-letter topic failed; it will be delivered again');
      return status('INTERNAL_SERVER_ERROR', `moving the message to the dead-letter topic failed: ${(err as Error).message}`);
    }
    const result = this.table.ack(lease, offset, nonce);
    this.acked(group, topic, queueId, result);
    return result === 'stale' ? staleHandle() : ok();
  }

  changeInvisibleDuration(group: string, topic: string, receiptHandle: string, d: Duration | null | undefined): { status: Status; receiptHandle: string } {
    const ms = durationMs(d);
    // Down to 0 (visible at once): a PushConsumer's retry of a failed message asks for its backoff,
    // which can be a few milliseconds.
    if (ms === undefined || ms < 0 || ms > MAX_INVISIBLE_MS) {
      return { status: status('ILLEGAL_INVISIBLE_TIME', `invisible duration ${ms ?? 'missing'} ms is outside 0..${MAX_INVISIBLE_MS} ms`), receiptHandle: '' };
    }
    const found = this.find(group, topic, receiptHandle);
    if ('code' in found) return { status: found, receiptHandle: '' };
    const nonce = this.table.changeInvisible(found.lease, found.h.offset, found.h.nonce, this.ctx.nowMs() + ms);
    if (nonce === 'stale') return { status: staleHandle(), receiptHandle: '' };
    this.wakeWaiters(group, topic);
    return { status: ok(), receiptHandle: encodeHandle({ ...found.h, nonce }) };
  }

  private find(group: string, topic: string, receiptHandle: string): { h: Handle; lease: QueueLease } | Status {
    const h = decodeHandle(receiptHandle);
    if (h === undefined || h.topic !== topic) return status('INVALID_RECEIPT_HANDLE', 'the receipt handle was not issued by this node (or the node restarted since); receive the message again');
    const lease = this.table.peek(group, topic, h.queueId);
    const e = lease?.entries.get(h.offset);
    if (lease === undefined || e === undefined || e.nonce !== h.nonce) return staleHandle();
    return { h, lease };
  }

  /** Moves the group's replicated offset (relayed to the leader from a follower), in the background. */
  private commit(group: string, topic: string, queueId: number, offset: number): void {
    const req = makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: String(queueId), commitOffset: String(offset) });
    Promise.resolve(updateConsumerOffsetProcessor.handle(this.ctx, req, callChannel('0.0.0.0:0'))).then(
      (resp) => {
        if (resp && resp.code !== ResponseCode.SUCCESS) this.ctx.log.warn({ group, topic, queueId, offset, code: resp.code, remark: resp.remark }, 'gRPC ack: committing the consumer offset failed; a restart may redeliver');
      },
      (err: unknown) => this.ctx.log.warn({ err, group, topic, queueId, offset }, 'gRPC ack: committing the consumer offset failed; a restart may redeliver'),
    );
  }
}

function staleHandle(): Status {
  return status('INVALID_RECEIPT_HANDLE', 'the receipt handle expired: the message became visible again or was acknowledged; receive it again');
}
