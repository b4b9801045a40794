// GET_CONSUMER_LIST_BY_GROUP (38): the client ids of a consumer group known on this node (from
// heartbeats), which clients allocate queues over. None known answers SYSTEM_ERROR, as Apache.

import { headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { encodeJsonBody } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

function consumerList(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const group = headerString(req.extFields, 'consumerGroup');
  const ids = ctx.consumers.consumerIds(group);
  if (ids.length === 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `no consumer for group ${group} on this broker`);
  return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ consumerIdList: ids }));
}

export const consumerListProcessor: BrokerProcessor = { name: 'consumer-list', codes: [RequestCode.GET_CONSUMER_LIST_BY_GROUP], handle: consumerList };
