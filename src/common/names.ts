// The one home of RocketMQ's naming rules, shared by the client, the broker and the NameServer so
// every entry point refuses the same names with the same words. A name is checked where it enters
// (a request header or body), before it can reach a replicated table or a registration:
//   topic      characters [%|a-zA-Z0-9_-], 1..127 of them (the stored record keeps the topic
//              length in one signed byte, which is where 127 comes from)
//   group      the same characters, 1..255 of them (consumer and producer groups)
//   client id  1..255 characters, no control characters ("ip@instance[@unit]"; clients let
//              users choose the instance name, so nothing stricter)
import { RmqError } from './errors.js';

export const TOPIC_NAME_MAX_CHARS = 127;
export const GROUP_NAME_MAX_CHARS = 255;
export const CLIENT_ID_MAX_CHARS = 255;
export const TOPIC_NAME_RULE = `a topic name must be 1 to ${TOPIC_NAME_MAX_CHARS} characters from [%|a-zA-Z0-9_-]`;
export const GROUP_NAME_RULE = `a group name must be 1 to ${GROUP_NAME_MAX_CHARS} characters from [%|a-zA-Z0-9_-]`;
export const CLIENT_ID_RULE = `a client id must be 1 to ${CLIENT_ID_MAX_CHARS} characters without control characters`;

const NAME_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
const CLIENT_ID_PATTERN = /^[^\x00-\x1f\x7f]+$/;

/** SYSTEM_ERROR (1) on the wire, as Apache answers an invalid topic. */
const SYSTEM_ERROR = 1;

/** A name quoted in a message: a hostile one may be megabytes long. */
function quoted(value: unknown): string {
  const name = String(value);
  return name.length > 200 ? `${name.slice(0, 200)}… (${name.length} characters)` : name;
}

export class InvalidTopicNameError extends RmqError {
  constructor(readonly topic: string) {
    super('ERR_COMMON_INVALID_TOPIC_NAME', `invalid topic name '${quoted(topic)}': ${TOPIC_NAME_RULE}`, { responseCode: SYSTEM_ERROR });
  }
}

export class InvalidGroupNameError extends RmqError {
  constructor(readonly group: string) {
    super('ERR_COMMON_INVALID_GROUP_NAME', `invalid group name '${quoted(group)}': ${GROUP_NAME_RULE}`, { responseCode: SYSTEM_ERROR });
  }
}

export class InvalidClientIdError extends RmqError {
  constructor(readonly clientId: string) {
    super('ERR_COMMON_INVALID_CLIENT_ID', `invalid client id '${quoted(clientId)}': ${CLIENT_ID_RULE}`, { responseCode: SYSTEM_ERROR });
  }
}

export function isValidTopicName(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length > 0 && topic.length <= TOPIC_NAME_MAX_CHARS && NAME_PATTERN.test(topic);
}

export function isValidGroupName(group: unknown): group is string {
  return typeof group === 'string' && group.length > 0 && group.length <= GROUP_NAME_MAX_CHARS && NAME_PATTERN.test(group);
}

export function isValidClientId(clientId: unknown): clientId is string {
  return typeof clientId === 'string' && clientId.length > 0 && clientId.length <= CLIENT_ID_MAX_CHARS && CLIENT_ID_PATTERN.test(clientId);
}

/** Throws InvalidTopicNameError when the name breaks the rule. */
export function checkTopicName(topic: string): void {
  if (!isValidTopicName(topic)) throw new InvalidTopicNameError(topic);
}

/** Throws InvalidGroupNameError when the name breaks the rule. */
export function checkGroupName(group: string): void {
  if (!isValidGroupName(group)) throw new InvalidGroupNameError(group);
}

/** Throws InvalidClientIdError when the id breaks the rule. */
export function checkClientId(clientId: string): void {
  if (!isValidClientId(clientId)) throw new InvalidClientIdError(clientId);
}
