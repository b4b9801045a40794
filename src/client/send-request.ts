// Turns a validated message into a SEND_MESSAGE_V2 (310) or SEND_BATCH_MESSAGE (320) request, and
// a send response into a SendResult. Properties are formatted once per message; bodies over the
// compression threshold are deflated (sysFlag 1) as Java and ali-ons do.
import zlib from 'node:zlib';
import { makeRequest, RequestCode, ResponseCode, type ExtFields, type RemotingCommand, type SerializeType } from '../protocol/index.js';
import { DEFAULT_TOPIC, MessageProperty, MessageSysFlag } from './client-constants.js';
import { MalformedResponseError } from './client-errors.js';
import { appendProperty, type Message, type MessageQueue } from './message.js';
import { nextUniqueIdCounter, uniqueIdText } from './message-id.js';

export type SendStatus = 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE';

export interface SendResult {
  status: SendStatus;
  /** The client-generated unique id (UNIQ_KEY); for a batch, the ids joined by ','. */
  msgId: string;
  /** The broker's offset id (store address + physical offset); VIEW_MESSAGE_BY_ID reads it. */
  offsetMsgId: string;
  topic: string;
  brokerName: string;
  queueId: number;
  /** For a batch, the offset of its first message. */
  queueOffset: number;
}

/** Response codes that mean "stored", with the status they map to. */
const STORED_STATUS: ReadonlyMap<number, SendStatus> = new Map<number, SendStatus>([
  [ResponseCode.SUCCESS, 'SEND_OK'],
  [ResponseCode.FLUSH_DISK_TIMEOUT, 'FLUSH_DISK_TIMEOUT'],
  [ResponseCode.FLUSH_SLAVE_TIMEOUT, 'FLUSH_SLAVE_TIMEOUT'],
  [ResponseCode.SLAVE_NOT_AVAILABLE, 'SLAVE_NOT_AVAILABLE'],
]);

/** A validated message ready to send: its body as sent, flags, and properties with a fresh UNIQ_KEY. */
export class PreparedMessage {
  /** The UNIQ_KEY's time (Date.now() mod 2^32) and counter; its text is made when first asked for. */
  readonly uniqTimeMs32: number;
  readonly uniqCounter: number;
  /** Date.now() when it was prepared (a first attempt sent at once takes it as born time). */
  readonly preparedAtMs: number;
  private uniqText: string | undefined;
  private fullProperties: string | undefined;

  constructor(
    readonly topic: string,
    readonly body: Buffer,
    readonly sysFlag: number,
    readonly flag: number,
    /** The properties before UNIQ_KEY (user properties, extra, TAGS, KEYS, DELAY), formatted. */
    readonly leadingProperties: string,
    nowMs: number,
  ) {
    this.preparedAtMs = nowMs;
    this.uniqTimeMs32 = nowMs % 0x1_0000_0000;
    this.uniqCounter = nextUniqueIdCounter();
  }

  get uniqKey(): string {
    this.uniqText ??= uniqueIdText(this.uniqTimeMs32, this.uniqCounter);
    return this.uniqText;
  }

  /** The properties string as sent: the leading ones, then UNIQ_KEY. */
  get properties(): string {
    this.fullProperties ??= appendProperty(this.leadingProperties, MessageProperty.UNIQ_KEY, this.uniqKey);
    return this.fullProperties;
  }
}

