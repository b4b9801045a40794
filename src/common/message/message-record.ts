// The stored message record codec: RocketMQ's CommitLog record (docs/storage.md "Message record"; the offsets are in
// record-layout.ts), big-endian. The store writes and checks only V1 records with IPv4 hosts; a
// client may also meet what other brokers write (V2 magic, IPv6 hosts), which the checker and the
// decoder accept when asked. A Normal Raft entry's payload and a pull response body are records
// back to back. The encoder and decoder are exact inverses; the dispatcher and the read path use
// the field offsets directly so the hot paths never build objects.

import { crc32 } from './crc32.js';
import { readInt64BE, writeInt64BE } from './int64.js';
import { ipv4ToUint32, uint32ToIPv4 } from './ipv4.js';
import { BadCrcError, BadMagicError, BadRecordLengthError, InvalidMessageError } from './message-errors.js';
import {
  HOST_V6_BITS,
  IPV6_EXTRA_BYTES,
  MAX_PROPERTIES_BYTES,
  MAX_TOPIC_BYTES,
  MESSAGE_MAGIC_V1,
  MESSAGE_MAGIC_V2,
  RECORD_FIXED_BYTES,
  RecordOffset,
  SysFlag,
} from './record-layout.js';
import { recordMagic, recordQueueId, recordSize, recordSysFlag } from './record-view.js';

/** One message as stored. 64-bit fields are safe integers. */
export interface MessageRecord {
  topic: string;
  queueId: number;
  flag: number;
  /** Placeholder (0 or -1) in the log; the real value is patched in on read. */
  queueOffset: number;
  /** Placeholder in the log; the real value is patched in on read. */
  physicalOffset: number;
  sysFlag: number;
  bornTimestamp: number;
  /** Dotted IPv4; the IPv6 host of a foreign record reads as 8 colon-separated hex groups. */
  bornHost: string;
  bornPort: number;
  storeTimestamp: number;
  /** Dotted IPv4, or 8 hex groups as for bornHost. */
  storeHost: string;
  storePort: number;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Uint8Array;
  /** The raw `k\x01v\x02` properties string (see message-properties.ts). */
  properties: string;
}

export interface DecodeRecordOptions {
  /** Check the body CRC; on by default. */
  verifyCrc?: boolean;
  /**
   * Also accept the layouts other RocketMQ brokers may send: the V2 magic (2-byte topic length)
   * and 16-byte IPv6 hosts. Off by default because this project's log never holds them.
   */
  foreignLayouts?: boolean;
}

function checkInt32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw new InvalidMessageError(`${name} ${v} is not a 32-bit integer`);
  }
}

function checkInt64(name: string, v: number): void {
  if (!Number.isSafeInteger(v)) throw new InvalidMessageError(`${name} ${v} is not a safe integer`);
}

/** Bytes the record of `m` takes. Throws InvalidMessageError for a topic or properties too long. */
export function messageRecordSize(m: MessageRecord): number {
  const topicBytes = Buffer.byteLength(m.topic, 'utf8');
  const propertiesBytes = Buffer.byteLength(m.properties, 'utf8');
  if (topicBytes === 0 || topicBytes > MAX_TOPIC_BYTES) {
    throw new InvalidMessageError(`topic must be 1..${MAX_TOPIC_BYTES} bytes, got ${topicBytes}`);
  }
  if (propertiesBytes > MAX_PROPERTIES_BYTES) {
    throw new InvalidMessageError(`properties must be at most ${MAX_PROPERTIES_BYTES} bytes, got ${propertiesBytes}`);
  }
  const total = RECORD_FIXED_BYTES + m.body.length + topicBytes + propertiesBytes;
  if (total > 0x7fffffff) throw new InvalidMessageError(`message of ${total} bytes is too large`);
  return total;
}

/**
 * Writes the record of `m` at `target[offset]` and returns its size. The IPv6 sysFlag bits are
 * cleared because hosts are always written as IPv4.
 */
