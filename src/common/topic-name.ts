// RocketMQ's topic-name rule, shared by the NameServer and the broker so both reject the same
// names with the same words: characters [%|a-zA-Z0-9_-], at most 127 of them (the stored record
// keeps the topic length in one signed byte, which is where 127 comes from).
import { RmqError } from './errors.js';

export const TOPIC_NAME_MAX_CHARS = 127;
export const TOPIC_NAME_RULE = `a topic name must be 1 to ${TOPIC_NAME_MAX_CHARS} characters from [%|a-zA-Z0-9_-]`;

const TOPIC_NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;

/** SYSTEM_ERROR (1) on the wire, as Apache answers an invalid topic. */
const SYSTEM_ERROR = 1;

export class InvalidTopicNameError extends RmqError {
  constructor(readonly topic: string) {
    super('ERR_INVALID_TOPIC_NAME', `invalid topic name '${topic.slice(0, 200)}': ${TOPIC_NAME_RULE}`, {
      responseCode: SYSTEM_ERROR,
    });
  }
}

export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && topic.length <= TOPIC_NAME_MAX_CHARS && TOPIC_NAME_PATTERN.test(topic);
}

/** Throws InvalidTopicNameError when the name breaks the rule. */
export function checkTopicName(topic: string): void {
  if (!isValidTopicName(topic)) throw new InvalidTopicNameError(topic);
}
