// UPDATE_CONSUMER_OFFSET (15): commits a group's offset in one topic-queue. Offsets travel
// through Raft as control entries, so updates go to the leader, which batches them into one
// control entry per ~100 ms; a follower relays them (writeOrForward). SUCCESS is answered once
// the entry carrying the update is committed; a refusal (14) means it was not, and resending it
// is harmless: the replicated state keeps the highest offset per queue, so no update, however
// late, moves a committed offset back.

import { checkGroupName, checkTopicName } from '../../common/names.js';
import { headerInt, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

async function updateConsumerOffset(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const group = headerString(req.extFields, 'consumerGroup');
  const topic = headerString(req.extFields, 'topic');
  const queueId = headerInt(req.extFields, 'queueId');
  checkGroupName(group);
  checkTopicName(topic);
  const offset = headerInt(req.extFields, 'commitOffset');
  // ali-ons sends -1 for queues it never consumed: nothing to store.
  if (offset < 0) return makeResponse(req, ResponseCode.SUCCESS);
  return ctx.writeOrForward(req, async () => {
    await ctx.offsets.commit(group, topic, queueId, offset);
    return makeResponse(req, ResponseCode.SUCCESS);
  });
}

export const updateConsumerOffsetProcessor: BrokerProcessor = {
  name: 'update-consumer-offset',
  codes: [RequestCode.UPDATE_CONSUMER_OFFSET],
  handle: updateConsumerOffset,
};
