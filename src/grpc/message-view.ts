// A stored record as a v5 Message: the properties the send path mapped (TAGS, KEYS, UNIQ_KEY,
// __SHARDINGKEY, DELAY) back into system properties, every other property a user property, and
// the delivery state (receipt handle, attempt, invisible duration) of this receive.

import { createHash } from 'node:crypto';
import { createMessageId } from '../common/message/message-id.js';
import { MessageProperty, parseProperties } from '../common/message/message-properties.js';
import type { MessageRecord } from '../common/message/message-record.js';
import { toDuration, toTimestamp, type Message } from './proto.js';

const SYSTEM_NAMES = new Set<string>(Object.values(MessageProperty));

export interface DeliveryInfo {
  receiptHandle: string;
  attempt: number;
  invisibleMs: number;
}

export function toV5Message(r: MessageRecord, d: DeliveryInfo): Message {
  const props = parseProperties(r.properties);
  const userProperties: Record<string, string> = {};
  for (const [k, v] of props) if (!SYSTEM_NAMES.has(k)) userProperties[k] = v;
  const body = Buffer.from(r.body);
  const group = props.get(MessageProperty.SHARDING_KEY);
  const delayed = props.has(MessageProperty.DELAY);
  const tag = props.get(MessageProperty.TAGS);
  const keys = props.get(MessageProperty.KEYS);
  const messageId = props.get(MessageProperty.UNIQ_KEY) ?? createMessageId(r.storeHost, r.storePort, r.physicalOffset);
  return {
    topic: { name: r.topic, resourceNamespace: '' },
    userProperties,
    systemProperties: {
      ...(tag !== undefined ? { tag } : {}),
      keys: keys === undefined ? [] : keys.split(' ').filter((k) => k !== ''),
      messageId,
      bodyDigest: { type: 'MD5', checksum: createHash('md5').update(body).digest('hex').toUpperCase() },
      bodyEncoding: 'IDENTITY',
      messageType: group !== undefined ? 'FIFO' : delayed ? 'DELAY' : 'NORMAL',
      bornTimestamp: toTimestamp(r.bornTimestamp),
      bornHost: `${r.bornHost}:${r.bornPort}`,
      storeTimestamp: toTimestamp(r.storeTimestamp),
      storeHost: `${r.storeHost}:${r.storePort}`,
      receiptHandle: d.receiptHandle,
      queueId: r.queueId,
      queueOffset: r.queueOffset,
      invisibleDuration: toDuration(d.invisibleMs),
      deliveryAttempt: d.attempt,
      ...(group !== undefined ? { messageGroup: group } : {}),
    },
    body,
  };
}
