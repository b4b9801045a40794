// SEND_MESSAGE (10, long header names) and SEND_MESSAGE_V2 (310, one-letter names): validate,
// create the topic if allowed, encode one record (body, sysFlag and properties exactly as
// received; store time and host from this broker; born host from the connection) and append it
// through Raft. The producer hears SEND_OK only once the entry is committed and dispatched here,
// with the queue offset the dispatch gave it. A follower relays the request to the leader.

import { checkTopicName } from '../../common/names.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import type { RemotingChannel } from '../../protocol/remoting-server.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { parseSendMessageHeader, type SendMessageRequestHeader } from '../../protocol/send-message-header.js';
import { encodeMessageRecord, getProperty, MAX_PROPERTIES_BYTES, MessageProperty, toIPv4, type MessageRecord } from '../../store/index.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { applyDelayLevel } from '../delay-rewrite.js';
import { DedupWindow, dedupWindowOf, duplicateAnswer } from '../dedup-window.js';
import { resolveWriteQueue } from './write-queue.js';
import { transactionRefusal } from './transaction-refusal.js';
import { isHalfSend, toHalfRecord } from '../transaction/half-message.js';
import { dlqTopicOf, isForbiddenSendTopic, isRetryOrDlqTopic, RETRY_TOPIC_PREFIX } from '../topic-rules.js';

const EMPTY = Buffer.alloc(0);
/** "ip:port" → [IPv4, port]; IPv6 peers become 0.0.0.0 (clients cannot read 16-byte hosts). */
let lastAddr = '';
let lastSplit: [string, number] = ['0.0.0.0', 0];

export function splitHostPort(addr: string): [string, number] {
  // Sends arrive in runs from one connection: the last answer is usually the right one.
  if (addr === lastAddr) return lastSplit;
  lastSplit = splitHostPortUncached(addr);
  lastAddr = addr;
  return lastSplit;
}

function splitHostPortUncached(addr: string): [string, number] {
  const colon = addr.lastIndexOf(':');
  const host = colon < 0 ? addr : addr.slice(0, colon);
  const port = colon < 0 ? 0 : Number(addr.slice(colon + 1));
  return [toIPv4(host), Number.isInteger(port) && port >= 0 && port <= 65535 ? port : 0];
}

function refuse(req: RemotingCommand, code: number, remark: string): RemotingCommand {
  return makeResponse(req, code, remark);
}

