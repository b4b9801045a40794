// What users send and receive: Message, MessageExt (a pulled message with its offsets), and
// MessageQueue (topic + broker group + queue id), plus the properties string codec
// (`key 0x01 value 0x02`, every pair terminated, as Apache and ali-ons write it) re-exported from
// the shared message codec in src/common/message.

export interface Message {
  topic: string;
  body: Buffer | string;
  tags?: string;
  /** One key or several; stored space-separated in KEYS and indexed by the broker. */
  keys?: string | readonly string[];
  properties?: Readonly<Record<string, string>>;
  /** 1..18 (1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h); 0 or absent = none. */
  delayTimeLevel?: number;
  /** The user flag stored with the message (int32). */
  flag?: number;
}

export interface MessageQueue {
  readonly topic: string;
  readonly brokerName: string;
  readonly queueId: number;
}

/** A message as consumed or looked up. */
export interface MessageExt {
  topic: string;
  body: Buffer;
  tags: string | undefined;
  keys: string[];
  properties: Record<string, string>;
  /** The client-generated id (UNIQ_KEY), or the offset id when the producer set none. */
  msgId: string;
  /** storeHost + storePort + physicalOffset as 32 hex characters. */
  offsetMsgId: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  sysFlag: number;
  flag: number;
  bornTimestamp: number;
  bornHost: string;
  storeTimestamp: number;
  storeHost: string;
  reconsumeTimes: number;
  bodyCrc: number;
  /** The broker group it was pulled from (empty for admin lookups). */
  brokerName: string;
}

export function queueKey(mq: MessageQueue): string {
  return `${mq.topic}@${mq.brokerName}@${mq.queueId}`;
}

/** Sort order of Java's MessageQueue.compareTo: topic, brokerName, queueId. */
export function compareQueues(a: MessageQueue, b: MessageQueue): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.brokerName !== b.brokerName) return a.brokerName < b.brokerName ? -1 : 1;
  return a.queueId - b.queueId;
}

// The properties string codec is the shared one; the SDK's `parseProperties` gives a plain object.
export {
  appendProperty,
  formatProperties,
  hasPropertySeparator,
  parsePropertiesToObject as parseProperties,
} from '../common/message/message-properties.js';
