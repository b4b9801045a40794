// Message ids on the client side. The offset id (what the broker returns and VIEW_MESSAGE_BY_ID
// reads) is the shared codec's (src/common/message/message-id.ts); this file gives it the SDK's
// names and an "ip:port" view. The unique id (UNIQ_KEY) is made here, like Java's
// MessageClientIDSetter: a fixed per-process prefix (IP, pid, random) plus time and a counter, so
// making one costs a few string operations and no syscall.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { ipv4ToUint32 } from '../common/message/ipv4.js';
import { BadMessageIdError } from '../common/message/message-errors.js';
import { createMessageId, parseMessageId } from '../common/message/message-id.js';

function hex(v: number, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

/** storeHost (dotted IPv4) + storePort + physicalOffset as 32 uppercase hex characters. */
export const createOffsetMsgId: (storeHost: string, storePort: number, physicalOffset: number) => string = createMessageId;

export interface OffsetMsgIdParts {
  /** "ip:port" of the broker that stored it. */
  addr: string;
  physicalOffset: number;
}

/** undefined when `id` cannot be an offset id (not 32 hex characters, or an offset past 2^53). */
export function parseOffsetMsgId(id: string): OffsetMsgIdParts | undefined {
  try {
    const parts = parseMessageId(id);
    return { addr: `${parts.storeHost}:${parts.storePort}`, physicalOffset: parts.physicalOffset };
  } catch (err) {
    if (err instanceof BadMessageIdError) return undefined;
    throw err;
  }
}

/** The first non-internal IPv4 address of this host, else 127.0.0.1. */
export function localIpv4(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const PREFIX = hex(ipv4ToUint32(localIpv4()), 8) + hex(process.pid & 0xffff, 4) + randomBytes(4).toString('hex').toUpperCase();
/** The prefix as ASCII bytes, for encoders that write an id straight into a frame. */
export const UNIQUE_ID_PREFIX_BYTES: Buffer = Buffer.from(PREFIX, 'latin1');
export const UNIQUE_ID_CHARS = 32;
const HEX_CODES = Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));

let counter = 0;
// The prefix and time part of the last millisecond an id was made in: most ids of a busy
// producer share it, so making one is a 4-character string and a concatenation.
let prefixAndTime = '';
let prefixTimeMs = -1;

/**
 * The counter of the next unique id (shared with createUniqueId, so ids stay unique whichever way
 * they are made). An id is PREFIX (20) + hex8(Date.now() mod 2^32) + hex4(counter); a sender
 * keeps the time and counter and makes the text (uniqueIdText) or bytes (writeUniqueId) when
 * they are needed.
 */
export function nextUniqueIdCounter(): number {
  counter = (counter + 1) & 0xffff;
  return counter;
}

export function uniqueIdText(timeMs32: number, c: number): string {
  if (timeMs32 !== prefixTimeMs) {
    prefixTimeMs = timeMs32;
    prefixAndTime = PREFIX + hex(timeMs32, 8);
  }
  const h = HEX_CODES;
  return prefixAndTime + String.fromCharCode(h[c >>> 12]!, h[(c >>> 8) & 15]!, h[(c >>> 4) & 15]!, h[c & 15]!);
}

/** Writes the 32 ASCII characters of uniqueIdText(timeMs32, c) at out[pos]. */
export function writeUniqueId(out: Buffer, pos: number, timeMs32: number, c: number): void {
  const prefix = UNIQUE_ID_PREFIX_BYTES;
  for (let i = 0; i < prefix.length; i++) out[pos + i] = prefix[i]!;
  const h = HEX_CODES;
  const p = pos + prefix.length;
  for (let i = 0; i < 8; i++) out[p + i] = h[(timeMs32 >>> (28 - 4 * i)) & 15]!;
  for (let i = 0; i < 4; i++) out[p + 8 + i] = h[(c >>> (12 - 4 * i)) & 15]!;
}

/** A 32-hex-character id unique across processes and time (prefix 20, time 8, counter 4). */
export function createUniqueId(): string {
  return uniqueIdText(Date.now() % 0x1_0000_0000, nextUniqueIdCounter());
}
