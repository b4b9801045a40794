// What a consumer's send-back (CONSUMER_SEND_MSG_BACK) stores, as a pure function of the looked-up
// message: a copy for `%RETRY%<group>` that first waits in the schedule topic at delay level
// 3 + reconsumeTimes (or the level the request names), or, once the message has been reconsumed
// maxReconsumeTimes times (or the request asks with a negative level), a copy for
// `%DLQ%<group>`. Either copy counts one more reconsume and remembers the first topic
// (RETRY_TOPIC) and the first message id (ORIGIN_MESSAGE_ID). See docs/storage.md, "Message record".

import { createMessageId, getProperty, MessageProperty, type MessageRecord } from '../../store/index.js';
import { applyDelayLevel, replaceProperty } from '../delay-rewrite.js';
import { dlqTopicOf, retryTopicOf } from '../topic-rules.js';

/** Apache's first retry waits at level 3 (10 s with the default levels). */
export const FIRST_RETRY_DELAY_LEVEL = 3;
/** SubscriptionGroupConfig.retryMaxTimes and the client's default maxReconsumeTimes. */
export const DEFAULT_MAX_RECONSUME_TIMES = 16;

export interface SendBackInput {
  /** The message as looked up by its commitLog offset (decoded). */
  original: MessageRecord;
  /** Where `original` is in the log: its offset id becomes ORIGIN_MESSAGE_ID when none is set. */
  originalPhysicalOffset: number;
  group: string;
  /** From the request: 0 = the broker picks, < 0 = straight to the DLQ, n > 0 = that level. */
  requestedDelayLevel: number;
  maxReconsumeTimes: number;
  /** Queue of the retry topic (ignored for the DLQ, which has one queue). */
  retryQueueId: number;
  /** Delay levels the broker has (18 by default): higher requested levels are capped to the last. */
  delayLevelCount: number;
  storeTimestamp: number;
  storeHost: { host: string; port: number };
}

export interface SendBackOutcome {
  target: 'retry' | 'dlq';
  /** retryTopicOf(group) or dlqTopicOf(group): the topic the copy is (eventually) delivered to. */
  topic: string;
  /** For a retry, the level it waits at (after capping); 0 for the DLQ. */
  delayLevel: number;
  /** The record to append: in SCHEDULE_TOPIC_XXXX for a retry, in the DLQ topic otherwise. */
  record: MessageRecord;
}

/** Sets (or replaces) one property, keeping the order of the others. */
export function setProperty(props: string, name: string, value: string): string {
  return `${replaceProperty(props, name, undefined)}${name}\x01${value}\x02`;
}

/** True when a send-back must go to the dead-letter topic instead of another retry. */
export function goesToDlq(reconsumeTimes: number, maxReconsumeTimes: number, requestedDelayLevel: number): boolean {
  return reconsumeTimes >= maxReconsumeTimes || requestedDelayLevel < 0;
}

export function buildSendBackRecord(input: SendBackInput): SendBackOutcome {
  const m = input.original;
  const toDlq = goesToDlq(m.reconsumeTimes, input.maxReconsumeTimes, input.requestedDelayLevel);
  let props = m.properties;
  if (getProperty(props, MessageProperty.RETRY_TOPIC) === undefined) props = setProperty(props, MessageProperty.RETRY_TOPIC, m.topic);
  if (getProperty(props, MessageProperty.ORIGIN_MESSAGE_ID) === undefined) {
    props = setProperty(props, MessageProperty.ORIGIN_MESSAGE_ID, createMessageId(m.storeHost, m.storePort, input.originalPhysicalOffset));
  }
  let delayLevel = 0;
  if (toDlq) {
    // A dead letter is stored at once: a DELAY left over from an earlier hop must not park it.
    props = replaceProperty(props, MessageProperty.DELAY, undefined);
  } else {
    delayLevel = input.requestedDelayLevel === 0 ? FIRST_RETRY_DELAY_LEVEL + m.reconsumeTimes : input.requestedDelayLevel;
    props = setProperty(props, MessageProperty.DELAY, String(delayLevel));
  }
  const topic = toDlq ? dlqTopicOf(input.group) : retryTopicOf(input.group);
  const record: MessageRecord = {
    topic,
    queueId: toDlq ? 0 : input.retryQueueId,
    flag: m.flag,
    queueOffset: 0,
    physicalOffset: -1,
    sysFlag: m.sysFlag,
    bornTimestamp: m.bornTimestamp,
    bornHost: m.bornHost,
    bornPort: m.bornPort,
    storeTimestamp: input.storeTimestamp,
    storeHost: input.storeHost.host,
    storePort: input.storeHost.port,
    reconsumeTimes: m.reconsumeTimes + 1,
    preparedTransactionOffset: m.preparedTransactionOffset,
    body: m.body,
    properties: props,
  };
  if (!toDlq) delayLevel = applyDelayLevel(record, input.delayLevelCount);
  return { target: toDlq ? 'dlq' : 'retry', topic, delayLevel, record };
}
