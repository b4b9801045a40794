// SendMessage: each v5 message becomes the SEND_MESSAGE request a remoting producer would send
// and goes through the broker's own send processor (validation, topic auto-creation, the delay
// rewrite, relaying to the Raft leader), so both protocols store the same records. Mapping:
// tag → TAGS, keys → KEYS, message id → UNIQ_KEY, message group → __SHARDINGKEY, the queue the
// client chose (which its send receipt names; a group's queue comes from its hash, so order holds
// per group), delivery timestamp → the smallest
// delay level that is not earlier (capped at the last level); a TRANSACTION message becomes a half
// message (transaction.ts). docs/protocol.md, "gRPC".

import { javaStringHash } from '../common/message/java-hash.js';
import { hasPropertySeparator, MessageProperty } from '../common/message/message-properties.js';
import { makeRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import type { BrokerContext } from '../broker/broker-context.js';
import { sendMessageProcessor } from '../broker/processors/send-message.js';
import { parseDelayLevels } from '../broker/schedule/delay-levels.js';
import type { RemotingChannel } from '../protocol/remoting-server.js';
import { ok, status, timestampMs, type Message, type Status } from './proto.js';
import { statusOfError, statusOfResponse } from './status-map.js';
import { grpcTransactionGroup, transactionIdOf } from './transaction.js';
import { SysFlag } from '../common/message/record-layout.js';
import { DEFAULT_TOPIC } from '../common/system-topics.js';

export interface SendResultEntry { status: Status; messageId: string; transactionId: string; offset: number; recallHandle: string }
export interface SendMessageResponse { status: Status; entries: SendResultEntry[] }

/** Property names a client may not set as user properties (the broker gives them meaning). */
const RESERVED = new Set<string>(Object.values(MessageProperty));
/** Messages per SendMessage request (Apache's batch limit is in bytes; ours is a count too). */
export const MAX_MESSAGES_PER_SEND = 1024;

/** The delay level for a delay of `delayMs`: the first level not shorter, else the last; 0 for none. */
export function delayLevelFor(delayMs: number, levelsMs: readonly number[]): number {
  if (!(delayMs > 0) || levelsMs.length === 0) return 0;
  for (let i = 0; i < levelsMs.length; i++) if (levelsMs[i]! >= delayMs) return i + 1;
  return levelsMs.length;
}

/** The queue of a message group: Java's String.hashCode of the group, modulo the write queues. */
export function queueOfMessageGroup(group: string, writeQueues: number): number {
  return Math.abs(javaStringHash(group) % writeQueues);
}

function refused(messageId: string, s: Status): SendResultEntry {
  return { status: s, messageId, transactionId: '', offset: 0, recallHandle: '' };
}

/** The properties string of a v5 message, or the Status that refuses it. */
export function propertiesOf(m: Message, delayLevel: number): string | Status {
  const sp = m.systemProperties;
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(m.userProperties ?? {})) {
    if (k === '' || RESERVED.has(k)) return status('ILLEGAL_MESSAGE_PROPERTY_KEY', `user property '${k}' is empty or reserved by the broker`);
    pairs.push([k, v]);
  }
  if (sp.tag !== undefined && sp.tag !== null && sp.tag !== '') pairs.push([MessageProperty.TAGS, sp.tag]);
  if (sp.keys.length > 0) pairs.push([MessageProperty.KEYS, sp.keys.join(' ')]);
  if (sp.messageId !== '') pairs.push([MessageProperty.UNIQ_KEY, sp.messageId]);
  if (sp.messageGroup) pairs.push([MessageProperty.SHARDING_KEY, sp.messageGroup]);
  if (delayLevel > 0) pairs.push([MessageProperty.DELAY, String(delayLevel)]);
  let out = '';
  for (const [k, v] of pairs) {
    if (hasPropertySeparator(k) || hasPropertySeparator(v)) return status('ILLEGAL_MESSAGE_PROPERTY_KEY', `property '${k.slice(0, 100)}' contains the bytes 0x01 or 0x02`);
    out += `${k}\x01${v}\x02`;
  }
  return out;
}

