// HEART_BEAT (34): registers the client's consumer and producer groups on this node (the client
// registry is not replicated). A consumer heartbeat on the leader also creates, through Raft, the
// group's subscription config and its %RETRY% topic (1 queue) when absent; followers see the
// same heartbeats and leave creation to the leader.
// Every name is checked before anything is registered or created (common/names.ts): one bad
// name refuses the whole heartbeat with a remark naming it, because a bad name that reached the
// replicated tables would travel to every replica and every NameServer registration. A consumer
// the registry's bounds refuse gets no subscription group or retry topic either. A consumer with
// an SQL92 subscription this broker refuses (filter off, or a bad expression) is not registered
// and the answer is 23 with the reason, so the client sees it at subscribe time, not at each pull.

import { checkClientId, checkGroupName, checkTopicName, isValidGroupName, isValidTopicName } from '../../common/names.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import type { RemotingChannel } from '../../protocol/remoting-server.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { decodeJsonBody, type ConsumerData, type HeartbeatData } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { checkSubscription, registryOf } from '../consumer-manager.js';
import { checkGroupLimit } from '../metadata-limits.js';
import { RETRY_TOPIC_PREFIX, retryTopicOf } from '../topic-rules.js';
import { checkSubscription as checkFilter } from '../filter/sql-filter-cache.js';

/** Groups one heartbeat may carry (each kind); a client has a few. */
const MAX_GROUPS_PER_HEARTBEAT = 1000;

function heartbeat(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): RemotingCommand {
  const data = decodeJsonBody<HeartbeatData>(req.body, 'heartbeat');
  if (typeof data.clientID !== 'string' || data.clientID === '') {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'heartbeat body has no clientID');
  }
  const refusal = problemOf(data);
  if (refusal !== undefined) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `heartbeat refused: ${refusal}`);
  const now = ctx.nowMs();
  const consumers = registryOf(ctx);
  let filterRefusal: string | undefined;
  for (const c of data.consumerDataSet ?? []) {
    const refused = subscriptionRefusal(ctx, c.subscriptionDataSet);
    if (refused !== undefined) {
      filterRefusal ??= `consumer group ${c.groupName}: ${refused}`;
      continue;
    }
    if (!consumers.registerConsumer(data.clientID, channel, c, now)) {
      ctx.log.warn({ group: c.groupName.slice(0, 300), clientId: data.clientID }, 'consumer not registered: the client registry is full');
      continue;
    }
    if (ctx.raft.isLeader()) void ensureGroupResources(ctx, c.groupName, c.messageModel);
  }
  for (const p of data.producerDataSet ?? []) consumers.registerProducer(data.clientID, channel, p.groupName, now);
  if (filterRefusal !== undefined) return makeResponse(req, ResponseCode.SUBSCRIPTION_PARSE_FAILED, filterRefusal);
  return makeResponse(req, ResponseCode.SUCCESS);
}

function subscriptionRefusal(ctx: BrokerContext, subs: ConsumerData['subscriptionDataSet'] | undefined): string | undefined {
  for (const s of Array.isArray(subs) ? subs : []) {
    const check = checkFilter(ctx.config.enablePropertyFilter, s.expressionType, s.subString);
    if (!check.ok) return `topic ${s.topic}: ${check.remark}`;
  }
  return undefined;
}

/** What is wrong with the heartbeat's names and shapes, or undefined. */
function problemOf(data: HeartbeatData): string | undefined {
  const consumers: unknown = data.consumerDataSet ?? [];
  const producers: unknown = data.producerDataSet ?? [];
  if (!Array.isArray(consumers) || !Array.isArray(producers)) return 'consumerDataSet and producerDataSet must be lists';
  if (consumers.length > MAX_GROUPS_PER_HEARTBEAT || producers.length > MAX_GROUPS_PER_HEARTBEAT) {
    return `a heartbeat carries at most ${MAX_GROUPS_PER_HEARTBEAT} consumer and ${MAX_GROUPS_PER_HEARTBEAT} producer groups`;
  }
  try {
    checkClientId(data.clientID);
    for (const c of consumers as ConsumerData[]) {
      checkGroupName(c?.groupName);
      if (typeof c.messageModel !== 'string') return `consumer group ${c.groupName}: messageModel must be a string`;
      const subs: unknown = c.subscriptionDataSet ?? [];
      if (!Array.isArray(subs)) return `consumer group ${c.groupName}: subscriptionDataSet must be a list`;
      for (const s of subs) {
        const topic = (s as { topic?: unknown } | null)?.topic;
        // ali-ons subscribes its group's %RETRY% topic, whose name a long (valid) group makes
        // longer than a topic name may be; the subscription is only kept here, never replicated.
        if (!(typeof topic === 'string' && topic.startsWith(RETRY_TOPIC_PREFIX) && isValidGroupName(topic.slice(RETRY_TOPIC_PREFIX.length)))) checkTopicName(topic as string);
        const problem = checkSubscription(s);
        if (problem !== undefined) return `consumer group ${c.groupName}: ${problem}`;
      }
    }
    for (const p of producers as { groupName?: unknown }[]) checkGroupName(p?.groupName as string);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

async function ensureGroupResources(ctx: BrokerContext, group: string, messageModel: string): Promise<void> {
  try {
    if (!ctx.metadata.subscriptionGroup(group) && ctx.config.autoCreateSubscriptionGroup) {
      checkGroupLimit(ctx.config, ctx.metadata.subscriptionGroupCount(), group);
      await ctx.raft.proposeControl({ kind: 'group-upsert', config: { groupName: group, consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16 } });
    }
    // A group name longer than a topic name allows has no retry topic (send-back refuses it).
    const retryTopic = retryTopicOf(group);
    // With front doors every door needs a retry queue of its own, or the doors past the first
    // would show clients a retry queue that is not theirs.
    const retryQueues = ctx.config.frontDoorEnable ? ctx.raft.peerIds.length : 1;
    if (messageModel !== 'BROADCASTING' && isValidTopicName(retryTopic)) await ctx.ensureTopic(retryTopic, retryQueues, true);
  } catch (err) {
    ctx.log.warn({ err, group }, 'could not create the subscription group or its retry topic; the next heartbeat retries');
  }
}

export const heartbeatProcessor: BrokerProcessor = { name: 'heartbeat', codes: [RequestCode.HEART_BEAT], handle: heartbeat };

/**
 * A producer registered by another protocol adapter (the gRPC endpoint's transaction-check
 * streams): as a heartbeat would, and dropped with its channel.
 */
export function registerProducerChannel(ctx: BrokerContext, clientId: string, channel: RemotingChannel, group: string): boolean {
  return registryOf(ctx).registerProducer(clientId, channel, group, ctx.nowMs());
}

export function forgetChannel(ctx: BrokerContext, channel: RemotingChannel): void {
  registryOf(ctx).channelClosed(channel);
}
