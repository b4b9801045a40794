// The message properties string, `key 0x01 value 0x02` repeated (every pair ends with 0x02, as
// Apache and ali-ons write it), the property names RocketMQ gives meaning to, and an
// allocation-free lookup of one property straight in record bytes for the dispatcher. The broker
// parses into a Map, the client SDK into a plain object (its public MessageExt.properties).

import { InvalidMessageError } from './message-errors.js';

export const PROPERTY_NAME_VALUE_SEPARATOR = 0x01;
export const PROPERTY_SEPARATOR = 0x02;

/** Property names with a meaning to the broker or clients (RocketMQ's MessageConst). */
export const MessageProperty = {
  KEYS: 'KEYS',
  TAGS: 'TAGS',
  WAIT_STORE_MSG_OK: 'WAIT',
  DELAY: 'DELAY',
  RETRY_TOPIC: 'RETRY_TOPIC',
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  TRANSACTION_PREPARED: 'TRAN_MSG',
  PRODUCER_GROUP: 'PGROUP',
  MIN_OFFSET: 'MIN_OFFSET',
  MAX_OFFSET: 'MAX_OFFSET',
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
  RECONSUME_TIME: 'RECONSUME_TIME',
  MAX_RECONSUME_TIMES: 'MAX_RECONSUME_TIMES',
  UNIQ_KEY: 'UNIQ_KEY',
  CONSUME_START_TIME: 'CONSUME_START_TIME',
  TRANSACTION_ID: '__transactionId__',
  TRANSACTION_CHECK_TIMES: 'TRANSACTION_CHECK_TIMES',
  CHECK_IMMUNITY_TIME_IN_SECONDS: 'CHECK_IMMUNITY_TIME_IN_SECONDS',
  SHARDING_KEY: '__SHARDINGKEY',
  TIMER_DELIVER_MS: 'TIMER_DELIVER_MS',
  TIMER_DELAY_SEC: 'TIMER_DELAY_SEC',
} as const;

/** The separator of several keys inside the KEYS property. */
export const KEY_SEPARATOR = ' ';

/** True when `s` holds a byte that would break the properties string (0x01 or 0x02). */
export function hasPropertySeparator(s: string): boolean {
  return s.includes('\x01') || s.includes('\x02');
}

/** Appends one pair to a properties string; the caller has checked the separators. */
export function appendProperty(out: string, name: string, value: string): string {
  return `${out}${name}\x01${value}\x02`;
}

/** Builds the properties string; keys and values must not contain 0x01 or 0x02, keys not be empty. */
export function formatProperties(properties: ReadonlyMap<string, string> | Readonly<Record<string, string>>): string {
  const pairs = properties instanceof Map ? properties.entries() : Object.entries(properties);
  let out = '';
  for (const [k, v] of pairs) {
    if (k.length === 0 || hasPropertySeparator(k) || hasPropertySeparator(v)) {
      throw new InvalidMessageError(`property ${JSON.stringify(k)} has an empty name or contains 0x01/0x02`);
    }
    out = appendProperty(out, k, v);
  }
  return out;
}

/**
 * Calls `put` for every pair of a properties string. Pairs without a 0x01 or with an empty name
 * are skipped (Java does the same) and a missing final 0x02 is tolerated.
 */
function scanProperties(text: string, put: (name: string, value: string) => void): void {
  let start = 0;
  // Bounded by the string length: every turn moves `start` forward by at least one.
  while (start < text.length) {
    let end = text.indexOf('\x02', start);
    if (end < 0) end = text.length;
    const sep = text.indexOf('\x01', start);
    if (sep > start && sep < end) put(text.slice(start, sep), text.slice(sep + 1, end));
    start = end + 1;
  }
}

/** Parses a properties string into a Map (see scanProperties); a later duplicate name wins. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  scanProperties(text, (name, value) => out.set(name, value));
  return out;
}

/** Parses a properties string into a plain object, as the client SDK exposes it; a later duplicate wins. */
export function parsePropertiesToObject(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  scanProperties(text, (name, value) => {
    out[name] = value;
  });
  return out;
}

/** Looks up one property in a properties string without building a map. */
export function getProperty(text: string, name: string): string | undefined {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\x02', start);
    if (end < 0) end = text.length;
    if (text.startsWith(name, start) && text.charCodeAt(start + name.length) === PROPERTY_NAME_VALUE_SEPARATOR) {
      return text.slice(start + name.length + 1, end);
    }
    start = end + 1;
  }
  return undefined;
}

/**
 * Finds property `name` (ASCII bytes) in the properties bytes `buf[start, end)` and returns the
 * value's start, storing its end in `bounds[0]`; -1 when absent. No allocation: the dispatcher
 * calls it for TAGS, KEYS and UNIQ_KEY of every message.
 */
export function findPropertyValue(buf: Uint8Array, start: number, end: number, name: Uint8Array, bounds: Int32Array): number {
  let pos = start;
  while (pos < end) {
    // A hand-written scan: TypedArray.indexOf would run past `end` into the next record.
    let pairEnd = pos;
    while (pairEnd < end && buf[pairEnd] !== PROPERTY_SEPARATOR) pairEnd++;
    const nameEnd = pos + name.length;
    if (nameEnd < pairEnd && buf[nameEnd] === PROPERTY_NAME_VALUE_SEPARATOR) {
      let same = true;
      for (let i = 0; i < name.length; i++) {
        if (buf[pos + i] !== name[i]) {
          same = false;
          break;
        }
      }
      if (same) {
        bounds[0] = pairEnd;
        return nameEnd + 1;
      }
    }
    pos = pairEnd + 1;
  }
  return -1;
}
