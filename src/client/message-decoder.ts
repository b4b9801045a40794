// Turns stored message records (docs/storage.md "Message record", placed back to back in a pull or query response)
// into MessageExt. Records of the layout our brokers write (V1 magic, IPv4 hosts) take a fast
// path that reads the fixed fields straight from the bytes and reuses what repeats from record to
// record (topic, "host:port" strings, the offset id's host half); other layouts (V2 magic, IPv6
// hosts) go through the shared codec (src/common/message). Both give the same MessageExt, a plain
// object of one shape. The bytes came over the network, so every codec error becomes a
// MalformedResponseError.
//
// Bodies: decodeMessageRecords copies the body it is given once and hands out each message's
// body as a view of that copy; pulls and lookups use decodeOwnedMessageRecords on the response
// body itself, which the remoting client never writes again (RemotingClient's contract). Either
// way a kept message pins its response — at most pull batch size × message size, plus what
// shared its socket chunk — and nothing is reused under it. decodeMessageRecord (one record)
// copies that record's body alone.
import zlib from 'node:zlib';
import { BadRecordLengthError, MessageCodecError } from '../common/message/message-errors.js';
import { createMessageId } from '../common/message/message-id.js';
import { uint32ToIPv4 } from '../common/message/ipv4.js';
import { MessageProperty, KEY_SEPARATOR } from '../common/message/message-properties.js';
import { checkMessageRecord, decodeMessageRecord as decodeStoredRecord, type MessageRecord } from '../common/message/message-record.js';
import { RECORD_FIXED_BYTES, RecordOffset, SysFlag } from '../common/message/record-layout.js';
import { MalformedResponseError } from './client-errors.js';
import type { MessageExt } from './message.js';
import { int32At, plainRecordSize } from '../common/message/record-view.js';

const TWO_32 = 0x1_0000_0000;
const HEX_CODES = Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));
/** Entries per string cache; a cache that fills is cleared (hosts and ports repeat, so it rarely does). */
const CACHE_ENTRIES_MAX = 1024;

// Big-endian reads through the record view's int32At: the record's bounds are checked once
// (plainRecordSize), and these inline where Buffer's read methods each re-check their argument.
const i32 = int32At;

function u32(b: Buffer, at: number): number {
  return i32(b, at) >>> 0;
}

interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

/** Buffer#toString('utf8', start, end) without its argument checks; start and end are in range. */
function utf8(b: Buffer, start: number, end: number): string {
  return (b as unknown as Utf8Slicer).utf8Slice(start, end);
}

function malformed(start: number, err: unknown): MalformedResponseError {
  const message = err instanceof Error ? err.message : String(err);
  return new MalformedResponseError(`message record at ${start} does not decode: ${message}`, { cause: err });
}

/** A signed 64-bit field as a safe integer; the same refusal as the shared codec beyond ±2^53. */
function int64At(buf: Buffer, at: number, name: string, start: number): number {
  const hi = i32(buf, at);
  if (hi >= 0x200000 || hi < -0x200000) throw malformed(start, new BadRecordLengthError(`record field ${name} is outside the safe integer range`));
  return hi * TWO_32 + u32(buf, at + 4);
}

function hex8(v: number): string {
  const h = HEX_CODES;
  return String.fromCharCode(h[v >>> 28]!, h[(v >>> 24) & 15]!, h[(v >>> 20) & 15]!, h[(v >>> 16) & 15]!, h[(v >>> 12) & 15]!, h[(v >>> 8) & 15]!, h[(v >>> 4) & 15]!, h[v & 15]!);
}

function hex16(hi: number, lo: number): string {
  const h = HEX_CODES;
  return String.fromCharCode(
    h[hi >>> 28]!, h[(hi >>> 24) & 15]!, h[(hi >>> 20) & 15]!, h[(hi >>> 16) & 15]!, h[(hi >>> 12) & 15]!, h[(hi >>> 8) & 15]!, h[(hi >>> 4) & 15]!, h[hi & 15]!,
    h[lo >>> 28]!, h[(lo >>> 24) & 15]!, h[(lo >>> 20) & 15]!, h[(lo >>> 16) & 15]!, h[(lo >>> 12) & 15]!, h[(lo >>> 8) & 15]!, h[(lo >>> 4) & 15]!, h[lo & 15]!,
  );
}

