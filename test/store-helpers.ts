// Test helpers for the message store: an in-memory LogStorage whose payloads sit at real byte
// positions (a 48-byte header before each, like the mmap log), optionally in fixed-size segments
// that retention deletes whole (like the mmap log's data files), message generators, and a temp
// directory helper.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import type { Entry, EntryLocation, HardState, LogStart, LogStorage, StartAppSource } from '../raft/index.js';
import { decodeStartData, encodeStartData, EntryType } from '../raft/index.js';
import type { MessageRecord } from '../src/common/message/message-record.js';
import { formatProperties } from '../src/common/message/message-properties.js';

const HEADER_BYTES = 48;

/**
 * An in-memory Raft log. Positions are global byte offsets, as in the real log. With
 * `segmentBytes` it is also a SegmentedCommitLog: an entry never spans two segments (one that does
 * not fit starts the next, as in MmapLogStorage) and deleteHead deletes whole segments; without,
 * deleteHead deletes entry by entry. Its start record is laid out as MmapLogStorage's (position,
 * then the application section deleteHead was given), so another FakeLog can be reset to it.
 */
export class FakeLog implements LogStorage {
  private data: Buffer;
  private readonly entriesByIndex: { index: number; term: number; type: EntryType; position: number; payloadBytes: number }[] = [];
  private start: LogStart;
  private startApp: Uint8Array | undefined;
  private startPosition: number;
  private end: number;
  private hs: HardState = { term: 0, vote: '', commit: 0 };

  readonly segmentBytes: number | undefined;

  constructor(readonly basePosition = 0, capacityBytes = 8 * 1024 * 1024, options: { segmentBytes?: number } = {}) {
    this.segmentBytes = options.segmentBytes;
    if (this.segmentBytes !== undefined && !(Number.isInteger(this.segmentBytes) && this.segmentBytes > HEADER_BYTES && basePosition % this.segmentBytes === 0)) {
      throw new RangeError(`segmentBytes ${this.segmentBytes} must be an integer above ${HEADER_BYTES} dividing basePosition ${basePosition}`);
    }
    this.data = Buffer.alloc(capacityBytes);
    this.startPosition = basePosition;
    this.end = basePosition;
    this.start = { index: 0, term: 0, data: encodeStartData(basePosition) };
  }

  /** Appends a payload as the next entry and returns its index. */
  appendPayload(payload: Uint8Array, type: EntryType = EntryType.Normal, term = 1): number {
    const index = this.lastIndex() + 1;
    this.append([{ index, term, type, payload }]);
    return index;
  }