/** Builds the properties (TAGS, KEYS, DELAY, user properties, then UNIQ_KEY) and compresses. */
export function prepareMessage(msg: Message, body: Buffer, compressOverBytes: number, extra?: Readonly<Record<string, string>>): PreparedMessage {
  let props = '';
  if (msg.properties !== undefined) for (const name in msg.properties) props = appendProperty(props, name, msg.properties[name]!);
  if (extra !== undefined) for (const name in extra) props = appendProperty(props, name, extra[name]!);
  if (msg.tags !== undefined && msg.tags.length > 0) props = appendProperty(props, MessageProperty.TAGS, msg.tags);
  if (msg.keys !== undefined) {
    const keys = typeof msg.keys === 'string' ? msg.keys : msg.keys.join(' ');
    if (keys.length > 0) props = appendProperty(props, MessageProperty.KEYS, keys);
  }
  if (msg.delayTimeLevel !== undefined && msg.delayTimeLevel > 0) props = appendProperty(props, MessageProperty.DELAY, String(msg.delayTimeLevel));
  let sysFlag = 0;
  let out = body;
  if (body.length > compressOverBytes) {
    out = zlib.deflateSync(body, { level: 5 });
    sysFlag |= MessageSysFlag.COMPRESSED;
  }
  return new PreparedMessage(msg.topic, out, sysFlag, msg.flag ?? 0, props, Date.now());
}

export function buildSendRequest(
  producerGroup: string,
  mq: MessageQueue,
  m: PreparedMessage,
  serializeType: SerializeType | undefined,
  reconsume?: { reconsumeTimes: number; maxReconsumeTimes: number },
): RemotingCommand {
  const ext: ExtFields = {
    a: producerGroup,
    b: mq.topic,
    c: DEFAULT_TOPIC,
    d: '4',
    e: String(mq.queueId),
    f: String(m.sysFlag),
    g: String(Date.now()),
    h: String(m.flag),
    i: m.properties,
    j: String(reconsume?.reconsumeTimes ?? 0),
    k: 'false',
  };
  if (reconsume !== undefined) ext['l'] = String(reconsume.maxReconsumeTimes);
  return makeRequest(RequestCode.SEND_MESSAGE_V2, ext, { body: m.body, ...(serializeType !== undefined ? { serializeType } : {}) });
}

/**
 * A batch request. Apache reads 320's header with the one-letter names of SEND_MESSAGE_V2; the
 * long names are sent too so a broker that reads either form finds them (it costs bytes once
 * per batch, not per message).
 */
export function buildBatchRequest(producerGroup: string, mq: MessageQueue, body: Buffer, serializeType: SerializeType | undefined): RemotingCommand {
  const born = String(Date.now());
  const ext: ExtFields = {
    a: producerGroup,
    b: mq.topic,
    c: DEFAULT_TOPIC,
    d: '4',
    e: String(mq.queueId),
    f: '0',
    g: born,
    h: '0',
    i: '',
    j: '0',
    k: 'false',
    m: 'true',
    producerGroup,
    topic: mq.topic,
    defaultTopic: DEFAULT_TOPIC,
    defaultTopicQueueNums: '4',
    queueId: String(mq.queueId),
    sysFlag: '0',
    bornTimestamp: born,
    flag: '0',
    properties: '',
    reconsumeTimes: '0',
    unitMode: 'false',
    batch: 'true',
  };
  return makeRequest(RequestCode.SEND_BATCH_MESSAGE, ext, { body, ...(serializeType !== undefined ? { serializeType } : {}) });
}

export function storedStatus(code: number): SendStatus | undefined {
  return code === ResponseCode.SUCCESS ? 'SEND_OK' : STORED_STATUS.get(code);
}

export function parseSendResponse(resp: RemotingCommand, status: SendStatus, mq: MessageQueue, msgId: string): SendResult {
  const ext = resp.extFields;
  const queueId = ext['queueId'] === undefined ? mq.queueId : Number(ext['queueId']);
  const queueOffset = Number(ext['queueOffset']);
  if (!Number.isInteger(queueId) || !Number.isSafeInteger(queueOffset)) {
    throw new MalformedResponseError(`send response lacks an integer queueId/queueOffset: ${JSON.stringify(ext).slice(0, 200)}`);
  }
  return {
    status,
    msgId,
    offsetMsgId: ext['msgId'] ?? '',
    topic: mq.topic,
    brokerName: mq.brokerName,
    queueId,
    queueOffset,
  };
}
