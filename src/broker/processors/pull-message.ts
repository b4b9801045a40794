// PULL_MESSAGE (11) on any node, from dispatched (= committed) data only. Nothing new and the
// SUSPEND flag set: the pull is held until a message is dispatched to that queue or its
// suspend timeout passes (never longer: ali-ons drops the whole connection past its own
// timeout). Every 0/19/20/21 answer carries nextBeginOffset, minOffset, maxOffset and
// suggestWhichBrokerId (a follower for a consumer far behind, ../follower-reads.ts). The subscription carried in the request is used as is, so a new leader
// that has not seen the group's heartbeat yet serves it too, as RocketMQ's broker does. An SQL92
// subscription (enablePropertyFilter) is checked and filtered on record properties (../filter/).

import { readInt64BE } from '../../common/message/int64.js';
import { RecordOffset } from '../../common/message/record-layout.js';
import { checkGroupName, checkTopicName } from '../../common/names.js';
import { javaStringHash, GetMessageStatus, SCHEDULE_TOPIC, type GetMessageResult } from '../../store/index.js';
import { headerInt, headerOptInt, headerOptString, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import type { RemotingChannel } from '../../protocol/remoting-server.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import type { FilterExpr } from '../../common/filter/index.js';
import { checkSubscription } from '../filter/sql-filter-cache.js';
import { consumeRateOf } from '../consume-rate.js';
import { getMatchingMessages } from '../filter/sql-filtered-read.js';

export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8 } as const;
/** Bytes per pull answer (RocketMQ's maxTransferBytesOnMessageInMemory is 256 KiB). */
export const PULL_MAX_BYTES = 1024 * 1024;
/** Why a pull was answered after a back-off instead of being held (pull-hold-service.ts). */
const BUSY_REMARK = 'not held: too many pulls held on this connection or this broker (maxHeldPullsPerConnection); answered after a back-off, pull again';
/** A client may ask for a longer hold; we never hold longer than this. */
const MAX_SUSPEND_MS = 60_000;

export interface PullRequest {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  subscription: string | undefined;
  expressionType: string | undefined;
}

export function parsePullRequest(ext: Record<string, string>): PullRequest {
  return {
    consumerGroup: headerString(ext, 'consumerGroup'),
    topic: headerString(ext, 'topic'),
    queueId: headerInt(ext, 'queueId'),
    queueOffset: headerInt(ext, 'queueOffset'),
    maxMsgNums: headerOptInt(ext, 'maxMsgNums', 32),
    sysFlag: headerOptInt(ext, 'sysFlag', 0),
    commitOffset: headerOptInt(ext, 'commitOffset', -1),
    suspendTimeoutMillis: headerOptInt(ext, 'suspendTimeoutMillis', 15_000),
    subscription: headerOptString(ext, 'subscription'),
    expressionType: headerOptString(ext, 'expressionType'),
  };
}

/** Tag filter of a subscription expression ("*", "" or "A || B"); undefined means everything. */
export function tagFilter(subscription: string | undefined): ((tagHash: number) => boolean) | undefined {
  if (subscription === undefined) return undefined;
  const s = subscription.trim();
  if (s === '' || s === '*') return undefined;
  const hashes = new Set<number>();
  for (const tag of s.split('||')) {
    const t = tag.trim();
    if (t !== '') hashes.add(javaStringHash(t));
  }
  if (hashes.size === 0) return undefined;
  return (tagHash) => hashes.has(tagHash);
}

interface PullAnswer {
  code: number;
  result: GetMessageResult;
  nextBeginOffset: number;
  /** The client should wait for new messages (nothing to read at this offset yet). */
  waitable: boolean;
}

/**
 * One read of the store mapped to a response code, following RocketMQ's PullMessageProcessor
 * (docs/broker.md). `sqlFilter` is the parsed SQL92 subscription; otherwise the tag filter applies.
 */
