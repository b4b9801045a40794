// SEND_BATCH_MESSAGE (320): several messages of one topic in one request, body in RocketMQ's
// MessageDecoder.encodeMessages form (per message: totalSize 4, magic 4, bodyCRC 4, flag 4,
// body length 4 + body, properties length 2 + properties). Every message becomes one record and
// all the records travel as ONE Raft entry, so the batch lands in one queue, in order, at once.
// The producer hears SEND_OK with the comma-separated message ids and the first queue offset.
// Messages repeating a UNIQ_KEY stored within the de-duplication window are not stored again
// (the idempotent producer, dedup-window.ts): a retried batch gets its first answer.
// Delays are refused (as Apache does): a batch is stored in its queue at once or not at all.
// A follower relays the request to the leader (ctx.writeOrForward).

import { checkTopicName } from '../../common/names.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import type { RemotingChannel } from '../../protocol/remoting-server.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { parseSendMessageHeader } from '../../protocol/send-message-header.js';
import { encodeMessageRecords, getProperty, MAX_PROPERTIES_BYTES, parseProperties, type MessageRecord } from '../../store/index.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { delayLevelOf } from '../delay-rewrite.js';
import { isForbiddenSendTopic, RETRY_TOPIC_PREFIX, DLQ_TOPIC_PREFIX } from '../topic-rules.js';
import { splitHostPort } from './send-message.js';
import { resolveWriteQueue } from './write-queue.js';
import { batchTransactionRefusal } from './transaction-refusal.js';
import { RmqError } from '../../common/errors.js';
import { DedupWindow, dedupWindowOf, type DedupHit } from '../dedup-window.js';

/** Messages per batch: bounds the records (and allocations) one request can make. */
export const MAX_MESSAGES_PER_BATCH = 1024;
/** totalSize, magic, bodyCRC, flag, body length, properties length. */
const ENTRY_FIXED_BYTES = 22;
/** Room kept free in a log segment: a Raft entry must fit in one. */
const SEGMENT_HEADROOM_BYTES = 64 * 1024;

export interface BatchEntryView {
  flag: number;
  body: Buffer;
  properties: string;
}

export class BadBatchError extends RmqError<'ERR_BROKER_BAD_BATCH'> {
  constructor(message: string) {
    super('ERR_BROKER_BAD_BATCH', message);
  }
}

/**
 * Splits a batch body into its messages (bodies are views, not copies). Throws BadBatchError
 * naming the message and byte where the body stops making sense.
 */
export function decodeBatchBody(body: Buffer, maxMessages: number): BatchEntryView[] {
  const out: BatchEntryView[] = [];
  let p = 0;
  // Bounded: each turn consumes at least ENTRY_FIXED_BYTES, and at most maxMessages turns.
  while (p < body.length) {
    const n = out.length + 1;
    if (out.length >= maxMessages) throw new BadBatchError(`the batch holds more than ${maxMessages} messages; split it into batches of at most ${maxMessages}`);
    if (body.length - p < ENTRY_FIXED_BYTES) throw new BadBatchError(`message #${n} at byte ${p} is cut short: ${body.length - p} bytes left, at least ${ENTRY_FIXED_BYTES} needed`);
    const size = body.readInt32BE(p);
    if (size < ENTRY_FIXED_BYTES || p + size > body.length) throw new BadBatchError(`message #${n} at byte ${p} claims ${size} bytes but ${body.length - p} remain`);
    const bodyLength = body.readInt32BE(p + 16);
    if (bodyLength < 0 || 20 + bodyLength + 2 > size) throw new BadBatchError(`message #${n} at byte ${p} claims a body of ${bodyLength} bytes inside ${size}`);
    const propsAt = p + 20 + bodyLength;
    const propsLength = body.readInt16BE(propsAt);
    if (propsLength < 0 || 20 + bodyLength + 2 + propsLength !== size) {
      throw new BadBatchError(`message #${n} at byte ${p}: properties of ${propsLength} bytes do not end the message of ${size} bytes`);
    }
    out.push({ flag: body.readInt32BE(p + 12), body: body.subarray(p + 20, propsAt), properties: body.toString('utf8', propsAt + 2, propsAt + 2 + propsLength) });
    p += size;
  }
  return out;
}

