// UPDATE_AND_CREATE_TOPIC (17): creates or changes a topic's config (queue numbers, permission,
// sys flag, order flag) as a replicated control entry, so every replica and every later leader
// has it; once it is applied the broker re-registers its routes and answers only after the
// NameServers heard them. Names and numbers are checked first with remarks that say what to
// change; RocketMQ's reserved system topics are refused. A follower relays a valid request to the
// leader.

import { checkTopicName } from '../../common/names.js';
import { headerBool, headerInt, headerOptInt, headerOptString, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor, TopicConfig } from '../broker-context.js';
import { checkTopicLimits } from '../metadata-limits.js';
import { isForbiddenSendTopic } from '../topic-rules.js';

/** Same bound as defaultTopicQueueNums in broker.conf. */
export const MAX_QUEUE_NUMS = 1024;
const TOPIC_FILTER_TYPES: ReadonlySet<string> = new Set(['SINGLE_TAG', 'MULTI_TAG']);

export type TopicConfigCheck = { ok: true; config: TopicConfig } | { ok: false; remark: string };

/** Validates the request header into a TopicConfig, or says what is wrong. */
export function readTopicConfig(ctx: BrokerContext, ext: RemotingCommand['extFields']): TopicConfigCheck {
  const topic = headerString(ext, 'topic');
  checkTopicName(topic);
  if (isForbiddenSendTopic(topic)) return { ok: false, remark: `topic ${topic} is a reserved system topic; choose another name` };
  if (topic === ctx.config.brokerClusterName || topic === ctx.config.brokerName) {
    return { ok: false, remark: `topic ${topic} has the name of this broker's cluster or broker; choose another name` };
  }
  const readQueueNums = headerInt(ext, 'readQueueNums');
  const writeQueueNums = headerInt(ext, 'writeQueueNums');
  for (const [name, n] of [['readQueueNums', readQueueNums], ['writeQueueNums', writeQueueNums]] as const) {
    if (n < 1 || n > MAX_QUEUE_NUMS) return { ok: false, remark: `${name} ${n} is out of range: use 1 to ${MAX_QUEUE_NUMS} (use perm to stop reads or writes)` };
  }
  const perm = headerInt(ext, 'perm');
  if (perm < 0 || perm > 7) return { ok: false, remark: `perm ${perm} is not a permission: use 6 (read+write), 4 (read only) or 2 (write only)` };
  const filterType = headerOptString(ext, 'topicFilterType');
  if (filterType !== undefined && !TOPIC_FILTER_TYPES.has(filterType)) {
    return { ok: false, remark: `topicFilterType '${filterType.slice(0, 64)}' is unknown: use SINGLE_TAG or MULTI_TAG` };
  }
  const topicSysFlag = headerOptInt(ext, 'topicSysFlag', 0);
  if (topicSysFlag < 0 || topicSysFlag > 0x7fffffff) return { ok: false, remark: `topicSysFlag ${topicSysFlag} must be a non-negative 32-bit integer` };
  // An ordered topic keeps a fixed queue layout: the NameServer serves it as orderTopicConf.
  const order = headerBool(ext, 'order', false);
  return { ok: true, config: { topicName: topic, readQueueNums, writeQueueNums, perm, topicSysFlag, ...(order ? { order: true } : {}) } };
}

async function handleUpdateTopic(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const check = readTopicConfig(ctx, req.extFields);
  if (!check.ok) return makeResponse(req, ResponseCode.SYSTEM_ERROR, check.remark);
  const config = check.config;
  return ctx.writeOrForward(req, async () => {
    checkTopicLimits(ctx.config, ctx.metadata, config);
    await ctx.raft.proposeControl({ kind: 'topic-upsert', config });
    ctx.log.info({ topic: config }, 'topic created or updated');
    await ctx.admin.registerRoutes('topic update');
    return makeResponse(req, ResponseCode.SUCCESS);
  });
}

export const updateTopicProcessor: BrokerProcessor = {
  name: 'update-topic',
  codes: [RequestCode.UPDATE_AND_CREATE_TOPIC],
  handle: handleUpdateTopic,
};
