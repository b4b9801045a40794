// Tag subscriptions: parsing '*' or 'A || B' into RocketMQ's SubscriptionData (tags and their Java
// String.hashCode, which the broker compares against the ConsumeQueue's tag hash) and the client
// side check of a pulled message's tag (the broker filters by hash, so collisions reach us).
import type { SubscriptionData } from '../protocol/route-data.js';
import { javaStringHash } from '../common/message/java-hash.js';
import { InvalidMessageError } from './client-errors.js';

export const SUB_ALL = '*';

export function buildSubscription(topic: string, expression: string | undefined, subVersion: number): SubscriptionData {
  const subString = expression === undefined || expression.trim() === '' || expression.trim() === SUB_ALL ? SUB_ALL : expression.trim();
  const tagsSet: string[] = [];
  if (subString !== SUB_ALL) {
    for (const part of subString.split('||')) {
      const tag = part.trim();
      if (tag.length === 0) throw new InvalidMessageError(`tag expression '${expression}' has an empty tag; write '*' or tags separated by '||' like 'A || B'`);
      if (!tagsSet.includes(tag)) tagsSet.push(tag);
    }
  }
  return {
    topic,
    subString,
    classFilterMode: false,
    tagsSet,
    codeSet: tagsSet.map((tag) => javaStringHash(tag)),
    subVersion,
    expressionType: 'TAG',
  };
}

/** True when a message with `tags` matches the subscription. */
export function matchesSubscription(sub: SubscriptionData, tags: string | undefined): boolean {
  if (sub.subString === SUB_ALL) return true;
  return tags !== undefined && sub.tagsSet.includes(tags);
}