/** Strings derived from an IPv4 host and a port, cached because a response repeats a few of them. */
class HostCache {
  private readonly hostPorts = new Map<number, string>();
  private readonly idPrefixes = new Map<number, string>();
  // The last pair asked for: a response has one store host, so most lookups end here.
  private lastHostPortKey = -1;
  private lastHostPort = '';
  private lastIdPrefixKey = -1;
  private lastIdPrefix = '';

  /** "a.b.c.d:port" (what hostPort of the shared codec's strings gives). */
  hostPort(ip: number, port: number): string {
    // ip (32 bits) and a TCP port (16 bits) make an exact number key; other ports are not cached.
    if (port < 0 || port > 0xffff) return `${uint32ToIPv4(ip)}:${port}`;
    const key = ip * 0x1_0000 + port;
    if (key === this.lastHostPortKey) return this.lastHostPort;
    let s = this.hostPorts.get(key);
    if (s === undefined) {
      if (this.hostPorts.size >= CACHE_ENTRIES_MAX) this.hostPorts.clear();
      s = `${uint32ToIPv4(ip)}:${port}`;
      this.hostPorts.set(key, s);
    }
    this.lastHostPortKey = key;
    this.lastHostPort = s;
    return s;
  }

  /** The first 16 hex characters of an offset id: store host and port (createMessageId's layout). */
  idPrefix(ip: number, port: number): string {
    if (port < 0 || port > 0xffff) return hex8(ip) + hex8(port >>> 0);
    const key = ip * 0x1_0000 + port;
    if (key === this.lastIdPrefixKey) return this.lastIdPrefix;
    let s = this.idPrefixes.get(key);
    if (s === undefined) {
      if (this.idPrefixes.size >= CACHE_ENTRIES_MAX) this.idPrefixes.clear();
      s = hex8(ip) + hex8(port >>> 0);
      this.idPrefixes.set(key, s);
    }
    this.lastIdPrefixKey = key;
    this.lastIdPrefix = s;
    return s;
  }
}

const hosts = new HostCache();

/** The last topic decoded and its bytes: the records of one response almost always share it. */
let lastTopic = '';
let lastTopicBytes: Buffer = Buffer.alloc(0);

function topicAt(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  const known = lastTopicBytes;
  if (len === known.length && len > 0) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (buf[start + i] !== known[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastTopic;
  }
  lastTopic = utf8(buf, start, end);
  lastTopicBytes = Buffer.from(buf.subarray(start, end));
  return lastTopic;
}

/**
 * Property names the broker and clients set on most messages. A name read from the bytes that
 * equals one of them is replaced by the literal, so storing it in the object needs neither a new
 * string nor a string-table lookup.
 */
const COMMON_NAMES: readonly string[] = [
  MessageProperty.UNIQ_KEY,
  MessageProperty.TAGS,
  MessageProperty.KEYS,
  MessageProperty.WAIT_STORE_MSG_OK,
  MessageProperty.DELAY,
  MessageProperty.RETRY_TOPIC,
  MessageProperty.REAL_TOPIC,
  MessageProperty.REAL_QID,
  MessageProperty.ORIGIN_MESSAGE_ID,
  MessageProperty.RECONSUME_TIME,
  MessageProperty.MAX_RECONSUME_TIMES,
  MessageProperty.PRODUCER_GROUP,
  MessageProperty.TRANSACTION_PREPARED,
];

function nameAt(text: string, start: number, end: number): string {
  const len = end - start;
  for (let i = 0; i < COMMON_NAMES.length; i++) {
    const name = COMMON_NAMES[i]!;
    if (name.length === len && text.startsWith(name, start)) return name;
  }
  return text.slice(start, end);
}

/**
 * The properties string into a plain object, exactly as the shared parsePropertiesToObject does:
 * pairs without 0x01 or with an empty name are skipped, a missing final 0x02 is tolerated and a
 * later duplicate wins. Written out here to avoid its per-pair callback.
 */
function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let start = 0;
  // Bounded by the string length: every turn moves `start` forward by at least one.
  while (start < text.length) {
    let end = text.indexOf('\x02', start);
    if (end < 0) end = text.length;
    const sep = text.indexOf('\x01', start);
    if (sep > start && sep < end) out[nameAt(text, start, sep)] = text.slice(sep + 1, end);
    start = end + 1;
  }
  return out;
}