export function encodeMessageRecordInto(m: MessageRecord, target: Buffer, offset: number): number {
  const size = messageRecordSize(m);
  if (offset < 0 || offset + size > target.length) throw new RangeError(`record of ${size} bytes does not fit at ${offset}`);
  checkInt32('queueId', m.queueId);
  checkInt32('flag', m.flag);
  checkInt32('sysFlag', m.sysFlag);
  checkInt32('bornPort', m.bornPort);
  checkInt32('storePort', m.storePort);
  checkInt32('reconsumeTimes', m.reconsumeTimes);
  checkInt64('queueOffset', m.queueOffset);
  checkInt64('physicalOffset', m.physicalOffset);
  checkInt64('bornTimestamp', m.bornTimestamp);
  checkInt64('storeTimestamp', m.storeTimestamp);
  checkInt64('preparedTransactionOffset', m.preparedTransactionOffset);
  const bornHost = ipv4ToUint32(m.bornHost);
  const storeHost = ipv4ToUint32(m.storeHost);
  const o = offset;
  target.writeInt32BE(size, o + RecordOffset.TOTAL_SIZE);
  target.writeInt32BE(MESSAGE_MAGIC_V1, o + RecordOffset.MAGIC);
  target.writeInt32BE(crc32(m.body) & 0x7fffffff, o + RecordOffset.BODY_CRC);
  target.writeInt32BE(m.queueId, o + RecordOffset.QUEUE_ID);
  target.writeInt32BE(m.flag, o + RecordOffset.FLAG);
  writeInt64BE(target, m.queueOffset, o + RecordOffset.QUEUE_OFFSET);
  writeInt64BE(target, m.physicalOffset, o + RecordOffset.PHYSICAL_OFFSET);
  target.writeInt32BE(m.sysFlag & ~HOST_V6_BITS, o + RecordOffset.SYS_FLAG);
  writeInt64BE(target, m.bornTimestamp, o + RecordOffset.BORN_TIMESTAMP);
  target.writeUInt32BE(bornHost, o + RecordOffset.BORN_HOST);
  target.writeInt32BE(m.bornPort, o + RecordOffset.BORN_PORT);
  writeInt64BE(target, m.storeTimestamp, o + RecordOffset.STORE_TIMESTAMP);
  target.writeUInt32BE(storeHost, o + RecordOffset.STORE_HOST);
  target.writeInt32BE(m.storePort, o + RecordOffset.STORE_PORT);
  target.writeInt32BE(m.reconsumeTimes, o + RecordOffset.RECONSUME_TIMES);
  writeInt64BE(target, m.preparedTransactionOffset, o + RecordOffset.PREPARED_TRANSACTION_OFFSET);
  target.writeInt32BE(m.body.length, o + RecordOffset.BODY_LENGTH);
  target.set(m.body, o + RecordOffset.BODY);
  let p = o + RecordOffset.BODY + m.body.length;
  const topicBytes = target.write(m.topic, p + 1, 'utf8');
  target.writeInt8(topicBytes, p);
  p += 1 + topicBytes;
  const propertiesBytes = target.write(m.properties, p + 2, 'utf8');
  target.writeInt16BE(propertiesBytes, p);
  p += 2 + propertiesBytes;
  if (p - o !== size) throw new Error(`record encoder wrote ${p - o} bytes, expected ${size}`);
  return size;
}

export function encodeMessageRecord(m: MessageRecord): Buffer {
  const buf = Buffer.allocUnsafe(messageRecordSize(m));
  encodeMessageRecordInto(m, buf, 0);
  return buf;
}

