// CONSUMER_SEND_MSG_BACK (36): a consumer gives a message back for a later retry. The leader
// looks the message up by its commitLog offset and stores the copy retry-record.ts describes:
// parked in SCHEDULE_TOPIC_XXXX for `%RETRY%<group>` (the schedule service delivers it when
// due), or in `%DLQ%<group>` once it was reconsumed maxReconsumeTimes times. Retry and DLQ
// topics are created here when missing (1 queue). A follower relays the request to the leader
// (ctx.writeOrForward, which also rides out a leader change that refused the write).

import { checkGroupName, isValidTopicName, TOPIC_NAME_MAX_CHARS } from '../../common/names.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { headerInt, headerOptInt, headerString } from '../../protocol/headers.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { PERM_WRITE } from '../../protocol/route-data.js';
import { decodeMessageRecord } from '../../store/index.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { buildSendBackRecord, DEFAULT_MAX_RECONSUME_TIMES, goesToDlq } from '../retry/retry-record.js';
import { dlqTopicOf, retryTopicOf } from '../topic-rules.js';


let nextRetryQueue = 0;

function handleSendBack(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  return ctx.writeOrForward(req, () => storeSendBack(ctx, req));
}

/** On the ready leader: look the message up and append its retry or dead-letter copy. */
async function storeSendBack(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const group = headerString(req.extFields, 'group');
  const offset = headerInt(req.extFields, 'offset');
  const delayLevel = headerOptInt(req.extFields, 'delayLevel', 0);
  const requestedMax = headerOptInt(req.extFields, 'maxReconsumeTimes', -1);
  checkGroupName(group);
  // Its retry and dead-letter topics are named after it and must be valid topic names too.
  if (!isValidTopicName(retryTopicOf(group))) {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `consumer group '${group.slice(0, 200)}' is too long to take messages back: its retry topic %RETRY%<group> must be at most ${TOPIC_NAME_MAX_CHARS} characters`);
  }
  if (offset < 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `offset ${offset} is negative: pass the commitLog (physical) offset of the pulled message`);

  const groupConfig = ctx.metadata.subscriptionGroup(group);
  if (!groupConfig && !ctx.config.autoCreateSubscriptionGroup) {
    return makeResponse(req, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group ${group} does not exist and autoCreateSubscriptionGroup is false; create the group first`);
  }
  const retryQueueNums = groupConfig?.retryQueueNums ?? 1;
  // As Apache: a group configured without retry queues drops failed messages on purpose.
  if (retryQueueNums <= 0) return makeResponse(req, ResponseCode.SUCCESS);
  // Clients since V3_4_9 say how many attempts they allow; -1 (or absent) means the group's.
  const maxReconsumeTimes = requestedMax >= 0 ? requestedMax : (groupConfig?.retryMaxTimes ?? DEFAULT_MAX_RECONSUME_TIMES);

  const raw = ctx.store.lookMessageByOffset(offset);
  if (!raw) {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `no message starts at commitLog offset ${offset} on this broker (stored messages end before ${ctx.store.dispatcher.dispatchedPhysicalOffset}); pass the commitLogOffset of the pulled message`);
  }
  const original = decodeMessageRecord(raw, 0, { verifyCrc: false });

  const toDlq = goesToDlq(original.reconsumeTimes, maxReconsumeTimes, delayLevel);
  const topic = toDlq ? dlqTopicOf(group) : retryTopicOf(group);
  const topicConfig = await ctx.ensureTopic(topic, toDlq ? 1 : retryQueueNums, true);
  if (!topicConfig) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `topic ${topic} could not be created; retry`);
  if ((topicConfig.perm & PERM_WRITE) === 0) return makeResponse(req, ResponseCode.NO_PERMISSION, `topic ${topic} is not writable (perm ${topicConfig.perm}); give it write permission to take back messages`);

  const outcome = buildSendBackRecord({
    original,
    originalPhysicalOffset: offset,
    group,
    requestedDelayLevel: delayLevel,
    maxReconsumeTimes,
    retryQueueId: nextRetryQueue++ % Math.max(1, topicConfig.writeQueueNums),
    delayLevelCount: ctx.config.messageDelayLevel.trim().split(/\s+/).length,
    storeTimestamp: ctx.nowMs(),
    storeHost: ctx.storeHost,
  });
  await ctx.putMessages([outcome.record]);
  return makeResponse(req, ResponseCode.SUCCESS);
}

export const consumerSendBackProcessor: BrokerProcessor = {
  name: 'consumer-send-back',
  codes: [RequestCode.CONSUMER_SEND_MSG_BACK],
  handle: handleSendBack,
};
