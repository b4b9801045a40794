// The byte layout of one entry in the data segments, of the end-of-segment marker and of one
// record of the index file, with their encoders and checks. Everything is little-endian; 64-bit
// numbers are stored as two 32-bit halves (low first) because they stay below 2^53.
//
// Entry (ENTRY_HEADER_BYTES = 48, payload follows at +48):
//   0 magic u32 | 4 totalBytes u32 (header + payload) | 8 index u64 | 16 term u64
//   24 position u64 (global byte offset of this header) | 32 type u8, 3 zero bytes
//   36 payloadCrc u32 | 40 payloadBytes u32 | 44 headerCrc u32 (CRC32 of bytes 0..44)
// The header CRC matters: a flipped bit in `term` would otherwise pass every other check.
//
// End-of-segment marker (written when an entry does not fit the rest of a segment and at least
// 8 bytes remain): magic u32 | remainingBytes u32 (from the marker to the segment end).
//
// Index record (INDEX_RECORD_BYTES = 32, at slot `index` of the index file):
//   0 magic u32 | 4 totalBytes u32 | 8 position u64 | 16 index u64 | 24 term u64

import { crc32 } from 'node:zlib';
import type { Entry, EntryType } from '../core/types.js';

export const ENTRY_HEADER_BYTES = 48;
export const ENTRY_MAGIC = 0xd1ed4c47;
export const SEGMENT_END_MAGIC = 0xd1ed0e0f;
export const SEGMENT_END_MARKER_BYTES = 8;
export const INDEX_RECORD_BYTES = 32;
export const INDEX_MAGIC = 0xd1ed1dc5;

export const EntryHeader = {
  magic: 0,
  totalBytes: 4,
  index: 8,
  term: 16,
  position: 24,
  type: 32,
  payloadCrc: 36,
  payloadBytes: 40,
  headerCrc: 44,
} as const;

const TWO_32 = 4294967296;
/** Largest entry type value accepted (Normal, NoOp, Config). */
export const MAX_ENTRY_TYPE = 2;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value >>> 0, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * TWO_32;
}

/**
 * Encodes entries' headers. One scratch header is reused so that a write costs no allocation:
 * the header is built in the scratch, its CRC computed there, then copied into the mapping.
 */
export class EntryWriter {
  private readonly scratch = Buffer.alloc(ENTRY_HEADER_BYTES);
  private readonly crcRegion = this.scratch.subarray(0, EntryHeader.headerCrc);

  /** Writes `entry` at `offset` of `target` (global byte position `position`); returns its size. */
  write(target: Buffer, offset: number, entry: Entry, position: number): number {
    const s = this.header(entry, position);
    // Payload first, header last: a reader that finds a complete header finds the payload too
    // (within one process; across a power loss the CRCs decide).
    target.set(entry.payload, offset + ENTRY_HEADER_BYTES);
    target.set(s, offset);
    return ENTRY_HEADER_BYTES + entry.payload.length;
  }

  /**
   * The header of `entry` at global byte position `position`, in the shared scratch buffer:
   * valid until the next call. The payload CRC is computed here, once per entry.
   */
  header(entry: Entry, position: number): Buffer {
    const s = this.scratch;
    const payload = entry.payload;
    s.writeUInt32LE(ENTRY_MAGIC, EntryHeader.magic);
    s.writeUInt32LE(ENTRY_HEADER_BYTES + payload.length, EntryHeader.totalBytes);
    writeU64(s, EntryHeader.index, entry.index);
    writeU64(s, EntryHeader.term, entry.term);
    writeU64(s, EntryHeader.position, position);
    s.writeUInt32LE(entry.type, EntryHeader.type);
    s.writeUInt32LE(crc32(payload), EntryHeader.payloadCrc);
    s.writeUInt32LE(payload.length, EntryHeader.payloadBytes);
    s.writeUInt32LE(crc32(this.crcRegion), EntryHeader.headerCrc);
    return s;
  }
}

export function writeSegmentEnd(target: Buffer, offset: number, remainingBytes: number): void {
  target.writeUInt32LE(SEGMENT_END_MAGIC, offset);
  target.writeUInt32LE(remainingBytes, offset + 4);
}

/** What a check of the bytes at one position found. */
export type ProbeResult =
  | { kind: 'entry'; totalBytes: number; index: number; term: number; type: EntryType }
  | { kind: 'segment-end' }
  /** All-zero magic: nothing was ever written here (or it was zeroed). */
  | { kind: 'empty' }
  | { kind: 'invalid'; reason: string };

/**
 * Checks the bytes at `offset` of `buf` (the segment), which must describe an entry at global
 * `position`. `verifyPayload` adds the payload CRC check (a full read of the payload).
 */
export function probe(buf: Buffer, offset: number, position: number, verifyPayload: boolean): ProbeResult {
  const room = buf.length - offset;
  if (room < ENTRY_HEADER_BYTES) return { kind: 'segment-end' };
  const magic = buf.readUInt32LE(offset);
  if (magic === 0) return { kind: 'empty' };
  if (magic === SEGMENT_END_MAGIC) {
    const remaining = buf.readUInt32LE(offset + 4);
    return remaining === room ? { kind: 'segment-end' } : { kind: 'invalid', reason: `segment-end marker says ${remaining} bytes remain, not ${room}` };
  }
  if (magic !== ENTRY_MAGIC) return { kind: 'invalid', reason: `bad magic 0x${magic.toString(16)}` };
  const headerCrc = crc32(buf.subarray(offset, offset + EntryHeader.headerCrc));
  if (headerCrc !== buf.readUInt32LE(offset + EntryHeader.headerCrc)) return { kind: 'invalid', reason: 'header CRC mismatch' };
  const totalBytes = buf.readUInt32LE(offset + EntryHeader.totalBytes);
  const payloadBytes = buf.readUInt32LE(offset + EntryHeader.payloadBytes);
  if (totalBytes !== ENTRY_HEADER_BYTES + payloadBytes || totalBytes > room) {
    return { kind: 'invalid', reason: `size ${totalBytes} does not fit (payload ${payloadBytes}, room ${room})` };
  }
  const at = readU64(buf, offset + EntryHeader.position);
  if (at !== position) return { kind: 'invalid', reason: `header says position ${at}, found at ${position}` };
  const type = buf.readUInt32LE(offset + EntryHeader.type);
  if (type > MAX_ENTRY_TYPE) return { kind: 'invalid', reason: `unknown entry type ${type}` };
  if (verifyPayload) {
    const start = offset + ENTRY_HEADER_BYTES;
    if (crc32(buf.subarray(start, start + payloadBytes)) !== buf.readUInt32LE(offset + EntryHeader.payloadCrc)) {
      return { kind: 'invalid', reason: 'payload CRC mismatch' };
    }
  }
  return {
    kind: 'entry',
    totalBytes,
    index: readU64(buf, offset + EntryHeader.index),
    term: readU64(buf, offset + EntryHeader.term),
    type: type as EntryType,
  };
}

export function writeIndexRecord(buf: Buffer, offset: number, index: number, position: number, totalBytes: number, term: number): void {
  buf.writeUInt32LE(totalBytes, offset + 4);
  writeU64(buf, offset + 8, position);
  writeU64(buf, offset + 16, index);
  writeU64(buf, offset + 24, term);
  // Magic last, so a record is either whole or reads as absent within one process.
  buf.writeUInt32LE(INDEX_MAGIC, offset);
}
