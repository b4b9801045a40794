// GET_MIN_OFFSET (31): the first queue offset still stored in a topic-queue (0 for a queue never
// written). Any replica answers: ConsumeQueues are built from committed data only. Also owns the
// topic/queueId header check shared with SEARCH_OFFSET_BY_TIMESTAMP.

import { checkTopicName } from '../../common/names.js';
import { headerInt, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

export type QueueHeader = { ok: true; topic: string; queueId: number } | { ok: false; response: RemotingCommand };

/** Reads `topic` and `queueId`; a bad queue id gets SYSTEM_ERROR with a remark that names the range. */
export function readQueueHeader(ctx: BrokerContext, req: RemotingCommand): QueueHeader {
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  checkTopicName(topic);
  const config = ctx.metadata.topic(topic);
  const queues = config ? Math.max(config.readQueueNums, config.writeQueueNums) : undefined;
  if (queueId < 0 || queueId > 0x7fffffff || (queues !== undefined && queueId >= queues && !ctx.store.queues.find(topic, queueId))) {
    const range = queues === undefined ? 'a queue id is 0 or more' : `topic ${topic} has queues 0..${queues - 1}`;
    return { ok: false, response: makeResponse(req, ResponseCode.SYSTEM_ERROR, `queueId ${queueId} is out of range: ${range}`) };
  }
  return { ok: true, topic, queueId };
}

function handleGetMinOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const q = readQueueHeader(ctx, req);
  if (!q.ok) return q.response;
  return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(ctx.store.getMinOffsetInQueue(q.topic, q.queueId)) });
}

export const getMinOffsetProcessor: BrokerProcessor = {
  name: 'get-min-offset',
  codes: [RequestCode.GET_MIN_OFFSET],
  handle: handleGetMinOffset,
};
