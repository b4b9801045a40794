// RocketMQ's delay levels on the write path: a message with DELAY=n (1..18) is stored in
// SCHEDULE_TOPIC_XXXX, queue n-1, with its real topic and queue in REAL_TOPIC / REAL_QID; the
// schedule service later re-sends it to the real topic once due. Levels past the last are
// capped to it, as Apache does; transaction messages are never delayed.

import { getProperty, MessageProperty, SysFlag, type MessageRecord } from '../store/index.js';
import { SCHEDULE_TOPIC } from './topic-rules.js';

/** The delay level of a properties string, 0 when none (absent, "0" or not a number). */
export function delayLevelOf(properties: string): number {
  const raw = getProperty(properties, MessageProperty.DELAY);
  if (raw === undefined) return 0;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Rewrites `record` in place for the schedule topic when it carries a delay level; returns the level. */
export function applyDelayLevel(record: MessageRecord, levelCount: number): number {
  const tx = record.sysFlag & 0xc;
  if (tx === SysFlag.TRANSACTION_PREPARED || tx === SysFlag.TRANSACTION_ROLLBACK) return 0;
  let level = delayLevelOf(record.properties);
  if (level === 0) return 0;
  if (level > levelCount) level = levelCount;
  let props = record.properties;
  if (levelCount > 0 && getProperty(props, MessageProperty.DELAY) !== String(level)) props = replaceProperty(props, MessageProperty.DELAY, String(level));
  props = appendProperty(props, MessageProperty.REAL_TOPIC, record.topic);
  props = appendProperty(props, MessageProperty.REAL_QID, String(record.queueId));
  record.properties = props;
  record.topic = SCHEDULE_TOPIC;
  record.queueId = level - 1;
  return level;
}

function appendProperty(props: string, name: string, value: string): string {
  if (getProperty(props, name) !== undefined) props = replaceProperty(props, name, undefined);
  return `${props}${name}\x01${value}\x02`;
}

/** Replaces (or with undefined removes) one property, keeping the order of the rest. */
export function replaceProperty(props: string, name: string, value: string | undefined): string {
  const pairs = props.split('\x02').filter((p) => p !== '');
  const out: string[] = [];
  for (const p of pairs) {
    const sep = p.indexOf('\x01');
    const key = sep < 0 ? p : p.slice(0, sep);
    if (key === name) {
      if (value !== undefined) out.push(`${name}\x01${value}`);
    } else out.push(p);
  }
  return out.map((p) => `${p}\x02`).join('');
}