function handleSend(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand> {
  return ctx.writeOrForward(req, () => storeMessage(ctx, req, channel));
}

async function storeMessage(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand> {
  const h = parseSendMessageHeader(req.extFields, req.code === RequestCode.SEND_MESSAGE_V2);
  checkTopicName(h.topic);
  if (isForbiddenSendTopic(h.topic)) return refuse(req, ResponseCode.NO_PERMISSION, `sending to the system topic ${h.topic} is forbidden`);
  const transactional = transactionRefusal(h.sysFlag);
  if (transactional !== undefined) return refuse(req, ResponseCode.NO_PERMISSION, transactional);
  const half = isHalfSend(h.sysFlag, h.properties);
  if (half && isRetryOrDlqTopic(h.topic)) return refuse(req, ResponseCode.MESSAGE_ILLEGAL, `a half (transaction) message cannot go to the retry or dead-letter topic ${h.topic}`);
  const body = req.body ?? EMPTY;
  if (body.length > ctx.config.maxMessageSize) {
    return refuse(req, ResponseCode.MESSAGE_ILLEGAL, `message body of ${body.length} bytes exceeds maxMessageSize ${ctx.config.maxMessageSize}`);
  }
  if (Buffer.byteLength(h.properties) > MAX_PROPERTIES_BYTES) {
    return refuse(req, ResponseCode.MESSAGE_ILLEGAL, `message properties of ${Buffer.byteLength(h.properties)} bytes exceed ${MAX_PROPERTIES_BYTES}`);
  }
  const internalTopic = isRetryOrDlqTopic(h.topic);
  const resolved = resolveWriteQueue(ctx, req, h.topic, h.queueId, { queueNums: internalTopic ? 1 : ctx.config.defaultTopicQueueNums, autoCreate: internalTopic || ctx.config.autoCreateTopicEnable });
  const target = resolved instanceof Promise ? await resolved : resolved;
  if ('refusal' in target) return target.refusal;
  const queueId = target.queueId;
  const record = buildRecord(ctx, h, queueId, body, channel);
  if (half) {
    // The producer group answers the check: PGROUP names it (RocketMQ clients set it; the header has it too).
    if (getProperty(record.properties, MessageProperty.PRODUCER_GROUP) === undefined) record.properties += `${MessageProperty.PRODUCER_GROUP}\x01${h.producerGroup}\x02`;
    toHalfRecord(record);
  } else {
    const rerouted = h.topic.startsWith(RETRY_TOPIC_PREFIX) && (await routeRetryPastMax(ctx, h, record));
    if (!rerouted) applyDelayLevel(record, delayLevelCount(ctx.config.messageDelayLevel));
  }
  const put = async (): Promise<RemotingCommand> => {
    const result = await ctx.raft.putRecords(encodeMessageRecord(record), 1);
    const r = result.records[0]!;
    // For a half message queueOffset is its offset in the half queue (END_TRANSACTION's tranStateTableOffset).
    return makeResponse(req, ResponseCode.SUCCESS, undefined, { msgId: r.msgId, queueId: String(queueId), queueOffset: String(r.queueOffset) });
  };
  // The idempotent producer: a repeat of an id stored within the window gets the first result
  // (a repeated half message too: its key is looked up in the half topic).
  const window = internalTopic ? undefined : dedupWindowOf(ctx);
  const uniqKey = window === undefined ? undefined : DedupWindow.keyOf(h.properties);
  if (window === undefined || uniqKey === undefined) return put();
  return window.once(record.topic, uniqKey, (hit) => duplicateAnswer(req, hit), put);
}

let lastDelayLevels = '';
let lastDelayLevelCount = 0;

/** Levels in messageDelayLevel (split once, not per send). */
function delayLevelCount(levels: string): number {
  if (levels !== lastDelayLevels) {
    lastDelayLevelCount = levels.split(' ').length;
    lastDelayLevels = levels;
  }
  return lastDelayLevelCount;
}

function buildRecord(ctx: BrokerContext, h: SendMessageRequestHeader, queueId: number, body: Buffer, channel: RemotingChannel): MessageRecord {
  const [bornHost, bornPort] = splitHostPort(channel.remoteAddress);
  return {
    topic: h.topic,
    queueId,
    flag: h.flag,
    queueOffset: 0,
    physicalOffset: -1,
    sysFlag: h.sysFlag & ~0x30,
    bornTimestamp: h.bornTimestamp,
    bornHost,
    bornPort,
    storeTimestamp: ctx.nowMs(),
    storeHost: ctx.storeHost.host,
    storePort: ctx.storeHost.port,
    reconsumeTimes: h.reconsumeTimes,
    preparedTransactionOffset: 0,
    body,
    properties: h.properties,
  };
}

/**
 * A message re-sent by a client to its retry topic after too many attempts goes to the
 * group's dead-letter topic instead (as Apache's send path does). Returns true if rerouted.
 */
async function routeRetryPastMax(ctx: BrokerContext, h: SendMessageRequestHeader, record: MessageRecord): Promise<boolean> {
  if (!h.topic.startsWith(RETRY_TOPIC_PREFIX) || h.maxReconsumeTimes === undefined) return false;
  if (h.reconsumeTimes < h.maxReconsumeTimes) return false;
  const dlq = dlqTopicOf(h.topic.slice(RETRY_TOPIC_PREFIX.length));
  await ctx.ensureTopic(dlq, 1, true);
  record.topic = dlq;
  record.queueId = 0;
  return true;
}

export const sendMessageProcessor: BrokerProcessor = {
  name: 'send-message',
  codes: [RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2],
  handle: handleSend,
};