/** The batch-wide header properties added to a message's own (its own win). */
function mergeProperties(own: string, batchWide: Map<string, string>): string {
  if (batchWide.size === 0) return own;
  let out = own.length > 0 && !own.endsWith('\x02') ? `${own}\x02` : own;
  for (const [k, v] of batchWide) if (getProperty(own, k) === undefined) out += `${k}\x01${v}\x02`;
  return out;
}

function illegal(req: RemotingCommand, remark: string): RemotingCommand {
  return makeResponse(req, ResponseCode.MESSAGE_ILLEGAL, remark);
}

function handleSendBatch(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand> {
  return ctx.writeOrForward(req, () => storeBatch(ctx, req, channel));
}

/** On the ready leader: validate, build one record per message, append them as one entry. */
async function storeBatch(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand> {
  // Apache reads 320 with SEND_MESSAGE_V2's one-letter names; accept the long names too.
  const h = parseSendMessageHeader(req.extFields, req.extFields['b'] !== undefined);
  checkTopicName(h.topic);
  if (isForbiddenSendTopic(h.topic)) return makeResponse(req, ResponseCode.NO_PERMISSION, `sending to the system topic ${h.topic} is forbidden`);
  if (h.topic.startsWith(RETRY_TOPIC_PREFIX) || h.topic.startsWith(DLQ_TOPIC_PREFIX)) {
    return illegal(req, `batch sends to the retry or dead-letter topic ${h.topic} are not supported; send those messages one by one`);
  }
  const body = req.body;
  if (!body || body.length === 0) return illegal(req, 'the batch body is empty; put at least one encoded message in it');
  if (body.length > ctx.config.maxMessageSize) {
    return illegal(req, `batch body of ${body.length} bytes exceeds maxMessageSize ${ctx.config.maxMessageSize}; send smaller batches`);
  }
  const transactional = batchTransactionRefusal(h.sysFlag, h.properties);
  if (transactional !== undefined) return makeResponse(req, ResponseCode.NO_PERMISSION, transactional);
  if (delayLevelOf(h.properties) > 0) return illegal(req, 'a batch cannot carry a delay level (DELAY); send delayed messages one by one');

  let entries: BatchEntryView[];
  try {
    entries = decodeBatchBody(body, MAX_MESSAGES_PER_BATCH);
  } catch (err) {
    if (err instanceof BadBatchError) return illegal(req, `malformed batch body: ${err.message}`);
    throw err;
  }
  const batchWide = parseProperties(h.properties);

  const resolved = resolveWriteQueue(ctx, req, h.topic, h.queueId, { queueNums: ctx.config.defaultTopicQueueNums, autoCreate: ctx.config.autoCreateTopicEnable });
  const target = resolved instanceof Promise ? await resolved : resolved;
  if ('refusal' in target) return target.refusal;
  const queueId = target.queueId;

  const [bornHost, bornPort] = splitHostPort(channel.remoteAddress);
  const storeTimestamp = ctx.nowMs();
  const records: MessageRecord[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const properties = mergeProperties(e.properties, batchWide);
    const ownTransactional = batchTransactionRefusal(0, properties);
    if (ownTransactional !== undefined) return makeResponse(req, ResponseCode.NO_PERMISSION, `message #${i + 1} of the batch: ${ownTransactional}`);
    if (delayLevelOf(properties) > 0) return illegal(req, `message #${i + 1} of the batch carries a delay level (DELAY); send delayed messages one by one`);
    const propertiesBytes = Buffer.byteLength(properties);
    if (propertiesBytes > MAX_PROPERTIES_BYTES) return illegal(req, `message #${i + 1} has properties of ${propertiesBytes} bytes, more than ${MAX_PROPERTIES_BYTES}`);
    records.push({
      topic: h.topic,
      queueId,
      flag: e.flag,
      queueOffset: 0,
      physicalOffset: -1,
      sysFlag: h.sysFlag & ~0x30,
      bornTimestamp: h.bornTimestamp,
      bornHost,
      bornPort,
      storeTimestamp,
      storeHost: ctx.storeHost.host,
      storePort: ctx.storeHost.port,
      reconsumeTimes: h.reconsumeTimes,
      preparedTransactionOffset: 0,
      body: e.body,
      properties,
    });
  }
  const payload = encodeMessageRecords(records);
  const segmentBytes = ctx.config.mappedFileSizeCommitLog;
  const entryLimit = segmentBytes - Math.min(SEGMENT_HEADROOM_BYTES, Math.floor(segmentBytes / 16));
  if (payload.length > entryLimit) {
    return illegal(req, `the batch's ${records.length} messages take ${payload.length} bytes as stored records, more than one log segment holds (${entryLimit}); send smaller batches`);
  }
  // The idempotent producer (dedup-window.ts): messages whose UNIQ_KEY the topic holds within
  // the window are not stored again (retry and DLQ topics were refused above).
  const window = dedupWindowOf(ctx);
  const keys = window === undefined ? [] : records.map((r) => DedupWindow.keyOf(r.properties));
  if (window === undefined || keys.every((k) => k === undefined)) return putBatch(ctx, req, queueId, records, payload, undefined);
  return window.onceBatch(h.topic, keys, (hits) => putBatch(ctx, req, queueId, records, payload, hits));
}

/**
 * Appends the records of the batch not already stored (`hits[i]`: message i's stored copy) as
 * one entry. SEND_OK lists every message's offset id in batch order, the stored copies' for the
 * repeats; queueId and queueOffset are the first stored-now message's, or, when every message
 * was a repeat, the first stored copy's (a retried batch thus gets its first answer).
 */
async function putBatch(ctx: BrokerContext, req: RemotingCommand, queueId: number, records: MessageRecord[], payload: Buffer, hits: readonly (DedupHit | undefined)[] | undefined): Promise<RemotingCommand> {
  const fresh = hits === undefined ? records : records.filter((_, i) => hits[i] === undefined);
  if (fresh.length === 0) return duplicateBatchAnswer(req, hits as DedupHit[]);
  const result = await ctx.raft.putRecords(fresh.length === records.length ? payload : encodeMessageRecords(fresh), fresh.length);
  const first = result.records[0]!;
  let stored = 0;
  const ids = records.map((_, i) => hits?.[i]?.msgId ?? result.records[stored++]!.msgId);
  const repeats = records.length - fresh.length;
  const remark = repeats === 0 ? undefined : `${repeats} of the batch's ${records.length} messages repeat ids stored within the de-duplication window and were not stored again (msgId lists their stored copies); the other ${fresh.length} were stored from queue offset ${first.queueOffset}`;
  return makeResponse(req, ResponseCode.SUCCESS, remark, {
    msgId: ids.join(','),
    queueId: String(queueId),
    queueOffset: String(first.queueOffset),
  });
}

/** SEND_OK for a batch whose every message was stored within the window: the stored copies' result. */
function duplicateBatchAnswer(req: RemotingCommand, hits: readonly DedupHit[]): RemotingCommand {
  const first = hits[0]!;
  return makeResponse(req, ResponseCode.SUCCESS, `every message of the batch repeats one stored within the de-duplication window (first: ${first.msgId}, queue ${first.queueId}, offset ${first.queueOffset}); not stored again`, {
    msgId: hits.map((x) => x.msgId).join(','),
    queueId: String(first.queueId),
    queueOffset: String(first.queueOffset),
  });
}

export const sendBatchProcessor: BrokerProcessor = {
  name: 'send-batch',
  codes: [RequestCode.SEND_BATCH_MESSAGE],
  handle: handleSendBatch,
};
