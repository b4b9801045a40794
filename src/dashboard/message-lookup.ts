// Message lookup for the dashboard: by id (offset id, or a client id with its topic), by key, or
// by time (the first messages of each queue stored at or after it), through the SDK's Admin and
// a PullConsumer, each message with its headers, a preview of its body, and the consumer groups
// whose committed offset is past it.
import type { Admin, MessageExt, PullConsumer } from '../client/index.js';
import { scanByTime } from '../client/time-scan.js';
import type { LagRow } from './rate-sampler.js';

/** Body bytes shown at most (as UTF-8 text). */
const BODY_PREVIEW_BYTES = 1024;
const MAX_MESSAGES = 32;
/** By time: this many messages of each queue from the time on, the earliest MAX_MESSAGES shown. */
const PER_QUEUE_BY_TIME = 4;

export interface MessageView {
  msgId: string;
  offsetMsgId: string;
  topic: string;
  brokerName: string;
  queueId: number;
  queueOffset: number;
  tags: string | null;
  keys: string[];
  bornTimestamp: number;
  storeTimestamp: number;
  storeHost: string;
  reconsumeTimes: number;
  properties: Record<string, string>;
  bodyBytes: number;
  bodyPreview: string;
  /** Groups with offsets on the topic, and whether each has consumed past this message. */
  consumers: { group: string; consumed: boolean }[];
}

/** A time as the page sends it: ms since the epoch, or a date the browser's Date parses (ISO 8601). */
export function parseLookupTime(text: string): number {
  const ms = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new Error(`'${text.slice(0, 40)}' is not a time: give ms since the epoch or an ISO 8601 date, e.g. 2026-12-05T18:40:00Z`);
  return ms;
}

export async function lookUpMessages(admin: Admin, reader: PullConsumer, lag: readonly LagRow[], q: { topic?: string; key?: string; id?: string; time?: string }): Promise<MessageView[]> {
  let found: MessageExt[];
  if (q.id !== undefined) found = [await admin.viewMessage(q.id, q.topic)];
  else if (q.topic !== undefined && q.key !== undefined) found = await admin.queryMessageByKey(q.topic, q.key, { maxNum: MAX_MESSAGES });
  else if (q.topic !== undefined && q.time !== undefined) {
    const beginMs = parseLookupTime(q.time);
    const queues = await scanByTime(reader, q.topic, { beginMs, max: MAX_MESSAGES * PER_QUEUE_BY_TIME, maxPerQueue: PER_QUEUE_BY_TIME });
    found = queues.flatMap((s) => s.messages).sort((a, b) => a.storeTimestamp - b.storeTimestamp).slice(0, MAX_MESSAGES);
    if (found.length === 0) throw new Error(`no message of topic ${q.topic} was stored at or after ${new Date(beginMs).toISOString()}`);
  } else throw new Error('a key or time lookup needs the topic too');
  if (found.length === 0) throw new Error(`no message with key ${q.key} in topic ${q.topic}`);
  const views: MessageView[] = [];
  for (const m of found.slice(0, MAX_MESSAGES)) views.push({ ...viewOf(m), consumers: await consumersOf(admin, lag, m) });
  return views;
}

function viewOf(m: MessageExt): Omit<MessageView, 'consumers'> {
  return {
    msgId: m.msgId,
    offsetMsgId: m.offsetMsgId,
    topic: m.topic,
    brokerName: m.brokerName,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    tags: m.tags ?? null,
    keys: m.keys,
    bornTimestamp: m.bornTimestamp,
    storeTimestamp: m.storeTimestamp,
    storeHost: m.storeHost,
    reconsumeTimes: m.reconsumeTimes,
    properties: m.properties,
    bodyBytes: m.body.length,
    bodyPreview: m.body.subarray(0, BODY_PREVIEW_BYTES).toString('utf8'),
  };
}

/** Groups the leaders report lag for on this topic; consumed when their offset is past the message. */
async function consumersOf(admin: Admin, lag: readonly LagRow[], m: MessageExt): Promise<{ group: string; consumed: boolean }[]> {
  const groups = [...new Set(lag.filter((r) => r.topic === m.topic).map((r) => r.consumerGroup))].sort();
  return Promise.all(groups.map(async (group) => {
    const rows = await admin.consumerProgress(group, m.topic).catch(() => []);
    const row = rows.find((r) => r.queueId === m.queueId && (m.brokerName === '' || r.brokerName === m.brokerName));
    return { group, consumed: row !== undefined && row.consumerOffset > m.queueOffset };
  }));
}
