// Where a send lands: the topic (auto-created when allowed), its write permission, and the
// queue (the one asked for, or round-robin when the client left it to the broker). Shared by
// single and batch sends so both refuse the same things with the same remarks.

import type { RemotingCommand } from '../../protocol/remoting-command.js';
import { makeResponse } from '../../protocol/remoting-command.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { PERM_WRITE } from '../../protocol/route-data.js';
import type { BrokerContext } from '../broker-context.js';

let nextQueue = 0;

/** The queue id to write to, or the response that refuses the send. */
export async function resolveWriteQueue(
  ctx: BrokerContext,
  req: RemotingCommand,
  topic: string,
  requestedQueueId: number,
  options: { queueNums: number; autoCreate: boolean },
): Promise<{ queueId: number } | { refusal: RemotingCommand }> {
  const topicConfig = await ctx.ensureTopic(topic, options.queueNums, options.autoCreate);
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
