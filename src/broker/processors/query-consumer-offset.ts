// QUERY_CONSUMER_OFFSET (14): a group's committed offset in one topic-queue. Offsets live in the
// replicated metadata (control entries), so any node answers, a follower as well as the leader. A
// node whose metadata is incomplete (reset past the leader's log head, waiting for a metadata
// snapshot entry) refuses: a missing offset would send a consumer back to its start policy.

import { checkGroupName, checkTopicName } from '../../common/names.js';
import { headerInt, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

function queryConsumerOffset(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const group = headerString(req.extFields, 'consumerGroup');
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  checkGroupName(group);
  checkTopicName(topic);
  if (!ctx.metadata.complete) {
    return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'this node\'s replicated metadata is incomplete (its log was reset past the leader\'s head and it waits for a metadata snapshot entry); ask the leader (brokerId 0)');
  }
  const offset = ctx.offsets.query(group, topic, queueId);
  if (offset !== undefined && offset >= 0) return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  // As Apache: a group new to a queue whose first message is still stored starts at 0.
  if (ctx.store.getMinOffsetInQueue(topic, queueId) <= 0) return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: '0' });
  return makeResponse(req, ResponseCode.QUERY_NOT_FOUND, 'Not found, maybe this group consumer boot first');
}

export const queryConsumerOffsetProcessor: BrokerProcessor = {
  name: 'query-consumer-offset',
  codes: [RequestCode.QUERY_CONSUMER_OFFSET],
  handle: queryConsumerOffset,
};
