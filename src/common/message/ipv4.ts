// IPv4 host handling for records and message ids. Records always carry 4-byte hosts because
// ali-ons ignores the IPv6 sysFlag bits and would misread a 16-byte host.

import { InvalidMessageError } from './message-errors.js';

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Maps a socket address to dotted IPv4: `a.b.c.d` as is, `::ffff:a.b.c.d` unwrapped, `::1` to
 * 127.0.0.1. Any other IPv6 address becomes 0.0.0.0: the born host is informational and a client
 * could not parse a 16-byte host anyway.
 */
export function toIPv4(address: string): string {
  if (DOTTED.test(address)) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && DOTTED.test(lower.slice(7))) return lower.slice(7);
  if (lower === '::1') return '127.0.0.1';
  return '0.0.0.0';
}

/**
 * The last hosts converted: a broker encodes the same store host and a connection's born host
 * into every record, so a tiny memo saves the parse (a regex) on the hot path.
 */
const memoHosts: string[] = ['\u0000', '\u0000'];
const memoValues: number[] = [0, 0];
let memoNext = 0;

/** Dotted IPv4 (or the mapped forms `toIPv4` accepts) to an unsigned 32-bit number. */
export function ipv4ToUint32(host: string): number {
  if (host === memoHosts[0]) return memoValues[0]!;
  if (host === memoHosts[1]) return memoValues[1]!;
  const v = parseIPv4(host);
  memoHosts[memoNext] = host;
  memoValues[memoNext] = v;
  memoNext ^= 1;
  return v;
}

function parseIPv4(host: string): number {
  const lower = host.toLowerCase();
  const dotted = lower === '::1' ? '127.0.0.1' : lower.startsWith('::ffff:') ? lower.slice(7) : host;
  const m = DOTTED.exec(dotted);
  if (!m) throw new InvalidMessageError(`host ${JSON.stringify(host)} is not an IPv4 address`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) throw new InvalidMessageError(`host ${JSON.stringify(host)} is not an IPv4 address`);
    v = v * 256 + part;
  }
  return v;
}

export function uint32ToIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
