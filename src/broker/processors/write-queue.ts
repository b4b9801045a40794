// Where a send lands: the topic (auto-created when allowed), its write permission, and the
// queue (the one asked for, or round-robin when the client left it to the broker). Shared by
// single and batch sends so both refuse the same things with the same remarks.

import type { RemotingCommand } from '../../protocol/remoting-command.js';
import { makeResponse } from '../../protocol/remoting-command.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { PERM_WRITE } from '../../protocol/route-data.js';
import type { BrokerContext, TopicConfig } from '../broker-context.js';

let nextQueue = 0;

export type WriteQueue = { queueId: number } | { refusal: RemotingCommand };

/**
 * The queue id to write to, or the response that refuses the send. Synchronous when the topic
 * exists (the common case, once per send); a promise only when it must be created first.
 */
export function resolveWriteQueue(
  ctx: BrokerContext,
  req: RemotingCommand,
  topic: string,
  requestedQueueId: number,
  options: { queueNums: number; autoCreate: boolean },
): WriteQueue | Promise<WriteQueue> {
  const known = ctx.metadata.topic(topic);
  if (known !== undefined) return pickQueue(req, topic, known, requestedQueueId);
  return ctx.ensureTopic(topic, options.queueNums, options.autoCreate).then((created) => pickQueue(req, topic, created, requestedQueueId));
}

function pickQueue(req: RemotingCommand, topic: string, topicConfig: TopicConfig | undefined, requestedQueueId: number): WriteQueue {
  if (!topicConfig) {
    return { refusal: makeResponse(req, ResponseCode.TOPIC_NOT_EXIST, `topic ${topic} does not exist and autoCreateTopicEnable is false; create it first (UPDATE_AND_CREATE_TOPIC)`) };
  }
  if ((topicConfig.perm & PERM_WRITE) === 0) {
    return { refusal: makeResponse(req, ResponseCode.NO_PERMISSION, `topic ${topic} is not writable (perm ${topicConfig.perm})`) };
  }
  let queueId = requestedQueueId;
  if (queueId < 0) queueId = nextQueue++ % topicConfig.writeQueueNums;
  if (queueId >= topicConfig.writeQueueNums) {
    return { refusal: makeResponse(req, ResponseCode.SYSTEM_ERROR, `queueId ${queueId} is out of range: topic ${topic} has ${topicConfig.writeQueueNums} write queues`) };
  }
  return { queueId };
}