function inflated(body: Uint8Array, physicalOffset: number): Buffer {
  try {
    return zlib.inflateSync(body);
  } catch (err) {
    throw new MalformedResponseError(`message at physical offset ${physicalOffset} is flagged compressed but does not inflate`, { cause: err });
  }
}

function keysOf(keys: string | undefined): string[] {
  return keys === undefined || keys.length === 0 ? [] : keys.split(KEY_SEPARATOR);
}


/**
 * One record at buf[start] of `size` bytes that plainRecordSize (the record view) accepted.
 * `copyBody`: copy the body (the caller lends buf), else a view of buf.
 */
function decodeV1(buf: Buffer, start: number, size: number, brokerName: string, copyBody: boolean): MessageExt {
  const sysFlag = i32(buf, start + RecordOffset.SYS_FLAG);
  const queueOffset = int64At(buf, start + RecordOffset.QUEUE_OFFSET, 'queueOffset', start);
  const physicalOffset = int64At(buf, start + RecordOffset.PHYSICAL_OFFSET, 'physicalOffset', start);
  const bornTimestamp = int64At(buf, start + RecordOffset.BORN_TIMESTAMP, 'bornTimestamp', start);
  const storeTimestamp = int64At(buf, start + RecordOffset.STORE_TIMESTAMP, 'storeTimestamp', start);
  int64At(buf, start + RecordOffset.PREPARED_TRANSACTION_OFFSET, 'preparedTransactionOffset', start);
  if (physicalOffset < 0) throw new MalformedResponseError(`message record at ${start} has a negative physical offset ${physicalOffset}`);
  const bornIp = u32(buf, start + RecordOffset.BORN_HOST);
  const bornPort = i32(buf, start + RecordOffset.BORN_PORT);
  const storeIp = u32(buf, start + RecordOffset.STORE_HOST);
  const storePort = i32(buf, start + RecordOffset.STORE_PORT);
  const bodyAt = start + RecordOffset.BODY;
  const topicLengthAt = bodyAt + i32(buf, start + RecordOffset.BODY_LENGTH);
  const propertiesLengthAt = topicLengthAt + 1 + buf[topicLengthAt]!;
  const end = start + size;
  const rawBody = buf.subarray(bodyAt, topicLengthAt);
  let body: Buffer;
  if ((sysFlag & SysFlag.COMPRESSED) !== 0) body = inflated(rawBody, physicalOffset);
  else body = copyBody ? Buffer.from(rawBody) : rawBody;
  const properties = parseProperties(utf8(buf, propertiesLengthAt + 2, end));
  const hi = Math.floor(physicalOffset / TWO_32);
  const offsetMsgId = hosts.idPrefix(storeIp, storePort) + hex16(hi, physicalOffset - hi * TWO_32);
  return {
    topic: topicAt(buf, topicLengthAt + 1, propertiesLengthAt),
    body,
    tags: properties[MessageProperty.TAGS],
    keys: keysOf(properties[MessageProperty.KEYS]),
    properties,
    msgId: properties[MessageProperty.UNIQ_KEY] ?? offsetMsgId,
    offsetMsgId,
    queueId: i32(buf, start + RecordOffset.QUEUE_ID),
    queueOffset,
    physicalOffset,
    sysFlag,
    flag: i32(buf, start + RecordOffset.FLAG),
    bornTimestamp,
    bornHost: hosts.hostPort(bornIp, bornPort),
    storeTimestamp,
    storeHost: hosts.hostPort(storeIp, storePort),
    reconsumeTimes: i32(buf, start + RecordOffset.RECONSUME_TIMES),
    bodyCrc: i32(buf, start + RecordOffset.BODY_CRC),
    brokerName,
  };
}

