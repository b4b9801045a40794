// Which topics users may send to and how internal topics are named: the broker refuses sends to
// RocketMQ's system topics (as Apache's TopicValidator does) and creates retry/DLQ topics itself.

import { DEFAULT_TOPIC, DLQ_TOPIC_PREFIX, OFFSET_MOVED_EVENT, RETRY_TOPIC_PREFIX, SCHEDULE_TOPIC } from '../common/system-topics.js';

export { DEFAULT_TOPIC, DLQ_TOPIC_PREFIX, RETRY_TOPIC_PREFIX, SCHEDULE_TOPIC } from '../common/system-topics.js';
/** The schedule service's progress records (schedule/schedule-progress.ts); users may not send to it (RMQ_SYS_ prefix). */
export const SCHEDULE_PROGRESS_TOPIC = 'RMQ_SYS_SCHEDULE_PROGRESS';
/** Half (prepared) transaction messages, queue 0, with their real topic and queue in REAL_TOPIC / REAL_QID. */
export const TRANS_HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
/** One op record per decision about a half message (commit, rollback, check sent, discarded). */
export const TRANS_OP_HALF_TOPIC = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
/** Where a half message goes once checked transactionCheckMax times without an answer. */
export const TRANS_CHECK_MAX_TIME_TOPIC = 'TRANS_CHECK_MAX_TIME_TOPIC';

/** Topics only the broker itself writes. */
const SYSTEM_TOPICS: ReadonlySet<string> = new Set([
  DEFAULT_TOPIC,
  SCHEDULE_TOPIC,
  TRANS_HALF_TOPIC,
  TRANS_OP_HALF_TOPIC,
  TRANS_CHECK_MAX_TIME_TOPIC,
  OFFSET_MOVED_EVENT,
  'SELF_TEST_TOPIC',
  'BenchmarkTest',
]);

export function isForbiddenSendTopic(topic: string): boolean {
  return SYSTEM_TOPICS.has(topic) || topic.startsWith('rmq_sys_') || topic.startsWith('RMQ_SYS_');
}

export function retryTopicOf(group: string): string {
  return RETRY_TOPIC_PREFIX + group;
}

export function dlqTopicOf(group: string): string {
  return DLQ_TOPIC_PREFIX + group;
}

export function isRetryOrDlqTopic(topic: string): boolean {
  return topic.startsWith(RETRY_TOPIC_PREFIX) || topic.startsWith(DLQ_TOPIC_PREFIX);
}
