// The SEND_MESSAGE_V2 request frame with the binary header, written straight into the
// connection's write buffer: the same bytes as encodeFrameHead(buildSendRequest(...)) — fields
// a..k in that order — without an extFields object, a String() per field or a header buffer per
// message. The fields that never change for a producer and topic (a producerGroup, b topic,
// c defaultTopic, d defaultTopicQueueNums) are encoded once into a SendHeaderPrefix; per message
// only queue id, flags, born time and properties are written. Only first sends use it: re-sends
// with reconsume fields (retry-sender.ts) and JSON headers keep the general path.
import { RequestCode, SerializeType, DEFAULT_LANGUAGE, DEFAULT_VERSION, type EncodedFrame } from '../protocol/index.js';
import { assert } from '../common/assert.js';
import { DEFAULT_TOPIC, MessageProperty } from './client-constants.js';
import { UNIQUE_ID_CHARS, writeUniqueId } from './message-id.js';
import type { ClientInstance } from './client-instance.js';
import type { Message, MessageQueue } from './message.js';
import type { PreparedMessage } from './send-request.js';
import { SendTask, type SendHost, type SendOptions } from './send-task.js';

/** code 2, language 1, version 2, opaque 4, flag 4, remark length 4, extFields length 4. */
const FIXED_HEADER_BYTES = 21;
/** Frame length 4 and header word 4 before the header. */
const FRAME_PREFIX_BYTES = 8;
/** The JAVA language byte (language-code.ts: JAVA is ordinal 0), what makeRequest sends. */
const LANGUAGE_JAVA_BYTE = 0;
/** A one-letter key's entry without its value: key length 2, key 1, value length 4. */
const ENTRY_OVERHEAD_BYTES = 7;
/** "UNIQ_KEY" 0x01 ... 0x02 around the 32 id characters. */
const UNIQ_PAIR_BYTES = MessageProperty.UNIQ_KEY.length + 2 + UNIQUE_ID_CHARS;
const UNIQ_NAME_BYTES = Buffer.from(`${MessageProperty.UNIQ_KEY}\x01`, 'latin1');
const FALSE_BYTES = Buffer.from('false', 'latin1');
const SHORT_STRING_MAX = 64;

assert(DEFAULT_LANGUAGE === 'JAVA', 'the send frame template writes the JAVA language byte');

