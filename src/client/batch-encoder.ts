// The body of SEND_BATCH_MESSAGE (320), as RocketMQ's MessageDecoder.encodeMessages writes it:
// per message totalSize 4, magic 4 (0), bodyCRC 4, flag 4, body length 4 + body, properties
// length 2 + properties. One buffer is allocated for the whole batch.
import { crc32 } from '../common/message/crc32.js';

export interface BatchEntry {
  body: Buffer;
  flag: number;
  properties: string;
}

const ENTRY_FIXED_BYTES = 4 + 4 + 4 + 4 + 4 + 2;

export function batchEntryBytes(e: BatchEntry): number {
  return ENTRY_FIXED_BYTES + e.body.length + Buffer.byteLength(e.properties, 'utf8');
}

export function encodeBatch(entries: readonly BatchEntry[]): Buffer {
  let total = 0;
  for (const e of entries) total += batchEntryBytes(e);
  const out = Buffer.allocUnsafe(total);
  let p = 0;
  for (const e of entries) {
    const size = batchEntryBytes(e);
    out.writeInt32BE(size, p);
    out.writeInt32BE(0, p + 4);
    out.writeInt32BE(crc32(e.body) & 0x7fffffff, p + 8);
    out.writeInt32BE(e.flag, p + 12);
    out.writeInt32BE(e.body.length, p + 16);
    e.body.copy(out, p + 20);
    const propsAt = p + 20 + e.body.length;
    const propsBytes = out.write(e.properties, propsAt + 2, 'utf8');
    out.writeInt16BE(propsBytes, propsAt);
    p += size;
  }
  return out;
}

/** The inverse (tests and the fake broker). Stops at the first entry that does not fit. */
export function decodeBatch(buf: Buffer): BatchEntry[] {
  const out: BatchEntry[] = [];
  let p = 0;
  while (buf.length - p >= ENTRY_FIXED_BYTES) {
    const size = buf.readInt32BE(p);
    if (size < ENTRY_FIXED_BYTES || p + size > buf.length) break;
    const flag = buf.readInt32BE(p + 12);
    const bodyLength = buf.readInt32BE(p + 16);
    if (bodyLength < 0 || 20 + bodyLength + 2 > size) break;
    const body = Buffer.from(buf.subarray(p + 20, p + 20 + bodyLength));
    const propsLength = buf.readInt16BE(p + 20 + bodyLength);
    const propsAt = p + 22 + bodyLength;
    out.push({ body, flag, properties: buf.toString('utf8', propsAt, propsAt + Math.max(0, propsLength)) });
    p += size;
  }
  return out;
}
