// GET_CONSUME_STATS (208), what mqadmin consumerProgress reads: header consumerGroup and an
// optional topic (absent: every topic where the group holds an offset, and its retry topic). For
// each queue: brokerOffset (max offset), consumerOffset (committed; 0 when none, as Apache) and
// lastTimestamp (0: not tracked). Any node answers after a ReadIndex barrier, as
// QUERY_CONSUMER_OFFSET does. Body: ConsumeStats {offsetTable: {queue: {...}}, consumeTps} in the
// Java form (protocol/mq-table.ts).

import { checkGroupName, checkTopicName } from '../../common/names.js';
import { headerOptString, headerString } from '../../protocol/headers.js';
import { encodeMqTableBody, type MqKey } from '../../protocol/mq-table.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { retryTopicOf } from '../topic-rules.js';

export interface OffsetWrapper {
  brokerOffset: number;
  consumerOffset: number;
  lastTimestamp: number;
}

async function consumeStats(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const group = headerString(req.extFields, 'consumerGroup');
  checkGroupName(group);
  const only = headerOptString(req.extFields, 'topic');
  if (only !== undefined && only !== '') checkTopicName(only);
  await ctx.offsets.catchUp();
  let topics: string[];
  if (only !== undefined && only !== '') topics = [only];
  else {
    const set = new Set<string>();
    for (const key of ctx.metadata.consumerOffsetsOf(group).keys()) set.add(key.slice(0, key.lastIndexOf('@')));
    set.add(retryTopicOf(group));
    topics = [...set].sort();
  }
  const rows: [MqKey, OffsetWrapper][] = [];
  for (const topic of topics) {
    const config = ctx.metadata.topic(topic);
    if (config === undefined) {
      if (only !== undefined && only !== '') return makeResponse(req, ResponseCode.TOPIC_NOT_EXIST, `topic ${topic} does not exist on ${ctx.config.brokerName}`);
      continue;
    }
    for (let queueId = 0; queueId < config.readQueueNums; queueId++) {
      const brokerOffset = ctx.store.getMaxOffsetInQueue(topic, queueId);
      const consumerOffset = Math.max(0, ctx.offsets.query(group, topic, queueId) ?? 0);
      rows.push([{ topic, brokerName: ctx.config.brokerName, queueId }, { brokerOffset, consumerOffset, lastTimestamp: 0 }]);
    }
  }
  return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeMqTableBody('offsetTable', rows, { consumeTps: 0 }));
}

export const consumeStatsProcessor: BrokerProcessor = {
  name: 'consume-stats',
  codes: [RequestCode.GET_CONSUME_STATS],
  handle: consumeStats,
};
