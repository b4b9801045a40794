// GET_CONSUME_STATS (208), what mqadmin consumerProgress reads: header consumerGroup and an
// optional topic (absent: every topic where the group holds an offset, and its retry topic). For
// each queue: brokerOffset (max offset), consumerOffset (committed; 0 when none, as Apache) and
// lastTimestamp, as Apache: the store time of the last message consumed (the one just below
// consumerOffset; 0 when nothing was consumed or retention removed it). consumeTps: the messages
// the group's pulls of those topics got from this node per second over the last minute
// (consume-rate.ts). Any node answers after a ReadIndex barrier, as QUERY_CONSUMER_OFFSET does.
// Body: ConsumeStats {offsetTable: {queue: {...}}, consumeTps} in the Java form (protocol/mq-table.ts).

import { checkGroupName, checkTopicName } from '../../common/names.js';
import { headerOptString, headerString } from '../../protocol/headers.js';
import { encodeMqTableBody, type MqKey } from '../../protocol/mq-table.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { retryTopicOf } from '../topic-rules.js';
import { consumeRateOf } from '../consume-rate.js';

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
  const rate = consumeRateOf(ctx);
  const now = ctx.nowMs();
  let consumeTps = 0;
  for (const topic of topics) {
    const config = ctx.metadata.topic(topic);
    if (config === undefined) {
      if (only !== undefined && only !== '') return makeResponse(req, ResponseCode.TOPIC_NOT_EXIST, `topic ${topic} does not exist on ${ctx.config.brokerName}`);
      continue;
    }
    for (let queueId = 0; queueId < config.readQueueNums; queueId++) {
      const brokerOffset = ctx.store.getMaxOffsetInQueue(topic, queueId);
      const consumerOffset = Math.max(0, ctx.offsets.query(group, topic, queueId) ?? 0);
      rows.push([{ topic, brokerName: ctx.config.brokerName, queueId }, { brokerOffset, consumerOffset, lastTimestamp: lastConsumedTimestamp(ctx, topic, queueId, consumerOffset) }]);
    }
    consumeTps += rate.tps(group, topic, now);
  }
  return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeMqTableBody('offsetTable', rows, { consumeTps: Math.round(consumeTps * 100) / 100 }));
}

/** Store time of the message at consumerOffset − 1 (the last one consumed), 0 when there is none. */
function lastConsumedTimestamp(ctx: BrokerContext, topic: string, queueId: number, consumerOffset: number): number {
  if (consumerOffset <= 0) return 0;
  const physical = ctx.store.queues.find(topic, queueId)?.physicalOffsetAt(consumerOffset - 1) ?? -1;
  if (physical < 0) return 0;
  try {
    return ctx.store.storeTimestampAt(physical);
  } catch {
    // Retention removed the record between the queue read and this one.
    return 0;
  }
}

export const consumeStatsProcessor: BrokerProcessor = {
  name: 'consume-stats',
  codes: [RequestCode.GET_CONSUME_STATS],
  handle: consumeStats,
};
