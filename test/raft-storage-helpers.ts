// Shared helpers for the Raft log storage tests: temp folders, entry generators, and a model of
// where the log places entries (the position rule every replica must agree on).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../raft/core/types.js';
import { ENTRY_HEADER_BYTES, SEGMENT_END_MARKER_BYTES } from '../raft/storage/entry-codec.js';
import { MmapLogStorage, type MmapLogStorageOptions } from '../raft/storage/mmap-log-storage.js';

export const SEGMENT_BYTES = 64 * 1024;
export const INDEX_ENTRIES = 128;

export class TempDirs {
  private dirs: string[] = [];
  make(): string {
    const d = mkdtempSync(join(tmpdir(), 'raft-storage-test-'));
    this.dirs.push(d);
    return d;
  }
  cleanup(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export function openLog(dir: string, extra: MmapLogStorageOptions = {}): MmapLogStorage {
  return MmapLogStorage.open(dir, { segmentBytes: SEGMENT_BYTES, indexSegmentEntries: INDEX_ENTRIES, recoveryZeroRunBytes: SEGMENT_BYTES, ...extra });
}

/** A deterministic payload whose bytes depend on index, term and a salt. */
export function payloadOf(index: number, term: number, bytes: number, salt = 0): Uint8Array {
  const p = new Uint8Array(bytes);
  let x = (index * 2654435761 + term * 40503 + salt * 97 + 1) >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    p[i] = x >>> 24;
  }
  return p;
}

export function makeEntries(first: number, count: number, term: number, sizeOf: (i: number) => number, salt = 0): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = first + i;
    out.push({ index, term, type: index % 7 === 0 ? 1 : 0, payload: payloadOf(index, term, sizeOf(index), salt) });
  }
  return out;
}

/** Where entries land, by the rule: never span a segment; move to the next one when they do not fit. */
export function expectedPositions(startPosition: number, payloadSizes: readonly number[], segmentBytes = SEGMENT_BYTES): { positions: number[]; end: number } {
  const positions: number[] = [];
  let pos = startPosition;
  for (const bytes of payloadSizes) {
    const size = ENTRY_HEADER_BYTES + bytes;
    const off = pos % segmentBytes;
    if (off + size > segmentBytes) pos += segmentBytes - off;
    positions.push(pos);
    pos += size;
  }
  void SEGMENT_END_MARKER_BYTES;
  return { positions, end: pos };
}

/** Asserts with plain throws (usable inside fast-check properties) that the log holds exactly `model`. */
export function assertHolds(log: MmapLogStorage, model: readonly Entry[], firstIndex: number): void {
  if (log.firstIndex() !== firstIndex) throw new Error(`firstIndex ${log.firstIndex()} != ${firstIndex}`);
  const last = firstIndex + model.length - 1;
  if (log.lastIndex() !== last) throw new Error(`lastIndex ${log.lastIndex()} != ${last}`);
  const got = log.entries(firstIndex, last + 1, Number.MAX_SAFE_INTEGER);
  if (got.length !== model.length) throw new Error(`read ${got.length} entries, expected ${model.length}`);
  for (let i = 0; i < model.length; i++) {
    const a = got[i]!;
    const b = model[i]!;
    if (a.index !== b.index || a.term !== b.term || a.type !== b.type || !Buffer.from(a.payload).equals(Buffer.from(b.payload))) {
      throw new Error(`entry ${b.index} differs: got index ${a.index} term ${a.term} type ${a.type} (${a.payload.length} B), expected term ${b.term} type ${b.type} (${b.payload.length} B)`);
    }
    if (log.term(b.index) !== b.term) throw new Error(`term(${b.index}) = ${log.term(b.index)} != ${b.term}`);
  }
}
