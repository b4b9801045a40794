// INVOKE_BROKER_TO_RESET_OFFSET (222), mqadmin resetOffsetByTime's broker-side reset: header
// topic, group, timestamp (ms; -1 = each queue's end), isForce. For every queue of the topic the
// offset of the first message stored at or after the timestamp replaces the group's committed
// offset; without isForce only where that moves the offset back (as Apache). The new offsets go
// through Raft as one `consumer-offsets-reset` entry, the one command that may lower an offset,
// so every replica and every later leader holds them. Then every consumer channel of the group on
// this node gets RESET_CONSUMER_CLIENT_OFFSET (220, one-way) with the same table, so a running
// consumer of our SDK restarts those queues there (ali-ons ignores it: stop it first). Answer:
// ResetOffsetBody {offsetTable: {queue: offset}} in the Java form (protocol/mq-table.ts).

import { checkGroupName, checkTopicName } from '../../common/names.js';
import { headerBool, headerInt, headerString } from '../../protocol/headers.js';
import { encodeMqTableBody, type MqKey } from '../../protocol/mq-table.js';
import { makeRequest, makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { RemotingChannel } from '../../protocol/remoting-server.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

async function resetOffset(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const topic = headerString(req.extFields, 'topic');
  const group = headerString(req.extFields, 'group');
  checkTopicName(topic);
  checkGroupName(group);
  const timestampMs = headerInt(req.extFields, 'timestamp');
  if (timestampMs < -1) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `timestamp ${timestampMs} is not a time: pass milliseconds since the epoch, or -1 for the end of each queue`);
  const isForce = headerBool(req.extFields, 'isForce', true);
  return ctx.writeOrForward(req, async () => {
    const config = ctx.metadata.topic(topic);
    if (config === undefined) return makeResponse(req, ResponseCode.TOPIC_NOT_EXIST, `topic ${topic} does not exist on ${ctx.config.brokerName}; check the name (admin topicRoute)`);
    const rows: [MqKey, number][] = [];
    const updates: { group: string; topic: string; queueId: number; offset: number }[] = [];
    for (let queueId = 0; queueId < config.readQueueNums; queueId++) {
      const target = timestampMs === -1 ? ctx.store.getMaxOffsetInQueue(topic, queueId) : ctx.store.getOffsetInQueueByTime(topic, queueId, timestampMs);
      const current = ctx.offsets.query(group, topic, queueId);
      const offset = isForce || current === undefined || target < current ? target : current;
      rows.push([{ topic, brokerName: ctx.config.brokerName, queueId }, offset]);
      if (offset !== current) updates.push({ group, topic, queueId, offset });
    }
    if (updates.length > 0) await ctx.offsets.reset(updates);
    ctx.log.info({ group, topic, timestampMs, isForce, queues: updates.length }, 'consumer offsets reset');
    const body = encodeMqTableBody('offsetTable', rows);
    const told = tellConsumers(ctx.consumers.channels(group).map((c) => c.channel), makeRequest(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, { topic, group, timestamp: String(timestampMs), isForce: String(isForce) }, { body }));
    return makeResponse(req, ResponseCode.SUCCESS, `reset ${updates.length} of ${rows.length} queues; told ${told} online consumer connection(s)`, {}, body);
  });
}

function tellConsumers(channels: RemotingChannel[], notice: RemotingCommand): number {
  const told = new Set<RemotingChannel>();
  for (const channel of channels) {
    if (channel.closed || told.has(channel)) continue;
    if (channel.sendOneway(notice)) told.add(channel);
  }
  return told.size;
}

export const resetOffsetProcessor: BrokerProcessor = {
  name: 'reset-offset',
  codes: [RequestCode.INVOKE_BROKER_TO_RESET_OFFSET],
  handle: resetOffset,
};
