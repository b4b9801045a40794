// The wire format of Raft peer traffic: one length-prefixed frame per Message (or per hello).
// Header fields go through msgpackr; the entry table is fixed-width binary and the entry
// payloads follow as raw bytes, copied once into the frame on send and handed out as views of
// the frame on receive, so a payload is never re-encoded.
//
//   frame   = u32be bodyBytes, body
//   body    = u8 kind, rest
//   hello   = kind 1, msgpack [version, from, to]
//   message = kind 2, u32le headerBytes, msgpack header (an array of the Message fields in
//             declaration order, absent optionals as nil), u32le entryCount,
//             entryCount x (f64le index, f64le term, u8 type, u32le payloadBytes), payloads

import { Packr } from 'msgpackr';
import { EntryType, type Entry, type LogStart } from '../core/types.js';
import { MessageType, type Message } from '../core/messages.js';
import { TransportError } from './errors.js';

export const FRAME_PREFIX_BYTES = 4;
export const FRAME_KIND_HELLO = 1;
export const FRAME_KIND_MESSAGE = 2;
export const PROTOCOL_VERSION = 1;
const ENTRY_META_BYTES = 21;

// Arrays, not records: the header is small and positional, and records would make the decoder
// depend on structures the encoder announced earlier on the same connection.
const packr = new Packr({ useRecords: false, moreTypes: false });

const MESSAGE_TYPES = new Set<number>(Object.values(MessageType));
const ENTRY_TYPES = new Set<number>(Object.values(EntryType));

// Every Message field the header and entry table carry. If the core adds a field to Message,
// this stops compiling until the codec carries it too, instead of silently dropping it.
type CarriedField = 'type' | 'from' | 'to' | 'term' | 'index' | 'logTerm' | 'commit' | 'reject' | 'rejectHint'
  | 'entries' | 'start' | 'context' | 'force' | 'membership';
const everyFieldCarried: [Exclude<keyof Message, CarriedField>] extends [never] ? true : never = true;
void everyFieldCarried;

export interface Hello {
  version: number;
  from: string;
  to: string;
}

export function encodeHello(hello: Hello): Buffer {
  const header = packr.pack([hello.version, hello.from, hello.to]);
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + 1 + header.length);
  frame.writeUInt32BE(1 + header.length, 0);
  frame[FRAME_PREFIX_BYTES] = FRAME_KIND_HELLO;
  header.copy(frame, FRAME_PREFIX_BYTES + 1);
  return frame;
}

/** Encodes one Message as a complete frame (length prefix included). */
export function encodeMessage(m: Message): Buffer {
  const entries = encodeEntries(m.entries);
  return Buffer.concat([encodeMessageHead(m, entries.length), entries]);
}

/**
 * The entry part of a message frame (count, table, payloads): everything after the header. It
 * does not depend on the recipient, so a leader sending the same entries to several followers
 * encodes (and copies the payloads) once and writes this buffer after each follower's head.
 */
export function encodeEntries(entries: readonly Entry[]): Buffer {
  let payloadBytes = 0;
  for (let i = 0; i < entries.length; i++) payloadBytes += entries[i]!.payload.length;
  const part = Buffer.allocUnsafe(4 + entries.length * ENTRY_META_BYTES + payloadBytes);
  let at = 0;
  part.writeUInt32LE(entries.length, at);
  at += 4;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    part.writeDoubleLE(e.index, at);
    part.writeDoubleLE(e.term, at + 8);
    part[at + 16] = e.type;
    part.writeUInt32LE(e.payload.length, at + 17);
    at += ENTRY_META_BYTES;
  }
  for (let i = 0; i < entries.length; i++) {
    const p = entries[i]!.payload;
    part.set(p, at);
    at += p.length;
  }
  if (at !== part.length) throw new Error(`entry encoder wrote ${at} of ${part.length} bytes`);
  return part;
}

/** The start of a message frame: length prefix, kind and header; `entriesBytes` is what follows. */
export function encodeMessageHead(m: Message, entriesBytes: number): Buffer {
  const start = m.start ? [m.start.index, m.start.term, m.start.data] : null;
  const header = packr.pack([
    m.type, m.from, m.to, m.term, m.index, m.logTerm, m.commit, m.reject, m.rejectHint, start, m.context ?? null,
    m.force ?? null, m.membership ? [m.membership.index, m.membership.voters, m.membership.learners, m.membership.addresses ?? null] : null,
  ]);
  const head = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + 1 + 4 + header.length);
  head.writeUInt32BE(head.length - FRAME_PREFIX_BYTES + entriesBytes, 0);
  head[FRAME_PREFIX_BYTES] = FRAME_KIND_MESSAGE;
  head.writeUInt32LE(header.length, FRAME_PREFIX_BYTES + 1);
  header.copy(head, FRAME_PREFIX_BYTES + 5);
  return head;
}

