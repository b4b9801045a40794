// GET_MAX_OFFSET (30): the queue offset the next message of a topic-queue will get (0 for a
// queue never written). Any replica answers: ConsumeQueues are built from committed data only.

import { headerInt, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

function getMaxOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(ctx.store.getMaxOffsetInQueue(topic, queueId)) });
}

export const getMaxOffsetProcessor: BrokerProcessor = {
  name: 'get-max-offset',
  codes: [RequestCode.GET_MAX_OFFSET],
  handle: getMaxOffset,
};
