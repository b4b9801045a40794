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
let counter = 0;

/** A 32-hex-character id unique across processes and time (prefix 20, time 8, counter 4). */
export function createUniqueId(): string {
  counter = (counter + 1) & 0xffff;
  return PREFIX + hex(Date.now() % 0x1_0000_0000, 8) + hex(counter, 4);
}
