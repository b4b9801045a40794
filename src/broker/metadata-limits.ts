// Bounds on the replicated metadata, checked on the leader before it proposes a change: topics,
// queues over all topics, subscription groups and consumer-offset entries (broker.conf keys
// maxTopicCount, maxQueueCount, maxSubscriptionGroupCount, maxConsumerOffsetCount). Every replica
// holds these tables in memory, keeps a file descriptor per queue and rewrites metadata.json from
// them, so a client must not be able to grow them without end. Never checked when applying a
// committed entry: replicas may run with different limits, and a committed entry is applied
// alike everywhere. A refusal is a BrokerError answered with SYSTEM_ERROR (1) and a remark that
// names the key to raise.

import { ResponseCode } from '../protocol/response-code.js';
import type { BrokerConfig } from './broker-config.js';
import type { MetadataView, TopicConfig } from './broker-context.js';
import { BrokerError } from './broker-errors.js';

function limitReached(what: string, limit: number, key: string): BrokerError {
  return new BrokerError('ERR_BROKER_LIMIT_REACHED', ResponseCode.SYSTEM_ERROR, `${what}: this broker holds at most ${limit} (broker.conf ${key}); delete unused ones or raise ${key}`);
}

function queuesOf(t: TopicConfig): number {
  return Math.max(t.readQueueNums, t.writeQueueNums);
}

/** Throws when creating or changing `next` would pass the topic or queue limit. */
export function checkTopicLimits(config: Readonly<BrokerConfig>, metadata: MetadataView, next: TopicConfig): void {
  const existing = metadata.topic(next.topicName);
  let topics = 0;
  let queues = 0;
  for (const t of metadata.topics()) {
    topics++;
    queues += queuesOf(t);
  }
  if (!existing && topics >= config.maxTopicCount) throw limitReached(`topic ${next.topicName} not created`, config.maxTopicCount, 'maxTopicCount');
  const added = queuesOf(next) - (existing ? queuesOf(existing) : 0);
  if (added > 0 && queues + added > config.maxQueueCount) {
    throw limitReached(`topic ${next.topicName} needs ${added} more queues, ${queues} exist`, config.maxQueueCount, 'maxQueueCount');
  }
}

/** Throws when creating subscription group `group` would pass the group limit. */
export function checkGroupLimit(config: Readonly<BrokerConfig>, groupCount: number, group: string): void {
  if (groupCount >= config.maxSubscriptionGroupCount) throw limitReached(`subscription group ${group} not created`, config.maxSubscriptionGroupCount, 'maxSubscriptionGroupCount');
}
