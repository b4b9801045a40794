// The RemotingCommand: one request or response of RocketMQ's remoting protocol, as the codec
// hands it over (header fields, string extFields, and a body that is a view, not a copy).
import { assert } from '../common/assert.js';

/** High byte of the header word. */
export const SerializeType = { JSON: 0, ROCKETMQ: 1 } as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];

/** flag bit 0: this frame is a response. */
export const FLAG_RESPONSE = 1;
/** flag bit 1: the receiver must not reply. */
export const FLAG_ONEWAY = 2;

/** ali-ons and Java 4.x send version 121 (MQVersion V3_4_9); we answer with the same. */
export const DEFAULT_VERSION = 121;
export const DEFAULT_LANGUAGE = 'JAVA';

export type ExtFields = Record<string, string>;

export interface RemotingCommand {
  code: number;
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark?: string | undefined;
  extFields: ExtFields;
  body?: Buffer | undefined;
  /** How the header arrived (decoder) or is to be sent (encoder); JSON when absent. */
  serializeType?: SerializeType | undefined;
}

export function isResponse(cmd: RemotingCommand): boolean {
  return (cmd.flag & FLAG_RESPONSE) !== 0;
}

export function isOneway(cmd: RemotingCommand): boolean {
  return (cmd.flag & FLAG_ONEWAY) !== 0;
}

export interface RequestOptions {
  oneway?: boolean;
  body?: Buffer | undefined;
  remark?: string;
  serializeType?: SerializeType;
}

/** A request; its opaque is set by the client that sends it. */
export function makeRequest(code: number, extFields: ExtFields = {}, options: RequestOptions = {}): RemotingCommand {
  assert(Number.isInteger(code), `request code must be an integer, got ${code}`);
  return {
    code,
    language: DEFAULT_LANGUAGE,
    version: DEFAULT_VERSION,
    opaque: 0,
    flag: options.oneway === true ? FLAG_ONEWAY : 0,
    remark: options.remark,
    extFields,
    body: options.body,
    serializeType: options.serializeType,
  };
}

/**
 * The response to `req`: same opaque, RESPONSE flag, and the request's serialize type (so a
 * binary-header client gets binary back while ali-ons, which only reads JSON, gets JSON).
 */
export function makeResponse(
  req: RemotingCommand,
  code: number,
  remark?: string,
  extFields: ExtFields = {},
  body?: Buffer,
): RemotingCommand {
  assert(!isResponse(req), 'makeResponse needs a request, got a response');
  return {
    code,
    language: DEFAULT_LANGUAGE,
    version: req.version,
    opaque: req.opaque,
    flag: FLAG_RESPONSE,
    remark,
    extFields,
    body,
    serializeType: req.serializeType,
  };
}
