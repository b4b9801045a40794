// The metadata deletes and group configuration of mqadmin: DELETE_TOPIC_IN_BROKER (215),
// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) and DELETE_SUBSCRIPTIONGROUP (207). Each is one
// replicated control entry (topic-delete, group-upsert, group-delete), answered once it is
// committed and applied on the leader, so a new leader has it; a follower relays to the leader.
// Deleting a topic drops its config (the leader re-registers without it, so its route goes) and
// every group's offsets of it; its records stay in the log and its ConsumeQueues on disk until
// retention (docs/broker.md, "Admin operations").

import { checkGroupName, checkTopicName } from '../../common/names.js';
import { headerBool, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { decodeJsonBody } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor, SubscriptionGroupConfig } from '../broker-context.js';
import { checkGroupLimit } from '../metadata-limits.js';
import { isForbiddenSendTopic } from '../topic-rules.js';

/** Same bound as Apache's retryQueueNums sanity check; more retry queues help no one. */
const MAX_RETRY_QUEUE_NUMS = 64;
const MAX_RETRY_TIMES = 64;

async function deleteTopic(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const topic = headerString(req.extFields, 'topic');
  checkTopicName(topic);
  if (isForbiddenSendTopic(topic)) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `topic ${topic} is a system topic the broker needs; it cannot be deleted`);
  return ctx.writeOrForward(req, async () => {
    if (ctx.metadata.topic(topic) === undefined) return makeResponse(req, ResponseCode.SUCCESS, `topic ${topic} does not exist on ${ctx.config.brokerName}; nothing deleted`);
    await ctx.raft.proposeControl({ kind: 'topic-delete', topic });
    ctx.log.info({ topic }, 'topic deleted');
    await ctx.admin.registerRoutes('topic delete');
    return makeResponse(req, ResponseCode.SUCCESS);
  });
}

/** The body's fields this broker keeps (Apache sends more: they are ignored). */
export function readGroupConfig(body: Buffer | undefined): SubscriptionGroupConfig | string {
  const raw = decodeJsonBody<Record<string, unknown>>(body, 'subscription group config');
  if (typeof raw !== 'object' || raw === null) return 'the body must be a JSON SubscriptionGroupConfig object';
  const groupName = raw['groupName'];
  if (typeof groupName !== 'string') return 'groupName is missing from the body';
  checkGroupName(groupName);
  const int = (key: string, fallback: number, max: number): number | string => {
    const v = raw[key] ?? fallback;
    return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max ? (v as number) : `${key} ${JSON.stringify(v)} must be an integer in 0..${max}`;
  };
  const retryQueueNums = int('retryQueueNums', 1, MAX_RETRY_QUEUE_NUMS);
  if (typeof retryQueueNums === 'string') return retryQueueNums;
  const retryMaxTimes = int('retryMaxTimes', 16, MAX_RETRY_TIMES);
  if (typeof retryMaxTimes === 'string') return retryMaxTimes;
  const consumeEnable = raw['consumeEnable'] ?? true;
  if (typeof consumeEnable !== 'boolean') return 'consumeEnable must be true or false';
  const orderly = raw['consumeMessageOrderly'] ?? false;
  if (typeof orderly !== 'boolean') return 'consumeMessageOrderly must be true or false';
  // Kept only when true, so the entries of existing groups stay as they were.
  return { groupName, consumeEnable, retryQueueNums, retryMaxTimes, ...(orderly ? { consumeMessageOrderly: true } : {}) };
}

async function updateGroup(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const config = readGroupConfig(req.body);
  if (typeof config === 'string') return makeResponse(req, ResponseCode.SYSTEM_ERROR, config);
  return ctx.writeOrForward(req, async () => {
    if (ctx.metadata.subscriptionGroup(config.groupName) === undefined) checkGroupLimit(ctx.config, ctx.metadata.subscriptionGroupCount(), config.groupName);
    await ctx.raft.proposeControl({ kind: 'group-upsert', config });
    ctx.log.info({ group: config }, 'subscription group created or updated');
    return makeResponse(req, ResponseCode.SUCCESS);
  });
}

async function deleteGroup(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const group = headerString(req.extFields, 'groupName');
  checkGroupName(group);
  const cleanOffset = headerBool(req.extFields, 'cleanOffset', false);
  return ctx.writeOrForward(req, async () => {
    const known = ctx.metadata.subscriptionGroup(group) !== undefined || ctx.metadata.consumerOffsetsOf(group).size > 0;
    if (!known) return makeResponse(req, ResponseCode.SUCCESS, `subscription group ${group} does not exist on ${ctx.config.brokerName}; nothing deleted`);
    await ctx.raft.proposeControl({ kind: 'group-delete', group, ...(cleanOffset ? { cleanOffset } : {}) });
    ctx.log.info({ group, cleanOffset }, 'subscription group deleted');
    // A consumer of the group still heartbeating here has the leader create the group again.
    const online = ctx.consumers.consumerIds(group).length;
    return makeResponse(req, ResponseCode.SUCCESS, online > 0 ? `deleted; ${online} consumer(s) of ${group} are still online and their next heartbeat creates the group again` : undefined);
  });
}

export const adminTopicGroupProcessor: BrokerProcessor = {
  name: 'admin-topic-group',
  codes: [RequestCode.DELETE_TOPIC_IN_BROKER, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, RequestCode.DELETE_SUBSCRIPTIONGROUP],
  handle: (ctx, req) => {
    switch (req.code) {
      case RequestCode.DELETE_TOPIC_IN_BROKER:
        return deleteTopic(ctx, req);
      case RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP:
        return updateGroup(ctx, req);
      default:
        return deleteGroup(ctx, req);
    }
  },
};