function malformed(detail: string, cause?: unknown): TransportError {
  return new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', `malformed frame: ${detail}`, cause === undefined ? undefined : { cause });
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function unpackHeader(bytes: Buffer): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw malformed('header does not decode', err);
  }
}

function asBytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw malformed(`${what} is not bytes`);
  return v;
}

/** Decodes a hello body (the bytes after the length prefix). Throws TransportError. */
export function decodeHello(body: Buffer): Hello {
  if (body.length < 1 || body[0] !== FRAME_KIND_HELLO) throw malformed('expected a hello frame');
  const h = unpackHeader(body.subarray(1));
  if (!Array.isArray(h) || h.length !== 3 || !isCount(h[0]) || typeof h[1] !== 'string' || typeof h[2] !== 'string') {
    throw malformed('hello is not [version, from, to]');
  }
  return { version: h[0], from: h[1], to: h[2] };
}

/**
 * Decodes a message body (the bytes after the length prefix). Entry payloads are views of
 * `body`, so the caller must not reuse that memory while the message is alive. Throws
 * TransportError('ERR_TRANSPORT_FRAME_MALFORMED') on anything inconsistent.
 */
export function decodeMessage(body: Buffer): Message {
  if (body.length < 9 || body[0] !== FRAME_KIND_MESSAGE) throw malformed('expected a message frame');
  const headerBytes = body.readUInt32LE(1);
  let at = 5;
  if (headerBytes > body.length - at - 4) throw malformed('header length exceeds the frame');
  const h = unpackHeader(body.subarray(at, at + headerBytes));
  at += headerBytes;
  // 12 fields before membership changes existed; the 13th (a Reset's configuration) may be absent.
  if (!Array.isArray(h) || (h.length !== 12 && h.length !== 13)) throw malformed('header is not a 12- or 13-field array');
  const [type, from, to, term, index, logTerm, commit, reject, rejectHint, start, context, force, membership = null] = h as unknown[];
  if (typeof type !== 'number' || !MESSAGE_TYPES.has(type)) throw malformed(`unknown message type ${String(type)}`);
  if (typeof from !== 'string' || typeof to !== 'string') throw malformed('from/to are not strings');
  if (!isCount(term) || !isCount(index) || !isCount(logTerm) || !isCount(commit) || !isCount(rejectHint)) {
    throw malformed('a numeric header field is not a non-negative integer');
  }
  if (typeof reject !== 'boolean') throw malformed('reject is not a boolean');
  const m: Message = {
    type: type as MessageType, from, to, term, index, logTerm, commit, reject, rejectHint, entries: [],
  };
  if (start !== null) {
    if (!Array.isArray(start) || start.length !== 3 || !isCount(start[0]) || !isCount(start[1])) {
      throw malformed('start is not [index, term, data]');
    }
    const s: LogStart = { index: start[0], term: start[1], data: asBytes(start[2], 'start data') };
    m.start = s;
  }
  if (context !== null) m.context = asBytes(context, 'context');
  if (membership !== null) {
    const ok = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!Array.isArray(membership) || membership.length !== 4 || !isCount(membership[0]) || !ok(membership[1]) || !ok(membership[2])) {
      throw malformed('membership is not [index, voters, learners, addresses]');
    }
    const addresses: unknown = membership[3];
    if (addresses !== null && (typeof addresses !== 'object' || Array.isArray(addresses) || !Object.values(addresses as object).every((x) => typeof x === 'string'))) {
      throw malformed('membership addresses are not a map of strings');
    }
    m.membership = { index: membership[0], voters: membership[1], learners: membership[2] };
    if (addresses !== null) m.membership.addresses = addresses as Record<string, string>;
  }
  if (force !== null) {
    if (typeof force !== 'boolean') throw malformed('force is not a boolean');
    m.force = force;
  }
  const entryCount = body.readUInt32LE(at);
  at += 4;
  if (entryCount > (body.length - at) / ENTRY_META_BYTES) throw malformed('entry table exceeds the frame');
  let payloadAt = at + entryCount * ENTRY_META_BYTES;
  const entries: Entry[] = new Array(entryCount);
  for (let i = 0; i < entryCount; i++) {
    const eIndex = body.readDoubleLE(at);
    const eTerm = body.readDoubleLE(at + 8);
    const eType = body[at + 16]!;
    const eBytes = body.readUInt32LE(at + 17);
    at += ENTRY_META_BYTES;
    if (!isCount(eIndex) || !isCount(eTerm)) throw malformed('entry index/term is not a non-negative integer');
    if (!ENTRY_TYPES.has(eType)) throw malformed(`unknown entry type ${eType}`);
    if (eBytes > body.length - payloadAt) throw malformed('entry payload exceeds the frame');
    entries[i] = { index: eIndex, term: eTerm, type: eType as EntryType, payload: body.subarray(payloadAt, payloadAt + eBytes) };
    payloadAt += eBytes;
  }
  if (payloadAt !== body.length) throw malformed(`${body.length - payloadAt} trailing bytes`);
  m.entries = entries;
  return m;
}