  hardState(): HardState {
    return this.hs;
  }
  setHardState(state: HardState): void {
    this.hs = { ...state };
  }
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.lastIndex()) this.truncateSuffix(e.index);
      if (e.index !== this.lastIndex() + 1) throw new Error(`gap at ${e.index}`);
      const position = this.placeAt(this.end, HEADER_BYTES + e.payload.length);
      const need = position - this.basePosition + HEADER_BYTES + e.payload.length;
      if (need > this.data.length) {
        const bigger = Buffer.alloc(Math.max(need, this.data.length * 2));
        this.data.copy(bigger);
        this.data = bigger;
      }
      const at = position - this.basePosition;
      this.data.fill(0xee, at, at + HEADER_BYTES); // header bytes: never a message record
      this.data.set(e.payload, at + HEADER_BYTES);
      this.entriesByIndex.push({ index: e.index, term: e.term, type: e.type, position, payloadBytes: e.payload.length });
      this.end = position + HEADER_BYTES + e.payload.length;
    }
  }
  /** Where an entry of `bytes` goes when the log ends at `end`: there, or at the next segment's start. */
  private placeAt(end: number, bytes: number): number {
    const S = this.segmentBytes;
    if (S === undefined) return end;
    if (bytes > S) throw new RangeError(`an entry of ${bytes} bytes does not fit a segment of ${S}`);
    return Math.floor(end / S) === Math.floor((end + bytes - 1) / S) ? end : (Math.floor(end / S) + 1) * S;
  }

  truncateSuffix(fromIndex: number): void {
    const keep = fromIndex - this.firstIndex();
    if (keep < 0 || keep > this.entriesByIndex.length) return;
    const cut = this.entriesByIndex[keep];
    if (!cut) return;
    // As MmapLogStorage: the log now ends right after entry fromIndex - 1, not where entry
    // fromIndex began (it may have moved to the next segment), so a replacement lands where a
    // replica that never saw the cut entries puts it.
    const previous = this.entriesByIndex[keep - 1];
    const newEnd = previous === undefined ? this.startPosition : previous.position + HEADER_BYTES + previous.payloadBytes;
    this.data.fill(0, newEnd - this.basePosition, this.end - this.basePosition);
    this.end = newEnd;
    this.entriesByIndex.length = keep;
  }
  deleteHead(beforeIndex: number, startApp?: StartAppSource): number {
    const S = this.segmentBytes;
    let keep = 0;
    if (S !== undefined) {
      // As MmapLogStorage: keep the segment holding min(beforeIndex, last), delete every one before it.
      const target = Math.min(beforeIndex, this.lastIndex());
      if (target <= this.firstIndex()) return this.firstIndex();
      const keepFrom = Math.floor(this.locate(target)!.position / S) * S;
      while (this.entriesByIndex[keep]!.position < keepFrom) keep++;
    } else {
      while (keep < this.entriesByIndex.length - 1 && this.entriesByIndex[keep]!.index < beforeIndex) keep++;
    }
    if (keep === 0) return this.firstIndex();
    // As MmapLogStorage: the application section is asked for before anything changes.
    const first = this.entriesByIndex[keep]!;
    const app = startApp?.({ index: first.index, position: first.position });
    const last = this.entriesByIndex[keep - 1]!;
    this.entriesByIndex.splice(0, keep);
    this.start = { index: last.index, term: last.term, data: encodeStartData(first.position, app) };
    this.startApp = app;
    this.startPosition = first.position;
    return this.firstIndex();
  }
  startAppData(): Uint8Array | undefined {
    return this.startApp;
  }
  /** The segments from the one holding the first entry to the one holding the last (segmented logs only). */
  segmentFiles(): { basePosition: number; path: string }[] {
    const S = this.segmentBytes;
    if (S === undefined) throw new Error('segmentFiles needs a FakeLog made with segmentBytes');
    const first = Math.floor(this.startPosition / S);
    const lastEntry = this.entriesByIndex[this.entriesByIndex.length - 1];
    const last = lastEntry === undefined ? first : Math.floor(lastEntry.position / S);
    return Array.from({ length: last - first + 1 }, (_, k) => ({ basePosition: (first + k) * S, path: `fake-segment-${first + k}` }));
  }

  /** As MmapLogStorage: everything goes, the log continues at the position the start carries. */
  reset(start: LogStart): void {
    const decoded = decodeStartData(start);
    if (decoded === undefined || decoded.position < this.basePosition) throw new RangeError('a FakeLog resets only to a start at or after its base position');
    this.data.fill(0);
    this.entriesByIndex.length = 0;
    this.start = start;
    this.startApp = decoded.app;
    this.startPosition = this.end = decoded.position;
  }
  sync(): void {}
  durableIndex(): number {
    return this.lastIndex();
  }
  locate(index: number): EntryLocation | undefined {
    const e = this.entriesByIndex[index - this.firstIndex()];
    if (!e || e.index !== index) return undefined;
    return { position: e.position, payloadPosition: e.position + HEADER_BYTES, payloadBytes: e.payloadBytes, term: e.term };
  }
  slice(position: number, length: number): Buffer {
    if (position < this.startPosition || position + length > this.end) throw new RangeError(`slice ${position}+${length} outside the log`);
    return this.data.subarray(position - this.basePosition, position - this.basePosition + length);
  }
  endPosition(): number {
    return this.end;
  }
  maxEntryBytes(): number {
    return (this.segmentBytes ?? this.data.length) - HEADER_BYTES;
  }
  close(): void {}
  firstIndex(): number {
    return this.start.index + 1;
  }
  lastIndex(): number {
    return this.start.index + this.entriesByIndex.length;
  }
  term(index: number): number | undefined {
    if (index === this.start.index) return this.start.term;
    return this.entriesByIndex[index - this.firstIndex()]?.term;
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entriesByIndex[i - this.firstIndex()];
      if (!e) break;
      if (out.length > 0 && bytes + e.payloadBytes > maxBytes) break;
      bytes += e.payloadBytes;
      const at = e.position - this.basePosition + HEADER_BYTES;
      out.push({ index: e.index, term: e.term, type: e.type, payload: this.data.subarray(at, at + e.payloadBytes) });
    }
    return out;
  }
  logStart(): LogStart {
    return this.start;
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `rmq-store-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Every file under `dir` (relative path → bytes), for byte-for-byte comparisons. */
export function snapshotFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

let seq = 0;

/** A plain message for tests; `over` replaces any field. */
export function message(over: Partial<MessageRecord> = {}): MessageRecord {
  seq++;
  return {
    topic: 'TopicTest',
    queueId: 0,
    flag: 0,
    queueOffset: 0,
    physicalOffset: 0,
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000 + seq,
    bornHost: '10.0.0.7',
    bornPort: 50_000,
    storeTimestamp: 1_700_000_000_000 + seq,
    storeHost: '127.0.0.1',
    storePort: 10911,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: Buffer.from(`body-${seq}`),
    properties: formatProperties({ TAGS: 'TagA', KEYS: `key-${seq}`, UNIQ_KEY: `U${seq}` }),
    ...over,
  };
}

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const int64 = fc.maxSafeInteger();
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const propertyText = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\x01') && !s.includes('\x02'));

/** Any encodable message (topic ≤ 127 UTF-8 bytes, IPv6 sysFlag bits clear). */
export const arbitraryMessage: fc.Arbitrary<MessageRecord> = fc.record({
  topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((t) => Buffer.byteLength(t) <= 127),
  queueId: int32,
  flag: int32,
  queueOffset: int64,
  physicalOffset: int64,
  sysFlag: int32.map((f) => f & ~0x30),
  bornTimestamp: int64,
  bornHost: ipv4,
  bornPort: int32,
  storeTimestamp: int64,
  storeHost: ipv4,
  storePort: int32,
  reconsumeTimes: int32,
  preparedTransactionOffset: int64,
  body: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  properties: fc.dictionary(propertyText.filter((k) => k.length > 0), propertyText, { maxKeys: 5 }).map((d) => formatProperties(d)),
});