/** The payload of a batch: the records of `messages` back to back. */
export function encodeMessageRecords(messages: readonly MessageRecord[]): Buffer {
  let total = 0;
  for (const m of messages) total += messageRecordSize(m);
  const buf = Buffer.allocUnsafe(total);
  let p = 0;
  for (const m of messages) p += encodeMessageRecordInto(m, buf, p);
  return buf;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Bytes the IPv6 hosts of a record add; a typed error when IPv6 is not accepted. */
function hostShiftBytes(sysFlag: number, foreignLayouts: boolean, offset: number): number {
  if ((sysFlag & HOST_V6_BITS) === 0) return 0;
  if (!foreignLayouts) throw new BadRecordLengthError(`record at ${offset} has IPv6 hosts, which this store never writes`);
  return ((sysFlag & SysFlag.BORN_HOST_V6) !== 0 ? IPV6_EXTRA_BYTES : 0) + ((sysFlag & SysFlag.STORE_HOST_V6) !== 0 ? IPV6_EXTRA_BYTES : 0);
}

/**
 * Validates the record at `buf[offset]` within `available` bytes and returns its total size:
 * magic, total size, and that the body, topic and properties lengths add up exactly. With
 * `verifyCrc` the body CRC too; with `foreignLayouts` V2 and IPv6 records pass as well. Throws a
 * typed MessageCodecError otherwise, before reading any byte outside the record.
 */
export function checkMessageRecord(bytes: Uint8Array, offset: number, available: number, verifyCrc: boolean, foreignLayouts = false): number {
  const buf = asBuffer(bytes);
  if (available < RECORD_FIXED_BYTES) {
    throw new BadRecordLengthError(`record at ${offset} is cut: ${available} bytes left, a record needs at least ${RECORD_FIXED_BYTES}`);
  }
  const magic = recordMagic(buf, offset);
  const v2 = foreignLayouts && magic === MESSAGE_MAGIC_V2;
  if (magic !== MESSAGE_MAGIC_V1 && !v2) {
    throw new BadMagicError(`record at ${offset} has magic 0x${(magic >>> 0).toString(16)}, expected 0xdaa320a7`);
  }
  const size = recordSize(buf, offset);
  if (size < RECORD_FIXED_BYTES || size > available) {
    throw new BadRecordLengthError(`record at ${offset} claims ${size} bytes, ${available} available`);
  }
  const hostShift = hostShiftBytes(recordSysFlag(buf, offset), foreignLayouts, offset);
  const topicLengthBytes = v2 ? 2 : 1;
  // The smallest record of this layout: every read below stays inside the record.
  const fixedBytes = RECORD_FIXED_BYTES + hostShift + topicLengthBytes - 1;
  if (size < fixedBytes) throw new BadRecordLengthError(`record at ${offset} of ${size} bytes is shorter than its ${fixedBytes} bytes of fixed fields`);
  const bodyAt = offset + RecordOffset.BODY + hostShift;
  const bodyLength = buf.readInt32BE(bodyAt - 4);
  if (bodyLength < 0 || bodyLength > size - fixedBytes) {
    throw new BadRecordLengthError(`record at ${offset} of ${size} bytes claims a body of ${bodyLength} bytes`);
  }
  const topicAt = bodyAt + bodyLength;
  const topicLength = v2 ? buf.readInt16BE(topicAt) : buf.readInt8(topicAt);
  if (topicLength <= 0 || topicAt + topicLengthBytes + topicLength + 2 > offset + size) {
    throw new BadRecordLengthError(`record at ${offset} has a bad topic length ${topicLength}`);
  }
  const propertiesAt = topicAt + topicLengthBytes + topicLength;
  const propertiesLength = buf.readInt16BE(propertiesAt);
  if (propertiesLength < 0 || propertiesAt + 2 + propertiesLength !== offset + size) {
    throw new BadRecordLengthError(`record at ${offset} has properties of ${propertiesLength} bytes that do not end the record`);
  }
  if (verifyCrc) {
    const stored = buf.readInt32BE(offset + RecordOffset.BODY_CRC);
    const actual = crc32(buf.subarray(bodyAt, topicAt)) & 0x7fffffff;
    if (stored !== actual) throw new BadCrcError(`record at ${offset} has body CRC ${stored}, computed ${actual}`);
  }
  return size;
}

function int64Field(buf: Buffer, at: number, name: string): number {
  const v = readInt64BE(buf, at);
  if (Number.isNaN(v)) throw new BadRecordLengthError(`record field ${name} is outside the safe integer range`);
  return v;
}

function hostAt(buf: Buffer, at: number, v6: boolean): string {
  if (!v6) return uint32ToIPv4(buf.readUInt32BE(at));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i).toString(16));
  return groups.join(':');
}