async function sendOne(ctx: BrokerContext, m: Message, channel: RemotingChannel, levelsMs: readonly number[]): Promise<SendResultEntry> {
  const sp = m.systemProperties;
  const messageId = sp?.messageId ?? '';
  if (!sp) return refused(messageId, status('BAD_REQUEST', 'message has no system properties'));
  const topic = m.topic?.name ?? '';
  const body = m.body ?? Buffer.alloc(0);
  if (body.length > ctx.config.maxMessageSize) return refused(messageId, status('MESSAGE_BODY_TOO_LARGE', `message body of ${body.length} bytes exceeds maxMessageSize ${ctx.config.maxMessageSize}`));
  if (sp.bodyEncoding === 'GZIP') return refused(messageId, status('UNSUPPORTED', 'gzip-encoded bodies are not accepted; send the body uncompressed'));
  const deliverAt = timestampMs(sp.deliveryTimestamp);
  const born = timestampMs(sp.bornTimestamp) ?? ctx.nowMs();
  const level = deliverAt === undefined ? 0 : delayLevelFor(deliverAt - ctx.nowMs(), levelsMs);
  const transaction = sp.messageType === 'TRANSACTION';
  if (transaction && level > 0) return refused(messageId, status('BAD_REQUEST', 'a transaction message cannot be delayed'));
  const userProps = propertiesOf(m, level);
  if (typeof userProps !== 'string') return refused(messageId, userProps);
  // A half message of the group whose Telemetry streams answer the checks (transaction.ts).
  const producerGroup = transaction ? grpcTransactionGroup(topic) : 'GRPC_PRODUCER_GROUP';
  const props = transaction ? `${userProps}${MessageProperty.TRANSACTION_PREPARED}\x01true\x02${MessageProperty.PRODUCER_GROUP}\x01${producerGroup}\x02` : userProps;
  // The queue the client chose: its send receipt reports that queue as where the message went
  // (Apache's clients pick a message group's queue by a hash of the group, so a group stays in
  // one queue). Out of range (an older route): the group's hash, else round-robin.
  const writeQueues = ctx.metadata.topic(topic)?.writeQueueNums ?? ctx.config.defaultTopicQueueNums;
  let queueId = Number.isInteger(sp.queueId) && sp.queueId >= 0 && sp.queueId < writeQueues ? sp.queueId : -1;
  if (queueId < 0 && sp.messageGroup) queueId = queueOfMessageGroup(sp.messageGroup, writeQueues);
  const req = makeRequest(RequestCode.SEND_MESSAGE, {
    producerGroup,
    topic,
    defaultTopic: DEFAULT_TOPIC,
    defaultTopicQueueNums: String(ctx.config.defaultTopicQueueNums),
    queueId: String(queueId),
    sysFlag: transaction ? String(SysFlag.TRANSACTION_PREPARED) : '0',
    bornTimestamp: String(born),
    flag: '0',
    properties: props,
    reconsumeTimes: '0',
  });
  req.body = Buffer.from(body);
  try {
    const answer = Promise.resolve(sendMessageProcessor.handle(ctx, req, channel));
    const resp = await (ctx.observeSend?.(answer) ?? answer);
    if (!resp) return refused(messageId, status('INTERNAL_SERVER_ERROR', 'the send processor gave no answer'));
    if (resp.code !== ResponseCode.SUCCESS) return refused(messageId, statusOfResponse(resp.code, resp.remark));
    return { status: ok(), messageId, transactionId: transaction ? transactionIdOf(resp.extFields['msgId'] ?? '') : '', offset: Number(resp.extFields['queueOffset'] ?? 0), recallHandle: '' };
  } catch (err) {
    return refused(messageId, statusOfError(err));
  }
}

export async function sendMessages(ctx: BrokerContext, messages: Message[], channel: RemotingChannel): Promise<SendMessageResponse> {
  if (messages.length === 0) return { status: status('BAD_REQUEST', 'no messages to send'), entries: [] };
  if (messages.length > MAX_MESSAGES_PER_SEND) return { status: status('PAYLOAD_TOO_LARGE', `${messages.length} messages in one request; at most ${MAX_MESSAGES_PER_SEND}`), entries: [] };
  const levelsMs = parseDelayLevels(ctx.config.messageDelayLevel);
  const entries: SendResultEntry[] = [];
  // In order, one after the other: a batch of one message group keeps its order in its queue.
  for (const m of messages) entries.push(await sendOne(ctx, m, channel, levelsMs));
  const failed = entries.find((e) => e.status.code !== 'OK');
  // One status for the request: the first refusal (the client reads it when it sent one message).
  return { status: failed === undefined ? ok() : failed.status, entries };
}
