// Message ids. The offset id (what the broker returns and VIEW_MESSAGE_BY_ID reads) is storeHost
// IPv4 + storePort + physical offset as 32 hex characters. The unique id (UNIQ_KEY) is made here,
// like Java's MessageClientIDSetter: a fixed per-process prefix (IP, pid, random) plus time and a
// counter, so making one costs a few string operations and no syscall.
import { randomBytes } from 'node:crypto';
import os from 'node:os';

function hex(v: number, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

export function ipv4ToUint32(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) return 0x7f000001;
  let n = 0;
  for (const p of parts) n = n * 256 + (Number(p) & 0xff);
  return n >>> 0;
}

export function uint32ToIpv4(n: number): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

export function createOffsetMsgId(storeHost: string, storePort: number, physicalOffset: number): string {
  const hi = Math.floor(physicalOffset / 0x1_0000_0000);
  const lo = physicalOffset - hi * 0x1_0000_0000;
  return hex(ipv4ToUint32(storeHost), 8) + hex(storePort >>> 0, 8) + hex(hi, 8) + hex(lo, 8);
}

export interface OffsetMsgIdParts {
  /** "ip:port" of the broker that stored it. */
  addr: string;
  physicalOffset: number;
}

/** undefined when `id` cannot be an offset id (not 32 hex characters, or an offset past 2^53). */
export function parseOffsetMsgId(id: string): OffsetMsgIdParts | undefined {
  if (!/^[0-9A-Fa-f]{32}$/.test(id)) return undefined;
  const hi = Number.parseInt(id.slice(16, 24), 16);
  if (hi >= 0x200000) return undefined;
  const ip = uint32ToIpv4(Number.parseInt(id.slice(0, 8), 16));
  const port = Number.parseInt(id.slice(8, 16), 16);
  return { addr: `${ip}:${port}`, physicalOffset: hi * 0x1_0000_0000 + Number.parseInt(id.slice(24, 32), 16) };
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
