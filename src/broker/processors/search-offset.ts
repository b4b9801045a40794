// SEARCH_OFFSET_BY_TIMESTAMP (29): the first queue offset of a topic-queue whose message was
// stored at or after `timestamp` (ms); the max offset when every message is older, 0 for a
// queue never written. Consumers starting CONSUME_FROM_TIMESTAMP ask it. Any replica answers.

import { headerInt } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { readQueueHeader } from './min-offset.js';

function handleSearchOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const q = readQueueHeader(ctx, req);
  if (!q.ok) return q.response;
  const timestampMs = headerInt(req.extFields, 'timestamp');
  if (timestampMs < 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `timestamp ${timestampMs} is negative: pass milliseconds since the epoch`);
  return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(ctx.store.getOffsetInQueueByTime(q.topic, q.queueId, timestampMs)) });
}

export const searchOffsetProcessor: BrokerProcessor = {
  name: 'search-offset-by-timestamp',
  codes: [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP],
  handle: handleSearchOffset,
};
