// VIEW_MESSAGE_BY_ID (33): the stored record at a commitLog (physical) offset, as admin tools ask
// for it after decoding a message id. Any replica answers: it reads only committed, dispatched
// data, which is identical everywhere. The body is one record in the pull-response layout.

import { headerInt } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

function handleViewMessage(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const offset = headerInt(req.extFields, 'offset');
  if (offset < 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `offset ${offset} is negative: pass the commitLog offset a message id encodes (its last 16 hex digits)`);
  const end = ctx.store.dispatcher.dispatchedPhysicalOffset;
  if (offset >= end) {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `no message at commitLog offset ${offset}: this broker's stored messages end before ${end}`);
  }
  const record = ctx.store.lookMessageByOffset(offset);
  if (!record) {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `no message starts at commitLog offset ${offset} (it was never one, or retention deleted it); check the message id`);
  }
  return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, record);
}

export const viewMessageProcessor: BrokerProcessor = {
  name: 'view-message',
  codes: [RequestCode.VIEW_MESSAGE_BY_ID],
  handle: handleViewMessage,
};
