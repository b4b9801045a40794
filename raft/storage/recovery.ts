// Recovery of the log on open. The data segments are the truth and the index file is derived:
// scan the tail of the data (the last `scanSegments` segments, further back when the index does
// not reach the scan's first entry or the entry before it fails its checks), verify every entry (magic, header CRC, size, position,
// payload CRC, index continuity, non-decreasing term), rewrite index records that are missing or
// disagree, and cut the log after the last good entry. Bytes after it are zeroed, so that a later
// append cannot line up with stale but well-formed entries and make a scan resurrect them.

import { INDEX_RECORD_BYTES, probe } from './entry-codec.js';
import type { EntryIndex } from './entry-index.js';
import type { MappedFileList } from './mapped-file-list.js';

export interface RecoveryReport {
  /** Entries verified by the scan. */
  scannedEntries: number;
  /** Global position where the scan started. */
  scanFromPosition: number;
  /** Index records written because they were missing or disagreed with the data. */
  rebuiltIndexRecords: number;
  /** Bytes after the last good entry that held something and were zeroed. */
  zeroedBytes: number;
  /** Data or index files deleted because they lay wholly before the start or after the end. */
  deletedFiles: number;
  /** Why the scan stopped where it did, when it stopped at something other than empty space. */
  stopReason?: string;
}

export interface RecoveredTail {
  /** The first entry the scan verified (payload CRC included); lastIndex + 1 when it found none. */
  firstScannedIndex: number;
  lastIndex: number;
  lastTerm: number;
  endPosition: number;
  report: RecoveryReport;
}

export interface RecoveryInput {
  data: MappedFileList;
  index: EntryIndex;
  startIndex: number;
  startTerm: number;
  startPosition: number;
  scanSegments: number;
  /** Stop zeroing garbage after this many consecutive zero bytes (see zeroGarbageRun). */
  zeroRunBytes: number;
}

const CHUNK_BYTES = 64 * 1024;
const ZERO_CHUNK = Buffer.alloc(CHUNK_BYTES);

/**
 * Zeroes non-zero chunks of the file holding address `from`, starting there, until `zeroRunBytes`
 * consecutive zero bytes were seen or the file ends. Reading the whole free tail of a 1 GiB
 * segment would fault in every page, and garbage is only where writes reached before the crash,
 * which is contiguous except for pages a power loss dropped; the run length bounds that gap.
 */
export function zeroGarbageRun(list: MappedFileList, from: number, zeroRunBytes: number): number {
  const size = list.fileBytes;
  const k = Math.floor(from / size);
  const f = list.file(k);
  if (f === undefined) return 0;
  let off = from - k * size;
  let zeroed = 0;
  let run = 0;
  for (let guard = 0; off < size && run < zeroRunBytes && guard <= size / CHUNK_BYTES + 1; guard++) {
    const chunkEnd = Math.min(size, (Math.floor(off / CHUNK_BYTES) + 1) * CHUNK_BYTES);
    const region = f.buffer.subarray(off, chunkEnd);
    if (region.equals(ZERO_CHUNK.subarray(0, region.length))) {
      run += region.length;
    } else {
      region.fill(0);
      list.markDirty(k * size + off, k * size + chunkEnd);
      zeroed += region.length;
      run = 0;
    }
    off = chunkEnd;
  }
  return zeroed;
}

