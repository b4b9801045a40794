// The send request header: SEND_MESSAGE (10) and SEND_BATCH_MESSAGE (320) use long field names,
// SEND_MESSAGE_V2 (310) the one-letter names a..n. Parsing reads the right names directly instead
// of building a translated copy, since this runs once per send.
import { headerBool, headerInt, headerOptInt, headerOptString, headerString } from './headers.js';
import type { ExtFields } from './remoting-command.js';
import { DEFAULT_TOPIC } from '../common/system-topics.js';

export const SEND_V2_SHORT_TO_LONG = {
  a: 'producerGroup',
  b: 'topic',
  c: 'defaultTopic',
  d: 'defaultTopicQueueNums',
  e: 'queueId',
  f: 'sysFlag',
  g: 'bornTimestamp',
  h: 'flag',
  i: 'properties',
  j: 'reconsumeTimes',
  k: 'unitMode',
  l: 'maxReconsumeTimes',
  m: 'batch',
  n: 'brokerName',
} as const;

export type SendV2ShortName = keyof typeof SEND_V2_SHORT_TO_LONG;
export type SendHeaderLongName = (typeof SEND_V2_SHORT_TO_LONG)[SendV2ShortName];

export const SEND_V2_LONG_TO_SHORT: Readonly<Record<SendHeaderLongName, SendV2ShortName>> = Object.fromEntries(
  Object.entries(SEND_V2_SHORT_TO_LONG).map(([s, l]) => [l, s]),
) as Record<SendHeaderLongName, SendV2ShortName>;

export interface SendMessageRequestHeader {
  producerGroup: string;
  topic: string;
  defaultTopic: string;
  defaultTopicQueueNums: number;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  /** The properties string (key 0x01 value 0x02 ...), stored unchanged. */
  properties: string;
  reconsumeTimes: number;
  unitMode: boolean;
  maxReconsumeTimes: number | undefined;
  batch: boolean;
  brokerName: string | undefined;
}

/** Reads a send header; `v2` selects the one-letter names of SEND_MESSAGE_V2. */
export function parseSendMessageHeader(ext: ExtFields, v2: boolean): SendMessageRequestHeader {
  const k = (long: SendHeaderLongName): string => (v2 ? SEND_V2_LONG_TO_SHORT[long] : long);
  const maxReconsume = headerOptString(ext, k('maxReconsumeTimes'));
  return {
    producerGroup: headerString(ext, k('producerGroup')),
    topic: headerString(ext, k('topic')),
    defaultTopic: headerOptString(ext, k('defaultTopic')) ?? DEFAULT_TOPIC,
    defaultTopicQueueNums: headerOptInt(ext, k('defaultTopicQueueNums'), 4),
    queueId: headerInt(ext, k('queueId')),
    sysFlag: headerOptInt(ext, k('sysFlag'), 0),
    bornTimestamp: headerOptInt(ext, k('bornTimestamp'), 0),
    flag: headerOptInt(ext, k('flag'), 0),
    properties: headerOptString(ext, k('properties')) ?? '',
    reconsumeTimes: headerOptInt(ext, k('reconsumeTimes'), 0),
    unitMode: headerBool(ext, k('unitMode'), false),
    maxReconsumeTimes: maxReconsume === undefined ? undefined : headerInt(ext, k('maxReconsumeTimes')),
    batch: headerBool(ext, k('batch'), false),
    brokerName: headerOptString(ext, k('brokerName')),
  };
}

/** Long names → one-letter names (a client building a SEND_MESSAGE_V2 request). */
export function toSendV2ExtFields(long: Readonly<Partial<Record<SendHeaderLongName, string>>>): ExtFields {
  const out: ExtFields = {};
  for (const [name, value] of Object.entries(long)) {
    if (value === undefined) continue;
    const short = Object.hasOwn(SEND_V2_LONG_TO_SHORT, name) ? SEND_V2_LONG_TO_SHORT[name as SendHeaderLongName] : name;
    out[short] = value;
  }
  return out;
}

/** One-letter names → long names (unknown keys pass through unchanged). */
export function fromSendV2ExtFields(short: Readonly<ExtFields>): ExtFields {
  const out: ExtFields = {};
  for (const [name, value] of Object.entries(short)) {
    const long = Object.hasOwn(SEND_V2_SHORT_TO_LONG, name) ? SEND_V2_SHORT_TO_LONG[name as SendV2ShortName] : name;
    out[long] = value;
  }
  return out;
}
