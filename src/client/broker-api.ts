// The broker requests consumers and admin tools make, one function each: pull (11), consumer
// offsets (14/15), max/min offset (30/31), offset by time (29), consumer list (38), send back (36),
// heartbeat (34) and unregister (35). Each turns a response into a value or a typed error.
import { makeRequest, RequestCode, ResponseCode, encodeJsonBody, type HeartbeatData, type RemotingCommand } from '../protocol/index.js';
import { ClientDefaults, PullSysFlag } from './client-constants.js';
import { BrokerResponseError, MalformedResponseError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import type { MessageExt, MessageQueue } from './message.js';
import { decodeOwnedMessageRecords } from './message-decoder.js';
import { parseBody } from './namesrv-client.js';

export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';

export interface PullResult {
  status: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  suggestWhichBrokerId: number;
  messages: MessageExt[];
}

export interface PullParams {
  consumerGroup: string;
  mq: MessageQueue;
  queueOffset: number;
  maxMsgNums: number;
  /** Offset to commit with the pull (clustering), or undefined. */
  commitOffset?: number | undefined;
  /** Hold the pull on the broker up to this long when nothing is there; 0 = answer at once. */
  suspendTimeoutMs: number;
  subscription: string;
  subVersion: number;
  /** 'TAG' (the default) or 'SQL92'. */
  expressionType?: string | undefined;
  timeoutMs: number;
}

const PULL_STATUS: ReadonlyMap<number, PullStatus> = new Map<number, PullStatus>([
  [ResponseCode.SUCCESS, 'FOUND'],
  [ResponseCode.PULL_NOT_FOUND, 'NO_NEW_MSG'],
  [ResponseCode.PULL_RETRY_IMMEDIATELY, 'NO_MATCHED_MSG'],
  [ResponseCode.PULL_OFFSET_MOVED, 'OFFSET_ILLEGAL'],
]);

function intField(resp: RemotingCommand, name: string, what: string, fallback?: number): number {
  const raw = resp.extFields[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  const n = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(n)) throw new MalformedResponseError(`${what}: response field '${name}' is missing or not an integer`);
  return n;
}

function expectSuccess(addr: string, req: RemotingCommand, resp: RemotingCommand): void {
  if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
}

export async function pullMessage(instance: ClientInstance, addr: string, p: PullParams): Promise<PullResult> {
  let sysFlag = PullSysFlag.SUBSCRIPTION;
  if (p.suspendTimeoutMs > 0) sysFlag |= PullSysFlag.SUSPEND;
  if (p.commitOffset !== undefined && p.commitOffset > 0) sysFlag |= PullSysFlag.COMMIT_OFFSET;
  const req = makeRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: p.consumerGroup,
    topic: p.mq.topic,
    queueId: String(p.mq.queueId),
    queueOffset: String(p.queueOffset),
    maxMsgNums: String(p.maxMsgNums),
    sysFlag: String(sysFlag),
    commitOffset: String(p.commitOffset ?? 0),
    suspendTimeoutMillis: String(p.suspendTimeoutMs),
    subscription: p.subscription,
    subVersion: String(p.subVersion),
    expressionType: p.expressionType ?? 'TAG',
  });
  const resp = await instance.invoke(addr, req, p.timeoutMs);
  const status = PULL_STATUS.get(resp.code);
  if (status === undefined) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
  const what = `pull of ${p.mq.topic}:${p.mq.queueId}`;
  return {
    status,
    nextBeginOffset: intField(resp, 'nextBeginOffset', what),
    minOffset: intField(resp, 'minOffset', what, 0),
    maxOffset: intField(resp, 'maxOffset', what, 0),
    suggestWhichBrokerId: intField(resp, 'suggestWhichBrokerId', what, 0),
    messages: status === 'FOUND' ? decodeOwnedMessageRecords(resp.body, p.mq.brokerName) : [],
  };
}

/** The committed offset, or -1 when the broker has none (22 QUERY_NOT_FOUND). */
/**
 * The group's committed offset, or -1 when it has none. A broker answers 0 for a group new to a
 * queue whose first message is still stored unless `setZeroIfNotFound` is false.
 */
