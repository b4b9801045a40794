// Checks of user input done before anything is sent, so a mistake is a typed error that says what
// to change instead of a broker remark: topic and group names, message bodies, properties,
// delay levels, and the NameServer address list.
import { GROUP_NAME_MAX_CHARS, GROUP_NAME_RULE, TOPIC_NAME_MAX_CHARS, TOPIC_NAME_RULE, isValidGroupName, isValidTopicName } from '../common/names.js';
import { DELAY_LEVEL_MAX, RESERVED_PROPERTIES } from './client-constants.js';
import {
  ClientConfigError,
  InvalidGroupError,
  InvalidMessageError,
  InvalidTopicError,
  MessageTooLargeError,
} from './client-errors.js';
import { hasPropertySeparator, type Message } from './message.js';
import { DEFAULT_TOPIC } from '../common/system-topics.js';


export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || !isValidTopicName(topic)) throw new InvalidTopicError(String(topic), TOPIC_NAME_RULE);
}

/** The last topic checkSendTopic accepted: a producer sends to few topics, so most checks end here. */
let lastSendTopic = '';

/** Topics users may send to: the rule, and not a retry/DLQ system topic by accident of typing. */
export function checkSendTopic(topic: unknown): asserts topic is string {
  if (topic === lastSendTopic && lastSendTopic !== '') return;
  checkTopic(topic);
  if (topic === DEFAULT_TOPIC) throw new InvalidTopicError(topic, `${DEFAULT_TOPIC} is the auto-create template topic and cannot be sent to`);
  lastSendTopic = topic;
}

export function checkGroup(group: unknown): asserts group is string {
  if (!isValidGroupName(group)) {
    throw new InvalidGroupError(String(group), GROUP_NAME_RULE);
  }
}

/** The body as bytes; validates everything about the message but its size. */
export function checkMessage(msg: Message): Buffer {
  if (typeof msg !== 'object' || msg === null) throw new InvalidMessageError('a message must be an object {topic, body, tags?, keys?, properties?}');
  checkSendTopic(msg.topic);
  const body = typeof msg.body === 'string' ? Buffer.from(msg.body, 'utf8') : msg.body;
  if (!Buffer.isBuffer(body)) throw new InvalidMessageError(`message body must be a Buffer or a string, got ${typeof msg.body}`);
  if (body.length === 0) throw new InvalidMessageError('message body is empty; send at least one byte');
  if (msg.tags !== undefined && (typeof msg.tags !== 'string' || hasPropertySeparator(msg.tags) || msg.tags.includes('||'))) {
    throw new InvalidMessageError(`tags '${String(msg.tags).slice(0, 100)}' must be a string without '||' or the bytes 0x01/0x02`);
  }
  if (msg.keys !== undefined) {
    const keys = typeof msg.keys === 'string' ? [msg.keys] : msg.keys;
    for (const k of keys) {
      if (typeof k !== 'string' || hasPropertySeparator(k)) throw new InvalidMessageError(`key '${String(k).slice(0, 100)}' must be a string without the bytes 0x01/0x02`);
    }
  }
  if (msg.delayTimeLevel !== undefined && (!Number.isInteger(msg.delayTimeLevel) || msg.delayTimeLevel < 0 || msg.delayTimeLevel > DELAY_LEVEL_MAX)) {
    throw new InvalidMessageError(`delayTimeLevel must be an integer from 0 (none) to ${DELAY_LEVEL_MAX}, got ${msg.delayTimeLevel}`);
  }
  if (msg.flag !== undefined && (!Number.isInteger(msg.flag) || msg.flag < -0x80000000 || msg.flag > 0x7fffffff)) {
    throw new InvalidMessageError(`flag must be a 32-bit integer, got ${msg.flag}`);
  }
  if (msg.properties !== undefined) {
    for (const [name, value] of Object.entries(msg.properties)) {
      if (name.length === 0 || typeof value !== 'string' || hasPropertySeparator(name) || hasPropertySeparator(value)) {
        throw new InvalidMessageError(`property '${name.slice(0, 100)}' must have a non-empty name and a string value without the bytes 0x01/0x02`);
      }
      if (RESERVED_PROPERTIES.has(name)) throw new InvalidMessageError(`property '${name}' is reserved for the client and broker; use another name`);
    }
  }
  return body;
}

export function checkBodySize(bytes: number, maxBytes: number, what?: string): void {
  if (bytes > maxBytes) throw new MessageTooLargeError(bytes, maxBytes, what);
}

/** Splits "h1:p1;h2:p2" (or takes an array) and checks every entry is host:port. */
export function parseNamesrvAddr(value: string | readonly string[] | undefined): string[] {
  const raw = value ?? process.env['NAMESRV_ADDR'];
  if (raw === undefined || raw.length === 0) {
    throw new ClientConfigError('namesrvAddr is not set; pass namesrvAddr: "host:9876" (several separated by ";") or set NAMESRV_ADDR');
  }
  const list = (typeof raw === 'string' ? raw.split(';') : [...raw]).map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new ClientConfigError('namesrvAddr is empty; pass namesrvAddr: "host:9876"');
  for (const addr of list) {
    const i = addr.lastIndexOf(':');
    const port = Number(addr.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new ClientConfigError(`namesrvAddr entry '${addr}' is not host:port; write it like 127.0.0.1:9876`);
    }
  }
  return list;
}

export { GROUP_NAME_MAX_CHARS, TOPIC_NAME_MAX_CHARS };
