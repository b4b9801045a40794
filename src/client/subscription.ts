// Subscriptions: parsing '*' or 'A || B' into RocketMQ's SubscriptionData (tags and their Java
// String.hashCode, which the broker compares against the ConsumeQueue's tag hash) and the client
// side check of a pulled message's tag (the broker filters by hash, so collisions reach us).
// An SQL92 selector is parsed here too, so a bad expression throws at subscribe() instead of
// being refused by every broker; the broker alone filters by it.
import type { SubscriptionData } from '../protocol/route-data.js';
import { javaStringHash } from '../common/message/java-hash.js';
import { parseSqlFilter } from '../common/filter/index.js';
import { InvalidMessageError } from './client-errors.js';

export const SUB_ALL = '*';

/** A tag expression ('*', 'A || B'), or an explicit selector; SQL92 needs enablePropertyFilter=true on the brokers. */
export type SubscriptionSelector = string | { type: 'TAG' | 'SQL92'; expression: string };

/** Builds the SubscriptionData of a selector; throws FilterSyntaxError/FilterLimitError for a bad SQL92 expression. */
export function buildSelectorSubscription(topic: string, selector: SubscriptionSelector | undefined, subVersion: number): SubscriptionData {
  if (selector === undefined || typeof selector === 'string') return buildSubscription(topic, selector, subVersion);
  if (selector.type === 'TAG') return buildSubscription(topic, selector.expression, subVersion);
  if (selector.type !== 'SQL92') throw new InvalidMessageError(`selector type ${String(selector.type)} is not TAG or SQL92`);
  parseSqlFilter(selector.expression);
  return { topic, subString: selector.expression, classFilterMode: false, tagsSet: [], codeSet: [], subVersion, expressionType: 'SQL92' };
}

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
  // The broker evaluated an SQL92 selector on the message's properties; nothing to recheck here.
  if (sub.subString === SUB_ALL || sub.expressionType === 'SQL92') return true;
  return tags !== undefined && sub.tagsSet.includes(tags);
}