export function readOnce(ctx: BrokerContext, p: PullRequest, sqlFilter?: FilterExpr): PullAnswer {
  const result = sqlFilter !== undefined && p.topic !== SCHEDULE_TOPIC
    ? getMatchingMessages(ctx.store, p.topic, p.queueId, p.queueOffset, p.maxMsgNums, PULL_MAX_BYTES, sqlFilter)
    : ctx.store.getMessage(p.topic, p.queueId, p.queueOffset, p.maxMsgNums, PULL_MAX_BYTES, p.topic === SCHEDULE_TOPIC ? undefined : tagFilter(p.subscription));
  // A node that is not the ready leader may lag the commit index: an offset past its end is
  // then most likely data it has not applied yet, so wait instead of moving the client back.
  const authoritative = ctx.raft.isLeader();
  switch (result.status) {
    case GetMessageStatus.FOUND:
      return { code: ResponseCode.SUCCESS, result, nextBeginOffset: result.nextBeginOffset, waitable: false };
    case GetMessageStatus.NO_MATCHED_MESSAGE:
      return { code: ResponseCode.PULL_RETRY_IMMEDIATELY, result, nextBeginOffset: result.nextBeginOffset, waitable: false };
    case GetMessageStatus.OFFSET_OVERFLOW_ONE:
      return { code: ResponseCode.PULL_NOT_FOUND, result, nextBeginOffset: p.queueOffset, waitable: true };
    case GetMessageStatus.NO_MESSAGE_IN_QUEUE:
      if (p.queueOffset === 0 || !authoritative) return { code: ResponseCode.PULL_NOT_FOUND, result, nextBeginOffset: p.queueOffset, waitable: true };
      return { code: ResponseCode.PULL_OFFSET_MOVED, result, nextBeginOffset: 0, waitable: false };
    case GetMessageStatus.OFFSET_OVERFLOW_BADLY:
      if (!authoritative) return { code: ResponseCode.PULL_NOT_FOUND, result, nextBeginOffset: p.queueOffset, waitable: true };
      return { code: ResponseCode.PULL_OFFSET_MOVED, result, nextBeginOffset: result.nextBeginOffset, waitable: false };
    case GetMessageStatus.OFFSET_TOO_SMALL:
      return { code: ResponseCode.PULL_OFFSET_MOVED, result, nextBeginOffset: result.nextBeginOffset, waitable: false };
    case GetMessageStatus.OFFSET_FOUND_NULL:
      return { code: ResponseCode.PULL_NOT_FOUND, result, nextBeginOffset: p.queueOffset, waitable: true };
  }
}

function answer(ctx: BrokerContext, p: PullRequest, req: RemotingCommand, a: PullAnswer, remark?: string): RemotingCommand {
  // GET_CONSUME_STATS' consumeTps counts what the group's pulls got here (consume-rate.ts).
  if (a.code === ResponseCode.SUCCESS) consumeRateOf(ctx).record(p.consumerGroup, p.topic, a.result.messages.length, ctx.nowMs());
  const ext = {
    nextBeginOffset: String(a.nextBeginOffset),
    minOffset: String(a.result.minOffset),
    maxOffset: String(a.result.maxOffset),
    suggestWhichBrokerId: String(ctx.suggestPullBrokerId?.(p.queueId, lastPhysicalOffset(a.result)) ?? 0),
  };
  return makeResponse(req, a.code, a.code === ResponseCode.SUCCESS ? undefined : (remark ?? remarkOf(a.result.status)), ext, a.code === ResponseCode.SUCCESS ? a.result.body : undefined);
}

/** Log position of the last record an answer returns (the lag rule's reference), or undefined. */
function lastPhysicalOffset(result: GetMessageResult): number | undefined {
  const last = result.messages[result.messages.length - 1];
  return last === undefined ? undefined : readInt64BE(last, RecordOffset.PHYSICAL_OFFSET);
}

function remarkOf(status: GetMessageStatus): string {
  return status;
}

async function handlePull(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand> {
  const p = parsePullRequest(req.extFields);
  if (p.maxMsgNums <= 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `maxMsgNums must be positive, got ${p.maxMsgNums}`);
  checkTopicName(p.topic);
  checkGroupName(p.consumerGroup);
  const sub = checkSubscription(ctx.config.enablePropertyFilter, p.expressionType, p.subscription);
  if (!sub.ok) return makeResponse(req, ResponseCode.SUBSCRIPTION_PARSE_FAILED, sub.remark);
  if ((p.sysFlag & PullSysFlag.COMMIT_OFFSET) !== 0 && p.commitOffset >= 0 && ctx.raft.isLeader()) {
    ctx.offsets.commitInBackground(p.consumerGroup, p.topic, p.queueId, p.commitOffset);
  }
  let a = readOnce(ctx, p, sub.filter);
  const suspend = (p.sysFlag & PullSysFlag.SUSPEND) !== 0 && ctx.config.longPollingEnable;
  if (!a.waitable || !suspend || p.suspendTimeoutMillis <= 0) return answer(ctx, p, req, a);
  const deadline = ctx.nowMs() + Math.min(p.suspendTimeoutMillis, MAX_SUSPEND_MS);
  // Bounded: each round either answers or waits for an arrival; the deadline ends the loop.
  for (;;) {
    const left = deadline - ctx.nowMs();
    if (left <= 0) return answer(ctx, p, req, a);
    const outcome = await ctx.waitForMessage(p.topic, p.queueId, left, channel);
    if (outcome === 'closed') return answer(ctx, p, req, a);
    a = readOnce(ctx, p, sub.filter);
    if (outcome === 'full' && a.waitable) return answer(ctx, p, req, a, BUSY_REMARK);
    if (!a.waitable || outcome !== 'arrived') return answer(ctx, p, req, a);
  }
}

export const pullMessageProcessor: BrokerProcessor = {
  name: 'pull-message',
  codes: [RequestCode.PULL_MESSAGE],
  handle: handlePull,
};
