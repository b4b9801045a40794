// GET_CONSUMER_RUNNING_INFO (307), what mqadmin consumerStatus asks: header consumerGroup,
// clientId (jstackEnable ignored). The broker cannot answer it itself: it relays the request to
// the client's own connection on this node (clients heartbeat every node of the group) and
// returns the client's answer. A client that is not connected here, one that does not answer
// (ali-ons registers no handler for it), and one that answers REQUEST_CODE_NOT_SUPPORTED each get
// a remark that says so.

import { checkClientId, checkGroupName } from '../../common/names.js';
import { headerString } from '../../protocol/headers.js';
import { makeRequest, makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

/** How long the client has to answer; the admin tool's own timeout is longer. */
export const CLIENT_ANSWER_TIMEOUT_MS = 2_000;

async function consumerRunningInfo(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const group = headerString(req.extFields, 'consumerGroup');
  const clientId = headerString(req.extFields, 'clientId');
  checkGroupName(group);
  checkClientId(clientId);
  const found = ctx.consumers.channels(group).find((c) => c.clientId === clientId);
  if (found === undefined || found.channel.closed) {
    return makeResponse(req, ResponseCode.CONSUMER_NOT_ONLINE, `consumer ${clientId} of group ${group} is not connected to ${ctx.brokerAddr}; list the online ones with consumerStatus without -i`);
  }
  const invoke = found.channel.invoke?.bind(found.channel);
  if (invoke === undefined) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `consumer ${clientId} is connected over a protocol that cannot carry GET_CONSUMER_RUNNING_INFO`);
  let answer: RemotingCommand;
  try {
    answer = await invoke(makeRequest(RequestCode.GET_CONSUMER_RUNNING_INFO, { consumerGroup: group, clientId, jstackEnable: 'false' }), CLIENT_ANSWER_TIMEOUT_MS);
  } catch (err) {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `consumer ${clientId} did not answer GET_CONSUMER_RUNNING_INFO within ${CLIENT_ANSWER_TIMEOUT_MS} ms (clients without support, such as ali-ons, never answer): ${(err as Error).message}`);
  }
  if (answer.code === ResponseCode.REQUEST_CODE_NOT_SUPPORTED) {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `consumer ${clientId} does not support GET_CONSUMER_RUNNING_INFO (it answered: ${answer.remark ?? 'request code not supported'})`);
  }
  return makeResponse(req, answer.code, answer.remark, {}, answer.body);
}

export const consumerRunningInfoProcessor: BrokerProcessor = {
  name: 'consumer-running-info',
  codes: [RequestCode.GET_CONSUMER_RUNNING_INFO],
  handle: consumerRunningInfo,
};