function hostPort(host: string, port: number, v6: boolean): string {
  return v6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The layouts other brokers may write (V2 magic, IPv6 hosts), through the shared codec. */
function decodeForeign(buf: Buffer, start: number, brokerName: string, copyBody: boolean): MessageExt {
  let r: MessageRecord;
  try {
    // The CRC is not checked: like RocketMQ clients by default, trust the broker's own check.
    r = decodeStoredRecord(buf, start, { verifyCrc: false, foreignLayouts: true });
  } catch (err) {
    if (err instanceof MessageCodecError) throw malformed(start, err);
    throw err;
  }
  if (r.physicalOffset < 0) throw new MalformedResponseError(`message record at ${start} has a negative physical offset ${r.physicalOffset}`);
  const storeV6 = (r.sysFlag & SysFlag.STORE_HOST_V6) !== 0;
  const rawBody = r.body as Buffer;
  const body = (r.sysFlag & SysFlag.COMPRESSED) !== 0 ? inflated(rawBody, r.physicalOffset) : copyBody ? Buffer.from(rawBody) : rawBody;
  const properties = parseProperties(r.properties);
  // An IPv6 store host does not fit the 16-byte offset id; only the physical offset stays meaningful.
  const offsetMsgId = storeV6 ? createMessageId('0.0.0.0', 0, r.physicalOffset) : createMessageId(r.storeHost, r.storePort, r.physicalOffset);
  return {
    topic: r.topic,
    body,
    tags: properties[MessageProperty.TAGS],
    keys: keysOf(properties[MessageProperty.KEYS]),
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
}

/** Size of the record decodeAt read last (a module variable, so decoding allocates no pair per record). */
let decodedBytes = 0;

function decodeAt(buf: Buffer, start: number, brokerName: string, copyBody: boolean): MessageExt {
  const plain = plainRecordSize(buf, start, buf.length - start);
  if (plain > 0) {
    decodedBytes = plain;
    return decodeV1(buf, start, plain, brokerName, copyBody);
  }
  try {
    // Throws the codec's own words for a record that is not well formed.
    decodedBytes = checkMessageRecord(buf, start, buf.length - start, false, true);
  } catch (err) {
    if (err instanceof MessageCodecError) throw malformed(start, err);
    throw err;
  }
  return decodeForeign(buf, start, brokerName, copyBody);
}

/** Decodes one record at buf[start] (its body copied); returns it and the next position. Throws MalformedResponseError. */
export function decodeMessageRecord(buf: Buffer, start: number, brokerName = ''): { msg: MessageExt; next: number } {
  const msg = decodeAt(buf, start, brokerName, true);
  return { msg, next: start + decodedBytes };
}

/**
 * Decodes every record of a response body; at most maxRecords (a bound against a lying peer).
 * The bodies are views of one private copy of `body` (see the file header).
 */
export function decodeMessageRecords(body: Buffer | undefined, brokerName = '', maxRecords = 100_000): MessageExt[] {
  if (body === undefined || body.length === 0) return [];
  const own = Buffer.allocUnsafeSlow(body.length);
  own.set(body);
  return decodeOwnedMessageRecords(own, brokerName, maxRecords);
}

/**
 * decodeMessageRecords for a body that no one writes again — the body of a response as the
 * remoting client hands it over (RemotingClient: a fresh socket chunk or reassembly of chunks):
 * the messages' bodies are views of it, with no copy.
 */
export function decodeOwnedMessageRecords(body: Buffer | undefined, brokerName = '', maxRecords = 100_000): MessageExt[] {
  const out: MessageExt[] = [];
  if (body === undefined || body.length === 0) return out;
  const own = body;
  let pos = 0;
  // Bounded by maxRecords, and every record is at least RECORD_FIXED_BYTES long.
  while (pos < own.length && out.length < maxRecords) {
    out.push(decodeAt(own, pos, brokerName, false));
    pos += decodedBytes;
  }
  return out;
}