/** Decodes the record at `bytes[offset]`. The body is a view into `bytes`, not a copy. */
export function decodeMessageRecord(bytes: Uint8Array, offset = 0, options: DecodeRecordOptions = {}): MessageRecord {
  const buf = asBuffer(bytes);
  const size = checkMessageRecord(buf, offset, buf.length - offset, options.verifyCrc ?? true, options.foreignLayouts ?? false);
  const sysFlag = recordSysFlag(buf, offset);
  const bornV6 = (sysFlag & SysFlag.BORN_HOST_V6) !== 0;
  const storeV6 = (sysFlag & SysFlag.STORE_HOST_V6) !== 0;
  // Fields after a 16-byte host sit 12 bytes later than in the IPv4 layout.
  const bornShift = bornV6 ? IPV6_EXTRA_BYTES : 0;
  const hostShift = bornShift + (storeV6 ? IPV6_EXTRA_BYTES : 0);
  const bodyAt = offset + RecordOffset.BODY + hostShift;
  const topicAt = bodyAt + buf.readInt32BE(bodyAt - 4);
  const v2 = recordMagic(buf, offset) === MESSAGE_MAGIC_V2;
  const topicStart = topicAt + (v2 ? 2 : 1);
  const propertiesAt = topicStart + (v2 ? buf.readInt16BE(topicAt) : buf.readInt8(topicAt));
  return {
    topic: buf.toString('utf8', topicStart, propertiesAt),
    queueId: recordQueueId(buf, offset),
    flag: buf.readInt32BE(offset + RecordOffset.FLAG),
    queueOffset: int64Field(buf, offset + RecordOffset.QUEUE_OFFSET, 'queueOffset'),
    physicalOffset: int64Field(buf, offset + RecordOffset.PHYSICAL_OFFSET, 'physicalOffset'),
    sysFlag,
    bornTimestamp: int64Field(buf, offset + RecordOffset.BORN_TIMESTAMP, 'bornTimestamp'),
    bornHost: hostAt(buf, offset + RecordOffset.BORN_HOST, bornV6),
    bornPort: buf.readInt32BE(offset + RecordOffset.BORN_PORT + bornShift),
    storeTimestamp: int64Field(buf, offset + RecordOffset.STORE_TIMESTAMP + bornShift, 'storeTimestamp'),
    storeHost: hostAt(buf, offset + RecordOffset.STORE_HOST + bornShift, storeV6),
    storePort: buf.readInt32BE(offset + RecordOffset.STORE_PORT + hostShift),
    reconsumeTimes: buf.readInt32BE(offset + RecordOffset.RECONSUME_TIMES + hostShift),
    preparedTransactionOffset: int64Field(buf, offset + RecordOffset.PREPARED_TRANSACTION_OFFSET + hostShift, 'preparedTransactionOffset'),
    body: buf.subarray(bodyAt, topicAt),
    properties: buf.toString('utf8', propertiesAt + 2, offset + size),
  };
}

/** Writes the real queue and physical offsets into a record (a copy: never into the mapped log). */
export function patchRecordOffsets(record: Buffer, offset: number, queueOffset: number, physicalOffset: number): void {
  writeInt64BE(record, queueOffset, offset + RecordOffset.QUEUE_OFFSET);
  writeInt64BE(record, physicalOffset, offset + RecordOffset.PHYSICAL_OFFSET);
}

/**
 * True when a Raft entry payload holds message records (the magic at byte 4). Broker control
 * entries use another magic there; NoOp entries have an empty payload.
 */
export function isMessageRecordPayload(payload: Uint8Array): boolean {
  if (payload.length < 8) return false;
  return recordMagic(payload, 0) === MESSAGE_MAGIC_V1;
}

/**
 * The records of a message payload as [offset, size] pairs, each validated (CRC only when asked).
 * Throws a typed MessageCodecError at the first record that does not decode.
 */
export function* messageRecords(payload: Uint8Array, verifyCrc = false): Generator<[offset: number, size: number]> {
  let offset = 0;
  // Bounded: every record is at least RECORD_FIXED_BYTES long.
  while (offset < payload.length) {
    const size = checkMessageRecord(payload, offset, payload.length - offset, verifyCrc);
    yield [offset, size];
    offset += size;
  }
}