/** UTF-8 bytes of s, counting ASCII in JS (header strings are short and nearly always ASCII). */
function utf8Length(s: string): number {
  if (s.length <= SHORT_STRING_MAX) {
    let ascii = true;
    for (let i = 0; i < s.length && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
    if (ascii) return s.length;
  }
  return Buffer.byteLength(s, 'utf8');
}

function writeString(out: Buffer, pos: number, s: string, byteLength: number): void {
  if (byteLength === s.length && byteLength <= SHORT_STRING_MAX) {
    for (let i = 0; i < byteLength; i++) out[pos + i] = s.charCodeAt(i);
  } else {
    out.write(s, pos, byteLength, 'utf8');
  }
}

/** Characters of String(n) for a safe integer n. */
function decimalLength(n: number): number {
  let digits = 1;
  let v = n < 0 ? -n : n;
  while (v >= 10) {
    v = Math.floor(v / 10);
    digits++;
  }
  return n < 0 ? digits + 1 : digits;
}

/** Writes String(n) (length `length`, from decimalLength) at out[pos]. */
function writeDecimal(out: Buffer, pos: number, n: number, length: number): void {
  let v = n < 0 ? -n : n;
  let i = pos + length - 1;
  // Above 2^31 the digits come from doubles; below, from int32 arithmetic. Bounded by `length`.
  for (; v > 0x7fffffff && i >= pos; i--) {
    const q = Math.floor(v / 10);
    out[i] = 48 + (v - q * 10);
    v = q;
  }
  let w = v | 0;
  for (; i >= pos; i--) {
    const q = (w / 10) | 0;
    out[i] = 48 + (w - q * 10);
    w = q;
  }
  if (n < 0) out[pos] = 45;
}

function writeInt32(out: Buffer, pos: number, v: number): void {
  out[pos] = v >>> 24;
  out[pos + 1] = v >>> 16;
  out[pos + 2] = v >>> 8;
  out[pos + 3] = v;
}

/** Writes one-letter `key` and the length of a value of `valueBytes`; returns where the value goes. */
function writeEntryHead(out: Buffer, pos: number, key: number, valueBytes: number): number {
  out[pos] = 0;
  out[pos + 1] = 1;
  out[pos + 2] = key;
  writeInt32(out, pos + 3, valueBytes);
  return pos + ENTRY_OVERHEAD_BYTES;
}

function writeDecimalEntry(out: Buffer, pos: number, key: number, n: number, length: number): number {
  const at = writeEntryHead(out, pos, key, length);
  writeDecimal(out, at, n, length);
  return at + length;
}

/** The encoded entries a..d for one producer group and topic. */
export class SendHeaderPrefix {
  readonly bytes: Buffer;

  constructor(
    readonly producerGroup: string,
    readonly topic: string,
  ) {
    const fields: [string, string][] = [
      ['a', producerGroup],
      ['b', topic],
      ['c', DEFAULT_TOPIC],
      ['d', '4'],
    ];
    const parts: Buffer[] = [];
    for (const [key, value] of fields) {
      const v = Buffer.from(value, 'utf8');
      const head = Buffer.alloc(ENTRY_OVERHEAD_BYTES);
      writeEntryHead(head, 0, key.charCodeAt(0), v.length);
      parts.push(head, v);
    }
    this.bytes = Buffer.concat(parts);
  }
}

/** Header prefixes kept at most; the cache is cleared when it fills (a bound, rarely hit). */
const MAX_PREFIXES = 1024;

/** One producer group's prefixes by topic. */
export class SendHeaderPrefixes {
  private readonly byTopic = new Map<string, SendHeaderPrefix>();

  constructor(private readonly producerGroup: string) {}

  of(topic: string): SendHeaderPrefix {
    let prefix = this.byTopic.get(topic);
    if (prefix === undefined) {
      if (this.byTopic.size >= MAX_PREFIXES) this.byTopic.clear();
      prefix = new SendHeaderPrefix(this.producerGroup, topic);
      this.byTopic.set(topic, prefix);
    }
    return prefix;
  }
}

/**
 * A single send whose attempts go out as this frame: sendAttempt takes the queue and born time of
 * the attempt, computes the sizes of the fields that vary, and hands itself to the remoting
 * client, which calls writeHead at once. (The task is the frame, so an in-flight send is one
 * object less for the garbage collector to copy.)
 */
export class FrameSendTask extends SendTask implements EncodedFrame {
  protected readonly requestCode = RequestCode.SEND_MESSAGE_V2;
  readonly body: Buffer;
  headBytes = 0;
  private prefix: SendHeaderPrefix | undefined;
  private queueId = 0;
  private bornTimestamp = 0;
  private queueIdLength = 0;
  private readonly sysFlagLength: number;
  private bornLength = 0;
  private readonly flagLength: number;
  private readonly leadingBytes: number;
  private framesSent = 0;

  constructor(
    host: SendHost,
    msg: Message,
    options: SendOptions,
    timeoutMs: number,
    retryTimes: number,
    private readonly prefixes: SendHeaderPrefixes,
    private readonly m: PreparedMessage,
  ) {
    super(host, msg, options, timeoutMs, retryTimes);
    this.body = m.body;
    this.leadingBytes = utf8Length(m.leadingProperties);
    this.sysFlagLength = decimalLength(m.sysFlag);
    this.flagLength = decimalLength(m.flag);
  }

  get msgId(): string {
    return this.m.uniqKey;
  }

  protected sendAttempt(instance: ClientInstance, addr: string, mq: MessageQueue, timeoutMs: number): Error | undefined {
    // The first attempt takes the clock reading of prepareMessage as born time (at most a route
    // lookup earlier than buildSendRequest would read it); a retry reads the clock again.
    const bornMs = this.framesSent++ === 0 ? this.m.preparedAtMs : Date.now();
    this.prepare(this.prefixes.of(mq.topic), mq.queueId, bornMs);
    return instance.remoting.requestFrame(addr, RequestCode.SEND_MESSAGE_V2, this, timeoutMs, this);
  }

  /** Sets the fields of the next attempt and its headBytes. */
  prepare(prefix: SendHeaderPrefix, queueId: number, bornTimestamp: number): void {
    this.prefix = prefix;
    this.queueId = queueId;
    this.bornTimestamp = bornTimestamp;
    this.queueIdLength = decimalLength(queueId);
    this.bornLength = decimalLength(bornTimestamp);
    const extBytes =
      prefix.bytes.length +
      7 * ENTRY_OVERHEAD_BYTES +
      this.queueIdLength +
      this.sysFlagLength +
      this.bornLength +
      this.flagLength +
      this.leadingBytes +
      UNIQ_PAIR_BYTES +
      1 + // j reconsumeTimes "0"
      FALSE_BYTES.length; // k unitMode
    this.headBytes = FRAME_PREFIX_BYTES + FIXED_HEADER_BYTES + extBytes;
  }

  writeHead(out: Buffer, pos: number, opaque: number): void {
    const headerBytes = this.headBytes - FRAME_PREFIX_BYTES;
    writeInt32(out, pos, 4 + headerBytes + this.body.length);
    writeInt32(out, pos + 4, ((SerializeType.ROCKETMQ << 24) | headerBytes) >>> 0);
    let p = pos + FRAME_PREFIX_BYTES;
    out[p] = RequestCode.SEND_MESSAGE_V2 >>> 8;
    out[p + 1] = RequestCode.SEND_MESSAGE_V2 & 0xff;
    out[p + 2] = LANGUAGE_JAVA_BYTE;
    out[p + 3] = DEFAULT_VERSION >>> 8;
    out[p + 4] = DEFAULT_VERSION & 0xff;
    writeInt32(out, p + 5, opaque);
    writeInt32(out, p + 9, 0); // flag: a request that expects an answer
    writeInt32(out, p + 13, 0); // remark: none
    writeInt32(out, p + 17, headerBytes - FIXED_HEADER_BYTES);
    p += FIXED_HEADER_BYTES;
    const prefix = this.prefix!.bytes;
    out.set(prefix, p);
    p += prefix.length;
    const m = this.m;
    p = writeDecimalEntry(out, p, 0x65, this.queueId, this.queueIdLength); // e
    p = writeDecimalEntry(out, p, 0x66, m.sysFlag, this.sysFlagLength); // f
    p = writeDecimalEntry(out, p, 0x67, this.bornTimestamp, this.bornLength); // g
    p = writeDecimalEntry(out, p, 0x68, m.flag, this.flagLength); // h
    p = writeEntryHead(out, p, 0x69, this.leadingBytes + UNIQ_PAIR_BYTES); // i
    writeString(out, p, m.leadingProperties, this.leadingBytes);
    p += this.leadingBytes;
    for (let i = 0; i < UNIQ_NAME_BYTES.length; i++) out[p + i] = UNIQ_NAME_BYTES[i]!;
    p += UNIQ_NAME_BYTES.length;
    writeUniqueId(out, p, m.uniqTimeMs32, m.uniqCounter);
    p += UNIQUE_ID_CHARS;
    out[p++] = 0x02;
    p = writeDecimalEntry(out, p, 0x6a, 0, 1); // j reconsumeTimes
    p = writeEntryHead(out, p, 0x6b, FALSE_BYTES.length); // k unitMode
    for (let i = 0; i < FALSE_BYTES.length; i++) out[p + i] = FALSE_BYTES[i]!;
    p += FALSE_BYTES.length;
    assert(p - pos === this.headBytes, 'send frame size computed and written must agree');
  }
}
