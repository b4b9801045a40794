// HEART_BEAT (34): registers the client's consumer and producer groups on this node (the client
// registry is not replicated). A consumer heartbeat on the leader also creates, through Raft, the
// group's subscription config and its %RETRY% topic (1 queue) when absent; followers see the
// same heartbeats and leave creation to the leader. A consumer with an SQL92 subscription this
// broker refuses (filter off, or a bad expression) is not registered and the answer is 23 with
// the reason, so the client sees it at subscribe time rather than at every pull.

import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import type { RemotingChannel } from '../../protocol/remoting-server.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { decodeJsonBody, type HeartbeatData } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { registryOf } from '../consumer-manager.js';
import { retryTopicOf } from '../topic-rules.js';
import { checkSubscription } from '../filter/sql-filter-cache.js';

function heartbeat(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): RemotingCommand {
  const data = decodeJsonBody<HeartbeatData>(req.body, 'heartbeat');
  if (typeof data.clientID !== 'string' || data.clientID === '') {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'heartbeat body has no clientID');
  }
  const now = ctx.nowMs();
  const consumers = registryOf(ctx);
  let refusal: string | undefined;
  for (const c of data.consumerDataSet ?? []) {
    if (typeof c?.groupName !== 'string' || c.groupName === '') continue;
    const refused = subscriptionRefusal(ctx, c.subscriptionDataSet);
    if (refused !== undefined) {
      refusal ??= `consumer group ${c.groupName}: ${refused}`;
      continue;
    }
    consumers.registerConsumer(data.clientID, channel, c, now);
    if (ctx.raft.isLeader()) void ensureGroupResources(ctx, c.groupName, c.messageModel);
  }
  for (const p of data.producerDataSet ?? []) {
    if (typeof p?.groupName === 'string' && p.groupName !== '') consumers.registerProducer(data.clientID, channel, p.groupName, now);
  }
  if (refusal !== undefined) return makeResponse(req, ResponseCode.SUBSCRIPTION_PARSE_FAILED, refusal);
  return makeResponse(req, ResponseCode.SUCCESS);
}

function subscriptionRefusal(ctx: BrokerContext, subs: HeartbeatData['consumerDataSet'][number]['subscriptionDataSet'] | undefined): string | undefined {
  for (const s of Array.isArray(subs) ? subs : []) {
    const expression = typeof s?.subString === 'string' ? s.subString : undefined;
    const check = checkSubscription(ctx.config.enablePropertyFilter, s?.expressionType, expression);
    if (!check.ok) return `topic ${String(s?.topic)}: ${check.remark}`;
  }
  return undefined;
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

export const heartbeatProcessor: BrokerProcessor = { name: 'heartbeat', codes: [RequestCode.HEART_BEAT], handle: heartbeat };
