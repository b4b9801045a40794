// The one allocation-free view of a stored message record: reads single fields of the record
// that starts at byte `at` of a buffer, without decoding it. Every place that looks into records
// on a hot path uses it: the store's dispatcher (topic, queue, tags, keys), its read path (is a
// record still where the ConsumeQueue says), the broker's send results, and the client's decoder
// (its fast path over the layout we write). The full codec (decode, encode, the checks with their
// error words, the foreign IPv6 and V2 layouts) is message-record.ts, built on the same offsets.
import { HOST_V6_BITS, MESSAGE_MAGIC_V1, RECORD_FIXED_BYTES, RecordOffset, SysFlag } from './record-layout.js';

/** A big-endian int32 (no Buffer method call: cheaper, and works on any Uint8Array). */
export function int32At(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) | 0;
}

/** A big-endian int64 as a number; a value beyond ±2^53 reads as NaN (the readInt64BE rule). */
export function int64At(b: Uint8Array, at: number): number {
  const high = int32At(b, at);
  if (high >= 0x200000 || high < -0x200000) return Number.NaN;
  return high * 0x1_0000_0000 + (int32At(b, at + 4) >>> 0);
}

export const recordSize = (b: Uint8Array, at: number): number => int32At(b, at + RecordOffset.TOTAL_SIZE);
export const recordMagic = (b: Uint8Array, at: number): number => int32At(b, at + RecordOffset.MAGIC);
export const recordQueueId = (b: Uint8Array, at: number): number => int32At(b, at + RecordOffset.QUEUE_ID);
export const recordSysFlag = (b: Uint8Array, at: number): number => int32At(b, at + RecordOffset.SYS_FLAG);
export const recordBodyLength = (b: Uint8Array, at: number): number => int32At(b, at + RecordOffset.BODY_LENGTH);
export const recordStoreTimestampMs = (b: Uint8Array, at: number): number => int64At(b, at + RecordOffset.STORE_TIMESTAMP);

/** Where the one-byte topic length sits (the topic's bytes follow it). */
export const recordTopicLengthAt = (b: Uint8Array, at: number): number => at + RecordOffset.BODY + recordBodyLength(b, at);

/** Prepared (half) and rolled-back transaction messages get no queue offset. */
export function recordHasNoQueue(b: Uint8Array, at: number): boolean {
  const tx = recordSysFlag(b, at) & SysFlag.TRANSACTION_ROLLBACK;
  return tx === SysFlag.TRANSACTION_PREPARED || tx === SysFlag.TRANSACTION_ROLLBACK;
}

/** Whether a record of `size` bytes with the V1 magic starts at `at` of `b`. */
export function isRecordAt(b: Uint8Array, at: number, size: number): boolean {
  if (at < 0 || at + size > b.length || size < 8) return false;
  return recordSize(b, at) === size && recordMagic(b, at) === MESSAGE_MAGIC_V1;
}

/**
 * The size of the record at `at` when it is in the layout we write (V1 magic, IPv4 hosts) and its
 * lengths are consistent within `available` bytes (the checks of checkMessageRecord without the
 * CRC), else 0: a caller then takes the checked path of message-record.ts.
 */
export function plainRecordSize(b: Uint8Array, at: number, available: number): number {
  if (available < RECORD_FIXED_BYTES) return 0;
  const size = recordSize(b, at);
  if (recordMagic(b, at) !== MESSAGE_MAGIC_V1 || size < RECORD_FIXED_BYTES || size > available) return 0;
  const bodyLength = recordBodyLength(b, at);
  if (bodyLength < 0 || bodyLength > size - RECORD_FIXED_BYTES) return 0;
  if ((recordSysFlag(b, at) & HOST_V6_BITS) !== 0) return 0;
  const topicLengthAt = at + RecordOffset.BODY + bodyLength;
  const topicLength = (b[topicLengthAt]! << 24) >> 24;
  if (topicLength <= 0 || topicLengthAt + 1 + topicLength + 2 > at + size) return 0;
  const propertiesLengthAt = topicLengthAt + 1 + topicLength;
  const propertiesLength = (b[propertiesLengthAt]! << 8) | b[propertiesLengthAt + 1]!;
  // An int16 length: a set top bit is negative, which propertiesLengthAt + 2 + length cannot match.
  if (propertiesLength >= 0x8000 || propertiesLengthAt + 2 + propertiesLength !== at + size) return 0;
  return size;
}
