// The offset message id RocketMQ clients compute from a pulled record: storeHost IPv4 (4 bytes),
// storePort (int32) and the physical offset (int64), as 32 uppercase hex characters. The send
// response returns the same value so the producer and the consumer see one id per message.

import { ipv4ToUint32, uint32ToIPv4 } from './ipv4.js';
import { BadMessageIdError } from './message-errors.js';

export interface MessageIdParts {
  storeHost: string;
  storePort: number;
  physicalOffset: number;
}

function hex(v: number, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

export function createMessageId(storeHost: string, storePort: number, physicalOffset: number): string {
  // The port is a Java int in the record: written as its 32-bit pattern, read back signed.
  return messageIdFromPrefix(messageIdPrefix(storeHost, storePort), physicalOffset);
}

/** The host-and-port half of every offset message id of one broker (computed once). */
export function messageIdPrefix(storeHost: string, storePort: number): string {
  if (!Number.isInteger(storePort) || storePort < -0x80000000 || storePort > 0x7fffffff) throw new RangeError(`storePort ${storePort} is not a 32-bit integer`);
  return hex(ipv4ToUint32(storeHost), 8) + hex(storePort >>> 0, 8);
}

/** createMessageId with the host-and-port half from messageIdPrefix. */
export function messageIdFromPrefix(prefix: string, physicalOffset: number): string {
  if (!Number.isSafeInteger(physicalOffset) || physicalOffset < 0) throw new RangeError(`physicalOffset ${physicalOffset} must be a non-negative safe integer`);
  const hi = Math.floor(physicalOffset / 0x1_0000_0000);
  return prefix + hex(hi, 8) + hex(physicalOffset - hi * 0x1_0000_0000, 8);
}

const ID = /^[0-9A-Fa-f]{32}$/;

export function parseMessageId(id: string): MessageIdParts {
  if (!ID.test(id)) throw new BadMessageIdError(`message id ${JSON.stringify(id)} is not 32 hexadecimal characters`);
  const hi = Number.parseInt(id.slice(16, 24), 16);
  if (hi >= 0x200000) throw new BadMessageIdError(`message id ${id} has a physical offset beyond 2^53`);
  return {
    storeHost: uint32ToIPv4(Number.parseInt(id.slice(0, 8), 16)),
    storePort: Number.parseInt(id.slice(8, 16), 16) | 0,
    physicalOffset: hi * 0x1_0000_0000 + Number.parseInt(id.slice(24, 32), 16),
  };
}
