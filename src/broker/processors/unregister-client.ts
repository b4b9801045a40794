// UNREGISTER_CLIENT (35): a client leaving a consumer and/or producer group on this node (sent
// by clients on shutdown; a closed connection or the 120 s expiry does the same without it).

import { headerOptString, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { registryOf } from '../consumer-manager.js';

function unregisterClient(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const clientId = headerString(req.extFields, 'clientID');
  const consumerGroup = headerOptString(req.extFields, 'consumerGroup');
  const producerGroup = headerOptString(req.extFields, 'producerGroup');
  if (consumerGroup !== undefined) registryOf(ctx).unregisterConsumer(consumerGroup, clientId);
  if (producerGroup !== undefined) registryOf(ctx).unregisterProducer(producerGroup, clientId);
  return makeResponse(req, ResponseCode.SUCCESS);
}

export const unregisterClientProcessor: BrokerProcessor = { name: 'unregister-client', codes: [RequestCode.UNREGISTER_CLIENT], handle: unregisterClient };
