// The broker's control entries: replicated metadata commands that travel through the Raft log
// next to message records. A control payload carries a distinct magic at byte 4 (message records
// carry 0xDAA320A7 there, see isMessageRecordPayload) and a msgpackr body, so the dispatcher can
// tell the two apart without decoding, and a future version can add command kinds.

import { Packr } from 'msgpackr';
import type { TopicConfig } from '../protocol/route-data.js';

export interface SubscriptionGroupConfig {
  groupName: string;
  consumeEnable: boolean;
  retryQueueNums: number;
  retryMaxTimes: number;
}

/** Every new leader proposes one right after election so each replica learns its client address. */
export interface LeaderAnnouncement {
  nodeId: string;
  term: number;
  brokerAddr: string;
}

export interface ConsumerOffsetUpdate {
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

export type ControlCommand =
  | { kind: 'topic-upsert'; config: TopicConfig }
  | { kind: 'topic-delete'; topic: string }
  | { kind: 'group-upsert'; config: SubscriptionGroupConfig }
  | { kind: 'group-delete'; group: string }
  | { kind: 'consumer-offsets'; offsets: ConsumerOffsetUpdate[] }
  | { kind: 'delay-offsets'; offsets: { level: number; offset: number }[] }
  | { kind: 'leader'; announcement: LeaderAnnouncement };

/** Bytes 0..3 ("RMQB") and 4..7 ("CTL1"): never the message magic at byte 4. */
const PREFIX = Buffer.from('RMQBCTL1', 'latin1');
const VERSION = 1;
const HEADER_BYTES = PREFIX.length + 1;
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export class ControlEntryError extends Error {
  readonly code = 'ERR_BAD_CONTROL_ENTRY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ControlEntryError';
  }
}

export function isControlPayload(payload: Uint8Array): boolean {
  if (payload.length < HEADER_BYTES) return false;
  for (let i = 0; i < PREFIX.length; i++) if (payload[i] !== PREFIX[i]) return false;
  return true;
}

export function encodeControlEntry(command: ControlCommand): Buffer {
  const body = packr.pack(command);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  PREFIX.copy(out, 0);
  out[PREFIX.length] = VERSION;
  body.copy(out, HEADER_BYTES);
  return out;
}

const KINDS = new Set(['topic-upsert', 'topic-delete', 'group-upsert', 'group-delete', 'consumer-offsets', 'delay-offsets', 'leader']);

/** Decodes a control payload; throws ControlEntryError for anything this version cannot read. */
export function decodeControlEntry(payload: Uint8Array): ControlCommand {
  if (!isControlPayload(payload)) throw new ControlEntryError('payload does not start with the control-entry magic');
  if (payload[PREFIX.length] !== VERSION) throw new ControlEntryError(`control entry version ${payload[PREFIX.length]} is not supported (this broker reads ${VERSION})`);
  let value: unknown;
  try {
    value = packr.unpack(Buffer.from(payload.buffer, payload.byteOffset + HEADER_BYTES, payload.length - HEADER_BYTES));
  } catch (err) {
    throw new ControlEntryError('control entry body is not msgpack', { cause: err });
  }
  if (typeof value !== 'object' || value === null || !KINDS.has((value as { kind?: unknown }).kind as string)) {
    throw new ControlEntryError(`control entry has an unknown kind ${JSON.stringify((value as { kind?: unknown } | null)?.kind)}`);
  }
  return value as ControlCommand;
}
