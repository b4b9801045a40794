// Decodes stored message records (PROTOCOL.md §4: V1 layout, big-endian, placed back to back in a
// pull or query response) into MessageExt. It reads by totalSize, honours the IPv6 host bits,
// inflates compressed bodies, and stops at the first record that does not fit, because the bytes
// came over the network.
import zlib from 'node:zlib';
import { MessageProperty, MessageSysFlag } from './client-constants.js';
import { MalformedResponseError } from './client-errors.js';
import { parseProperties, type MessageExt } from './message.js';
import { createOffsetMsgId, uint32ToIpv4 } from './message-id.js';

const MAGIC_V1 = 0xdaa320a7 | 0;
const MAGIC_V2 = 0xdaa320ab | 0;
const MIN_RECORD_BYTES = 91;

function readLong(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos));
}

function readHost(buf: Buffer, pos: number, v6: boolean): { host: string; next: number } {
  if (!v6) return { host: `${uint32ToIpv4(buf.readUInt32BE(pos))}:${buf.readInt32BE(pos + 4)}`, next: pos + 8 };
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(pos + i).toString(16));
  return { host: `[${parts.join(':')}]:${buf.readInt32BE(pos + 16)}`, next: pos + 20 };
}

/** Decodes one record at buf[start]; returns it and the next position. Throws MalformedResponseError. */
export function decodeMessageRecord(buf: Buffer, start: number, brokerName = ''): { msg: MessageExt; next: number } {
  if (buf.length - start < MIN_RECORD_BYTES) throw new MalformedResponseError(`message record at ${start} is truncated`);
  const totalSize = buf.readInt32BE(start);
  const magic = buf.readInt32BE(start + 4);
  if (totalSize < MIN_RECORD_BYTES || start + totalSize > buf.length) throw new MalformedResponseError(`message record at ${start} has an impossible size ${totalSize}`);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) throw new MalformedResponseError(`message record at ${start} has an unknown magic code ${magic}`);
  const end = start + totalSize;
  const sysFlagAt = buf.readInt32BE(start + 36);
  const hostExtraBytes = ((sysFlagAt & MessageSysFlag.BORN_HOST_V6) !== 0 ? 12 : 0) + ((sysFlagAt & MessageSysFlag.STORE_HOST_V6) !== 0 ? 12 : 0);
  if (totalSize < MIN_RECORD_BYTES + hostExtraBytes) throw new MalformedResponseError(`message record at ${start} is shorter than its fixed fields`);
  let p = start + 8;
  const bodyCrc = buf.readInt32BE(p);
  const queueId = buf.readInt32BE(p + 4);
  const flag = buf.readInt32BE(p + 8);
  const queueOffset = readLong(buf, p + 12);
  const physicalOffset = readLong(buf, p + 20);
  const sysFlag = buf.readInt32BE(p + 28);
  const bornTimestamp = readLong(buf, p + 32);
  p += 40;
  const born = readHost(buf, p, (sysFlag & MessageSysFlag.BORN_HOST_V6) !== 0);
  p = born.next;
  const storeTimestamp = readLong(buf, p);
  p += 8;
  const storeIpPos = p;
  const store = readHost(buf, p, (sysFlag & MessageSysFlag.STORE_HOST_V6) !== 0);
  p = store.next;
  const reconsumeTimes = buf.readInt32BE(p);
  p += 4 + 8; // preparedTransactionOffset is not exposed
  const bodyLength = buf.readInt32BE(p);
  p += 4;
  if (bodyLength < 0 || p + bodyLength > end) throw new MalformedResponseError(`message record at ${start} has a body length ${bodyLength} past its end`);
  let body: Buffer = Buffer.from(buf.subarray(p, p + bodyLength));
  p += bodyLength;
  if (p + (magic === MAGIC_V2 ? 2 : 1) + 2 > end) throw new MalformedResponseError(`message record at ${start} ends inside its topic or properties length`);
  const topicLength = magic === MAGIC_V2 ? buf.readInt16BE(p) : buf.readInt8(p);
  p += magic === MAGIC_V2 ? 2 : 1;
  if (topicLength < 0 || p + topicLength + 2 > end) throw new MalformedResponseError(`message record at ${start} has a topic length past its end`);
  const topic = buf.toString('utf8', p, p + topicLength);
  p += topicLength;
  const propertiesLength = buf.readInt16BE(p);
  p += 2;
  if (propertiesLength < 0 || p + propertiesLength > end) throw new MalformedResponseError(`message record at ${start} has a properties length past its end`);
  const properties = parseProperties(buf.toString('utf8', p, p + propertiesLength));
  if ((sysFlag & MessageSysFlag.COMPRESSED) !== 0) {
    try {
      body = zlib.inflateSync(body);
    } catch (err) {
      throw new MalformedResponseError(`message at physical offset ${physicalOffset} is flagged compressed but does not inflate`, { cause: err });
    }
  }
  const offsetMsgId =
    (sysFlag & MessageSysFlag.STORE_HOST_V6) === 0
      ? createOffsetMsgId(uint32ToIpv4(buf.readUInt32BE(storeIpPos)), buf.readInt32BE(storeIpPos + 4), physicalOffset)
      : createOffsetMsgId('0.0.0.0', 0, physicalOffset);
  const keys = properties[MessageProperty.KEYS];
  const msg: MessageExt = {
    topic,
    body,
    tags: properties[MessageProperty.TAGS],
    keys: keys === undefined || keys.length === 0 ? [] : keys.split(' '),
    properties,
    msgId: properties[MessageProperty.UNIQ_KEY] ?? offsetMsgId,
    offsetMsgId,
    queueId,
    queueOffset,
    physicalOffset,
    sysFlag,
    flag,
    bornTimestamp,
    bornHost: born.host,
    storeTimestamp,
    storeHost: store.host,
    reconsumeTimes,
    bodyCrc,
    brokerName,
  };
  return { msg, next: end };
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
