// Turns stored message records (PROTOCOL.md §4, placed back to back in a pull or query response)
// into MessageExt. The bytes are read by the shared codec (src/common/message), which also accepts
// the layouts other brokers write (V2 magic, IPv6 hosts); this file adds what a consumer sees:
// parsed properties, an inflated body, the ids, "host:port" strings. The bytes came over the
// network, so every codec error becomes a MalformedResponseError.
import zlib from 'node:zlib';
import { MessageCodecError } from '../common/message/message-errors.js';
import { createMessageId } from '../common/message/message-id.js';
import { parsePropertiesToObject, MessageProperty, KEY_SEPARATOR } from '../common/message/message-properties.js';
import { decodeMessageRecord as decodeStoredRecord, type MessageRecord } from '../common/message/message-record.js';
import { RecordOffset, SysFlag } from '../common/message/record-layout.js';
import { MalformedResponseError } from './client-errors.js';
import type { MessageExt } from './message.js';

function readRecord(buf: Buffer, start: number): MessageRecord {
  try {
    // The CRC is not checked: like RocketMQ clients by default, trust the broker's own check.
    return decodeStoredRecord(buf, start, { verifyCrc: false, foreignLayouts: true });
  } catch (err) {
    if (err instanceof MessageCodecError) throw new MalformedResponseError(`message record at ${start} does not decode: ${err.message}`, { cause: err });
    throw err;
  }
}

function hostPort(host: string, port: number, v6: boolean): string {
  return v6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Decodes one record at buf[start]; returns it and the next position. Throws MalformedResponseError. */
export function decodeMessageRecord(buf: Buffer, start: number, brokerName = ''): { msg: MessageExt; next: number } {
  const r = readRecord(buf, start);
  if (r.physicalOffset < 0) throw new MalformedResponseError(`message record at ${start} has a negative physical offset ${r.physicalOffset}`);
  const storeV6 = (r.sysFlag & SysFlag.STORE_HOST_V6) !== 0;
  // A copy either way, so a kept message does not pin the whole response buffer.
  let body: Buffer;
  if ((r.sysFlag & SysFlag.COMPRESSED) !== 0) {
    try {
      body = zlib.inflateSync(r.body);
    } catch (err) {
      throw new MalformedResponseError(`message at physical offset ${r.physicalOffset} is flagged compressed but does not inflate`, { cause: err });
    }
  } else {
    body = Buffer.from(r.body);
  }
  const properties = parsePropertiesToObject(r.properties);
  // An IPv6 store host does not fit the 16-byte offset id; only the physical offset stays meaningful.
  const offsetMsgId = storeV6 ? createMessageId('0.0.0.0', 0, r.physicalOffset) : createMessageId(r.storeHost, r.storePort, r.physicalOffset);
  const keys = properties[MessageProperty.KEYS];
  const msg: MessageExt = {
    topic: r.topic,
    body,
    tags: properties[MessageProperty.TAGS],
    keys: keys === undefined || keys.length === 0 ? [] : keys.split(KEY_SEPARATOR),
    properties,
    msgId: properties[MessageProperty.UNIQ_KEY] ?? offsetMsgId,
    offsetMsgId,
    queueId: r.queueId,
    queueOffset: r.queueOffset,
    physicalOffset: r.physicalOffset,
    sysFlag: r.sysFlag,
    flag: r.flag,
    bornTimestamp: r.bornTimestamp,
    bornHost: hostPort(r.bornHost, r.bornPort, (r.sysFlag & SysFlag.BORN_HOST_V6) !== 0),
    storeTimestamp: r.storeTimestamp,
    storeHost: hostPort(r.storeHost, r.storePort, storeV6),
    reconsumeTimes: r.reconsumeTimes,
    bodyCrc: buf.readInt32BE(start + RecordOffset.BODY_CRC),
    brokerName,
  };
  return { msg, next: start + buf.readInt32BE(start + RecordOffset.TOTAL_SIZE) };
}

/** Decodes every record of a response body; at most maxRecords (a bound against a lying peer). */
export function decodeMessageRecords(body: Buffer | undefined, brokerName = '', maxRecords = 100_000): MessageExt[] {
  const out: MessageExt[] = [];
  if (body === undefined) return out;
  let pos = 0;
  while (pos < body.length && out.length < maxRecords) {
    const { msg, next } = decodeMessageRecord(body, pos, brokerName);
    out.push(msg);
    pos = next;
  }
  return out;
}
