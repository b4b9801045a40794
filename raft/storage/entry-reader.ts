// Reading one entry back out of the data segments, cross-checked against its index record.
// The header fields are compared with the record's independent copy (index, term, position,
// size), and the payload CRC is checked when asked: a mismatch is reported, never thrown past
// the storage as anything but its typed ERR_LOG_CORRUPT.

import { crc32 } from 'node:zlib';
import type { Entry, EntryType } from '../core/types.js';
import { ENTRY_HEADER_BYTES, ENTRY_MAGIC, EntryHeader, MAX_ENTRY_TYPE, readU64 } from './entry-codec.js';
import type { EntryIndex } from './entry-index.js';
import type { MappedFileList } from './mapped-file-list.js';

/**
 * The entry whose index record sits at `rec` in `index.buf`, as a view of the mapping; or the
 * reason it failed verification. Allocates only the Entry and its payload view.
 */
export function readEntryAt(data: MappedFileList, index: EntryIndex, rec: number, entryIndex: number, verifyPayload: boolean): Entry | string {
  const position = index.position(rec);
  const totalBytes = index.totalBytes(rec);
  const term = index.term(rec);
  const S = data.fileBytes;
  const k = Math.floor(position / S);
  const f = data.file(k);
  const off = position - k * S;
  if (f === undefined || off + totalBytes > S || totalBytes < ENTRY_HEADER_BYTES) return 'index record points outside the data';
  const b = f.buffer;
  if (b.readUInt32LE(off) !== ENTRY_MAGIC) return 'bad magic';
  if (
    b.readUInt32LE(off + EntryHeader.totalBytes) !== totalBytes ||
    b.readUInt32LE(off + EntryHeader.payloadBytes) !== totalBytes - ENTRY_HEADER_BYTES ||
    readU64(b, off + EntryHeader.index) !== entryIndex ||
    readU64(b, off + EntryHeader.term) !== term ||
    readU64(b, off + EntryHeader.position) !== position
  ) {
    return 'header disagrees with the index record';
  }
  const type = b.readUInt32LE(off + EntryHeader.type);
  if (type > MAX_ENTRY_TYPE) return `unknown type ${type}`;
  const payload = b.subarray(off + ENTRY_HEADER_BYTES, off + totalBytes);
  if (verifyPayload && crc32(payload) !== b.readUInt32LE(off + EntryHeader.payloadCrc)) return 'payload CRC mismatch';
  return { index: entryIndex, term, type: type as EntryType, payload };
}