export function recoverTail(input: RecoveryInput): RecoveredTail {
  const { data, index, startIndex, startTerm, startPosition } = input;
  const S = data.fileBytes;
  const report: RecoveryReport = { scannedEntries: 0, scanFromPosition: startPosition, rebuiltIndexRecords: 0, zeroedBytes: 0, deletedFiles: 0 };
  const startFile = Math.floor(startPosition / S);

  // Files wholly before the start: a deleteHead or reset that a crash cut short after the meta
  // file was replaced.
  report.deletedFiles += data.deleteBelow(startFile);
  report.deletedFiles += index.files.deleteBelow(index.fileOf(startIndex + 1));

  // Where to begin: the first entry of a tail segment, if the index reaches the entry before it.
  let from = startPosition;
  let expected = startIndex + 1;
  let previousTerm = startTerm;
  if (data.count > 0) {
    for (let k = Math.max(startFile + 1, data.last - input.scanSegments + 1); k > startFile; k--) {
      const f = data.file(k);
      if (f === undefined) continue;
      const p = probe(f.buffer, 0, k * S, true);
      if (p.kind !== 'entry' || p.index <= startIndex + 1) continue;
      const off = index.find(p.index - 1);
      if (off < 0) continue;
      const prevPos = index.position(off);
      const prevTerm = index.term(off);
      const prevBytes = index.totalBytes(off);
      if (prevPos < (k - 1) * S || prevPos + prevBytes > k * S || prevTerm > p.term) continue;
      // The record must agree with the entry it points at: an index file cut inside a record
      // keeps its magic, position and index but loses the term, and the scan would not reach
      // back to repair it. The entry is verified whole, payload CRC included: a power loss can
      // keep this segment's first pages and tear the previous one's last, and the scan, starting
      // here, would keep the torn entry and everything after it. A failure sends the search one
      // segment back, whose scan then stops at the torn entry.
      const prevFile = data.file(k - 1);
      const q = prevFile === undefined ? undefined : probe(prevFile.buffer, prevPos - (k - 1) * S, prevPos, true);
      if (q?.kind !== 'entry' || q.index !== p.index - 1 || q.term !== prevTerm || q.totalBytes !== prevBytes) continue;
      from = k * S;
      expected = p.index;
      previousTerm = prevTerm;
      break;
    }
  }
  report.scanFromPosition = from;
  const firstScannedIndex = expected;

  let lastIndex = expected - 1;
  let lastTerm = previousTerm;
  let end = from;
  let pos = from;
  // Each round moves `pos` past an entry or to the next file, so the files' size bounds it.
  for (;;) {
    const k = Math.floor(pos / S);
    const f = data.file(k);
    if (f === undefined) break;
    const p = probe(f.buffer, pos - k * S, pos, true);
    if (p.kind === 'segment-end') {
      pos = (k + 1) * S;
      continue;
    }
    if (p.kind === 'empty') break;
    if (p.kind === 'invalid') {
      report.stopReason = `${p.reason} at position ${pos}`;
      break;
    }
    if (p.index !== lastIndex + 1 || p.term < lastTerm) {
      report.stopReason = `entry ${p.index} term ${p.term} at position ${pos} does not follow entry ${lastIndex} term ${lastTerm}`;
      break;
    }
    const off = index.find(p.index);
    if (off < 0 || index.position(off) !== pos || index.totalBytes(off) !== p.totalBytes || index.term(off) !== p.term) {
      index.write(p.index, pos, p.totalBytes, p.term);
      index.markDirty(p.index, p.index);
      report.rebuiltIndexRecords++;
    }
    lastIndex = p.index;
    lastTerm = p.term;
    pos += p.totalBytes;
    end = pos;
    report.scannedEntries++;
  }

  // Cut everything after the last good entry, in the data and in the index.
  report.zeroedBytes += zeroGarbageRun(data, end, input.zeroRunBytes);
  report.deletedFiles += data.deleteAbove(Math.floor(end / S));
  report.zeroedBytes += zeroGarbageRun(index.files, (lastIndex + 1) * INDEX_RECORD_BYTES, input.zeroRunBytes);
  report.deletedFiles += index.files.deleteAbove(index.fileOf(lastIndex + 1));
  // What a killed process wrote may still sit dirty in the page cache; `durableIndex` starts at
  // the recovered last index, so make that true now (cheap when the kernel already wrote it back).
  if (data.count > 0) data.markDirty(data.first * S, (data.last + 1) * S);
  if (index.files.count > 0) index.files.markDirty(index.files.first * index.files.fileBytes, (index.files.last + 1) * index.files.fileBytes);
  data.flush();
  index.files.flush();
  return { firstScannedIndex: Math.min(firstScannedIndex, lastIndex + 1), lastIndex, lastTerm, endPosition: end, report };
}
