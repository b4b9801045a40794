// HEART_BEAT (34), UNREGISTER_CLIENT (35) and GET_CONSUMER_LIST_BY_GROUP (38): the client
// registry of this node. A consumer heartbeat on the leader also creates, through Raft, the
// group's subscription config and its %RETRY% topic (1 queue) when absent; followers see the
// same heartbeats and leave creation to the leader.

import { headerOptString, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import type { RemotingChannel } from '../../protocol/remoting-server.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { decodeJsonBody, encodeJsonBody, type HeartbeatData } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import type { ConsumerManager } from '../consumer-manager.js';
import { retryTopicOf } from '../topic-rules.js';

/** The controller passes its ConsumerManager as the context's `consumers`. */
function registry(ctx: BrokerContext): ConsumerManager {
  return ctx.consumers as ConsumerManager;
}

function heartbeat(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): RemotingCommand {
  const data = decodeJsonBody<HeartbeatData>(req.body, 'heartbeat');
  if (typeof data.clientID !== 'string' || data.clientID === '') {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'heartbeat body has no clientID');
  }
  const now = ctx.nowMs();
  const consumers = registry(ctx);
  for (const c of data.consumerDataSet ?? []) {
    if (typeof c?.groupName !== 'string' || c.groupName === '') continue;
    consumers.registerConsumer(data.clientID, channel, c, now);
    if (ctx.raft.isLeader()) void ensureGroupResources(ctx, c.groupName, c.messageModel);
  }
  for (const p of data.producerDataSet ?? []) {
    if (typeof p?.groupName === 'string' && p.groupName !== '') consumers.registerProducer(data.clientID, channel, p.groupName, now);
  }
  return makeResponse(req, ResponseCode.SUCCESS);
}

async function ensureGroupResources(ctx: BrokerContext, group: string, messageModel: string): Promise<void> {
  try {
    if (!ctx.metadata.subscriptionGroup(group) && ctx.config.autoCreateSubscriptionGroup) {
      await ctx.raft.proposeControl({ kind: 'group-upsert', config: { groupName: group, consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16 } });
    }
    if (messageModel !== 'BROADCASTING') await ctx.ensureTopic(retryTopicOf(group), 1, true);
  } catch (err) {
    ctx.log.warn({ err, group }, 'could not create the subscription group or its retry topic; the next heartbeat retries');
  }
}

function unregisterClient(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const clientId = headerString(req.extFields, 'clientID');
  const consumerGroup = headerOptString(req.extFields, 'consumerGroup');
  const producerGroup = headerOptString(req.extFields, 'producerGroup');
  if (consumerGroup !== undefined) registry(ctx).unregisterConsumer(consumerGroup, clientId);
  if (producerGroup !== undefined) registry(ctx).unregisterProducer(producerGroup, clientId);
  return makeResponse(req, ResponseCode.SUCCESS);
}

function consumerList(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const group = headerString(req.extFields, 'consumerGroup');
  const ids = ctx.consumers.consumerIds(group);
  if (ids.length === 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `no consumer for group ${group} on this broker`);
  return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ consumerIdList: ids }));
}

export const heartbeatProcessor: BrokerProcessor = { name: 'heartbeat', codes: [RequestCode.HEART_BEAT], handle: heartbeat };
export const unregisterClientProcessor: BrokerProcessor = { name: 'unregister-client', codes: [RequestCode.UNREGISTER_CLIENT], handle: unregisterClient };
export const consumerListProcessor: BrokerProcessor = { name: 'consumer-list', codes: [RequestCode.GET_CONSUMER_LIST_BY_GROUP], handle: consumerList };
