// QUERY_CONSUMER_OFFSET (14): a group's committed offset in one topic-queue. Offsets live in the
// replicated metadata (control entries), so any node answers, a follower as well as the leader,
// but first it confirms through Raft ReadIndex that its applied state holds every offset
// committed before the query: a lagging follower would otherwise hand a consumer an offset behind
// one already acknowledged. When no leader confirms it in time (an election), the node answers
// from what it applied: refusing would be worse, since ali-ons treats any failed query as "no
// offset" and starts from the queue's end, skipping messages; an old offset only repeats some.
// A node whose metadata is incomplete (reset past the leader's log head, waiting for a metadata
// snapshot entry) asks the leader instead, and refuses when it cannot: a missing offset would
// send a consumer back to its start policy.

import { checkGroupName, checkTopicName } from '../../common/names.js';
import { headerInt, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { FORWARD_HOPS_FIELD } from '../leader-forwarder.js';

async function queryConsumerOffset(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const group = headerString(req.extFields, 'consumerGroup');
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  checkGroupName(group);
  checkTopicName(topic);
  if (!ctx.metadata.complete) {
    if (req.extFields[FORWARD_HOPS_FIELD] === undefined && !ctx.raft.isLeader()) {
      try {
        return await ctx.forwardToLeader(req);
      } catch {
        // No leader to ask: refused below.
      }
    }
    return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'this node\'s replicated metadata is incomplete (its log was reset past the leader\'s head and it waits for a metadata snapshot entry); ask the leader (brokerId 0)');
  }
  await ctx.offsets.catchUp();
  const offset = ctx.offsets.query(group, topic, queueId);
  if (offset !== undefined && offset >= 0) return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  // As Apache: a group new to a queue whose first message is still stored starts at 0, unless the
  // client asks to be told the group has no offset (setZeroIfNotFound=false, Apache 5's header
  // field), as `rmq consume --from last` does to start at the end.
  if (req.extFields['setZeroIfNotFound'] !== 'false' && ctx.store.getMinOffsetInQueue(topic, queueId) <= 0) return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: '0' });
  return makeResponse(req, ResponseCode.QUERY_NOT_FOUND, 'Not found, maybe this group consumer boot first');
}

export const queryConsumerOffsetProcessor: BrokerProcessor = {
  name: 'query-consumer-offset',
  codes: [RequestCode.QUERY_CONSUMER_OFFSET],
  handle: queryConsumerOffset,
};