export async function queryConsumerOffset(instance: ClientInstance, addr: string, group: string, mq: MessageQueue, setZeroIfNotFound = true): Promise<number> {
  const req = makeRequest(RequestCode.QUERY_CONSUMER_OFFSET, { topic: mq.topic, consumerGroup: group, queueId: String(mq.queueId), ...(setZeroIfNotFound ? {} : { setZeroIfNotFound: 'false' }) });
  const resp = await instance.invoke(addr, req);
  if (resp.code === ResponseCode.QUERY_NOT_FOUND) return -1;
  expectSuccess(addr, req, resp);
  return intField(resp, 'offset', 'query consumer offset');
}

export async function updateConsumerOffset(instance: ClientInstance, addr: string, group: string, mq: MessageQueue, offset: number): Promise<void> {
  const req = makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
    topic: mq.topic,
    consumerGroup: group,
    queueId: String(mq.queueId),
    commitOffset: String(offset),
  });
  expectSuccess(addr, req, await instance.invoke(addr, req));
}

async function offsetRequest(instance: ClientInstance, addr: string, code: number, ext: Record<string, string>): Promise<number> {
  const req = makeRequest(code, ext);
  const resp = await instance.invoke(addr, req);
  expectSuccess(addr, req, resp);
  return intField(resp, 'offset', `request ${code}`);
}

export function getMaxOffset(instance: ClientInstance, addr: string, mq: MessageQueue): Promise<number> {
  return offsetRequest(instance, addr, RequestCode.GET_MAX_OFFSET, { topic: mq.topic, queueId: String(mq.queueId) });
}

export function getMinOffset(instance: ClientInstance, addr: string, mq: MessageQueue): Promise<number> {
  return offsetRequest(instance, addr, RequestCode.GET_MIN_OFFSET, { topic: mq.topic, queueId: String(mq.queueId) });
}

export function searchOffset(instance: ClientInstance, addr: string, mq: MessageQueue, timestampMs: number): Promise<number> {
  return offsetRequest(instance, addr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: mq.topic, queueId: String(mq.queueId), timestamp: String(timestampMs) });
}

/** The ids of the group's consumers, as the broker saw their heartbeats ([] when none). */
export async function getConsumerIdList(instance: ClientInstance, addr: string, group: string): Promise<string[]> {
  const req = makeRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: group });
  const resp = await instance.invoke(addr, req);
  // Apache answers SYSTEM_ERROR "no consumer for this group" for an empty group.
  if (resp.code === ResponseCode.SYSTEM_ERROR && /no consumer/i.test(resp.remark ?? '')) return [];
  expectSuccess(addr, req, resp);
  const body = parseBody<{ consumerIdList?: unknown }>(resp, 'consumer list');
  if (!Array.isArray(body.consumerIdList)) throw new MalformedResponseError('consumer list: consumerIdList is not an array');
  return body.consumerIdList.map(String);
}

export async function consumerSendMsgBack(
  instance: ClientInstance,
  addr: string,
  group: string,
  msg: MessageExt,
  maxReconsumeTimes: number,
  delayLevel = 0,
): Promise<void> {
  const req = makeRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset: String(msg.physicalOffset),
    group,
    delayLevel: String(delayLevel),
    originMsgId: msg.msgId,
    originTopic: msg.topic,
    unitMode: 'false',
    maxReconsumeTimes: String(maxReconsumeTimes),
  });
  expectSuccess(addr, req, await instance.invoke(addr, req));
}

export async function sendHeartbeat(instance: ClientInstance, addr: string, data: HeartbeatData): Promise<void> {
  const req = makeRequest(RequestCode.HEART_BEAT, {}, { body: encodeJsonBody(data) });
  expectSuccess(addr, req, await instance.invoke(addr, req));
}

export async function unregisterClient(instance: ClientInstance, addr: string, group: { producerGroup?: string; consumerGroup?: string }): Promise<void> {
  const ext: Record<string, string> = { clientID: instance.clientId };
  if (group.producerGroup !== undefined) ext['producerGroup'] = group.producerGroup;
  if (group.consumerGroup !== undefined) ext['consumerGroup'] = group.consumerGroup;
  const req = makeRequest(RequestCode.UNREGISTER_CLIENT, ext);
  expectSuccess(addr, req, await instance.invoke(addr, req, 1000));
}

export const PULL_TIMEOUT_WHEN_SUSPEND_MS = ClientDefaults.pullTimeoutWhenSuspendMs;
