// QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15) and GET_MAX_OFFSET (30). Offsets live
// in the replicated metadata (control entries), so any node answers queries; updates go to the
// leader, which batches them into one control entry per ~100 ms; a follower relays them. A node
// whose metadata is incomplete (reset past the leader's log head, waiting for a metadata snapshot
// entry) refuses queries: a missing offset would send a consumer back to its start policy.

import { headerInt, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

function queryConsumerOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const group = headerString(req.extFields, 'consumerGroup');
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  if (!ctx.metadata.complete) {
    return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'this node\'s replicated metadata is incomplete (its log was reset past the leader\'s head and it waits for a metadata snapshot entry); ask the leader (brokerId 0)');
  }
  const offset = ctx.offsets.query(group, topic, queueId);
  if (offset !== undefined && offset >= 0) return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  // As Apache: a group new to a queue whose first message is still stored starts at 0.
  if (ctx.store.getMinOffsetInQueue(topic, queueId) <= 0) return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: '0' });
  return makeResponse(req, ResponseCode.QUERY_NOT_FOUND, 'Not found, maybe this group consumer boot first');
}

async function updateConsumerOffset(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const group = headerString(req.extFields, 'consumerGroup');
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  const offset = headerInt(req.extFields, 'commitOffset');
  // ali-ons sends -1 for queues it never consumed: nothing to store.
  if (offset < 0) return makeResponse(req, ResponseCode.SUCCESS);
  return ctx.writeOrForward(req, async () => {
    ctx.offsets.commit(group, topic, queueId, offset);
    return makeResponse(req, ResponseCode.SUCCESS);
  });
}

function getMaxOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(ctx.store.getMaxOffsetInQueue(topic, queueId)) });
}

export const queryConsumerOffsetProcessor: BrokerProcessor = {
  name: 'query-consumer-offset',
  codes: [RequestCode.QUERY_CONSUMER_OFFSET],
  handle: queryConsumerOffset,
};

export const updateConsumerOffsetProcessor: BrokerProcessor = {
  name: 'update-consumer-offset',
  codes: [RequestCode.UPDATE_CONSUMER_OFFSET],
  handle: updateConsumerOffset,
};

export const getMaxOffsetProcessor: BrokerProcessor = {
  name: 'get-max-offset',
  codes: [RequestCode.GET_MAX_OFFSET],
  handle: getMaxOffset,
};
