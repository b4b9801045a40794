// The set of IndexFiles under <root>/index: rolls to a new file when the newest is full, indexes
// `topic#key` for each key of a message, answers key queries across files (newest first) and
// removes entries past a physical offset on recovery. A file is named by the store timestamp of
// its first message (yyyyMMddHHmmssSSS, UTC), not by the wall clock, so every replica names its
// files alike and a rebuild produces the same files.

import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type FileLayer, type MappedFile, realFileLayer } from '../../raft/storage/mapped-file.js';
import { flushDirtyNow } from './file-sync.js';
import { IndexFile, indexFileBytes } from './index-file.js';
import { indexKeyHash, javaStringHash, javaUtf8Hash } from '../common/message/java-hash.js';
import { BadStoreFileError, IndexKeyTooLongError } from './store-errors.js';

export interface IndexOptions {
  /** Hash slots per file (RocketMQ: 5,000,000). */
  slotCount: number;
  /** Entries per file (RocketMQ: 20,000,000). */
  maxEntries: number;
  /** Longest `topic#key` in UTF-8 bytes that is indexed; longer keys are skipped and counted. */
  maxKeyBytes: number;
}

export const DEFAULT_INDEX_OPTIONS: IndexOptions = { slotCount: 5_000_000, maxEntries: 20_000_000, maxKeyBytes: 1024 };

const FILE_NAME = /^\d{17}$/;
/** 9999-12-31T23:59:59.999Z, the last time a 17-digit name can hold. */
const MAX_NAME_MS = 253402300799999;
const HASH_CHAR = 0x23; // '#'

function formatName(ms: number): string {
  const d = new Date(ms);
  const p = (v: number, n: number) => String(v).padStart(n, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1, 2)}${p(d.getUTCDate(), 2)}${p(d.getUTCHours(), 2)}${p(d.getUTCMinutes(), 2)}${p(d.getUTCSeconds(), 2)}${p(d.getUTCMilliseconds(), 3)}`;
}

function parseName(name: string): number {
  const n = (a: number, b: number) => Number(name.slice(a, b));
  return Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14), n(14, 17));
}

/** Java hash of `topic#` for the topic in `buf[start, end)`: the prefix of every index key. */
export function topicPrefixHash(buf: Uint8Array, start: number, end: number): number {
  return (Math.imul(javaUtf8Hash(buf, start, end), 31) + HASH_CHAR) | 0;
}

export class IndexService {
  private readonly files: IndexFile[] = [];
  private readonly dir: string;
  /** Position in `files` of the first file that may hold unflushed entries. */
  private flushFrom = 0;
  /** Directories whose entries changed (a new file or the index directory) since the last flush. */
  private readonly newDirs = new Set<string>();
  /** Keys not indexed because `topic#key` was longer than maxKeyBytes (since open). */
  skippedKeyCount = 0;
  /** hasCandidate's result list, reused: it never holds more than one offset between calls. */
  private readonly candidateScratch: number[] = [];

  private constructor(
    dir: string,
    readonly options: IndexOptions,
    private readonly layer: FileLayer,
  ) {
    this.dir = dir;
  }

  /** `dir` holds the IndexFiles (the store's index folder, or storePathindex). */
  static open(dir: string, options: IndexOptions = DEFAULT_INDEX_OPTIONS, layer: FileLayer = realFileLayer): IndexService {
    const service = new IndexService(dir, options, layer);
    service.load();
    return service;
  }

  private load(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => FILE_NAME.test(n)).sort();
    } catch {
      return;
    }
    const expectedBytes = indexFileBytes(this.options.slotCount, this.options.maxEntries);
    for (const name of names) {
      const path = join(this.dir, name);
      const size = statSync(path).size;
      if (size !== expectedBytes) throw new BadStoreFileError(`IndexFile ${path} is ${size} bytes, expected ${expectedBytes}`);
      const file = IndexFile.open(path, this.options.slotCount, this.options.maxEntries, this.layer);
      // A file created by a crash just before its first entry holds nothing: drop it.
      if (file.entryCount === 0) file.destroy();
      else this.files.push(file);
    }
  }

  private writableFile(storeTimestampMs: number): IndexFile {
    const last = this.files[this.files.length - 1];
    if (last && !last.isFull) return last;
    // A full file takes no more writes; the next flush makes it durable (flushFrom still
    // points at or before it), so rolling costs no blocking sync on the dispatch path.
    const firstCreated = mkdirSync(this.dir, { recursive: true });
    if (firstCreated !== undefined) this.newDirs.add(dirname(firstCreated));
    this.newDirs.add(this.dir);
    // Names must sort in creation order even if a later leader's clock is behind, and stay 17
    // digits (years 0000-9999) whatever time a record carries.
    const sane = Math.min(MAX_NAME_MS, Math.max(0, storeTimestampMs));
    const nameMs = last ? Math.max(sane, parseName(last.path.slice(-17)) + 1) : sane;
    if (nameMs > MAX_NAME_MS) throw new Error(`no IndexFile name left after ${last?.path}`);
    const file = IndexFile.create(join(this.dir, formatName(nameMs)), this.options.slotCount, this.options.maxEntries, this.layer);
    this.files.push(file);
    return file;
  }

  /**
   * Indexes the key whose UTF-8 bytes are `buf[keyStart, keyEnd)` for the topic in
   * `buf[topicStart, topicEnd)`, hashing `topic#key` straight from the bytes.
   */
  putKeyBytes(buf: Uint8Array, topicStart: number, topicEnd: number, keyStart: number, keyEnd: number, physicalOffset: number, storeTimestampMs: number): void {
    this.putKeyAfterPrefix(topicPrefixHash(buf, topicStart, topicEnd), topicEnd - topicStart, buf, keyStart, keyEnd, physicalOffset, storeTimestampMs);
  }

  /**
   * Like putKeyBytes with the hash of `topic#` already computed (`topicPrefixHash`): the
   * dispatcher caches it per topic.
   */
  putKeyAfterPrefix(prefixHash: number, topicBytes: number, buf: Uint8Array, keyStart: number, keyEnd: number, physicalOffset: number, storeTimestampMs: number): void {
    if (keyEnd <= keyStart) return;
    if (topicBytes + 1 + keyEnd - keyStart > this.options.maxKeyBytes) {
      this.skippedKeyCount++;
      return;
    }
    const h = javaUtf8Hash(buf, keyStart, keyEnd, prefixHash);
    this.writableFile(storeTimestampMs).put(indexKeyHash(h), physicalOffset, storeTimestampMs);
  }

  /** Indexes `topic#key` (string form, for callers outside the dispatcher). */
  putKey(topic: string, key: string, physicalOffset: number, storeTimestampMs: number): void {
    const bytes = Buffer.from(`${topic}#${key}`, 'utf8');
    const topicBytes = Buffer.byteLength(topic, 'utf8');
    this.putKeyBytes(bytes, 0, topicBytes, topicBytes + 1, bytes.length, physicalOffset, storeTimestampMs);
  }

  /**
   * Physical offsets of messages that may have `key` in `topic`, stored within [beginMs, endMs],
   * newest first, at most `maxNum`. Candidates only: verify the key on the record.
   */
  query(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): number[] {
    const full = `${topic}#${key}`;
    if (Buffer.byteLength(full, 'utf8') > this.options.maxKeyBytes) {
      throw new IndexKeyTooLongError(`index key ${JSON.stringify(full.slice(0, 64))}… is longer than ${this.options.maxKeyBytes} bytes`);
    }
    const keyHash = indexKeyHash(javaStringHash(full));
    const out: number[] = [];
    for (let i = this.files.length - 1; i >= 0 && out.length < maxNum; i--) {
      const file = this.files[i]!;
      if (file.overlaps(beginMs, endMs)) file.select(keyHash, beginMs, endMs, maxNum, out);
    }
    return out;
  }

  /**
   * Whether query() would return at least one candidate, without building the key string or a
   * result: the de-duplication window asks this for every message it receives, and nearly every
   * answer is no. A key longer than maxKeyBytes was never indexed: no candidate.
   */
  hasCandidate(topic: string, key: string, beginMs: number, endMs: number): boolean {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: short keys need no byte count.
    const units = topic.length + 1 + key.length;
    if (units * 3 > this.options.maxKeyBytes && Buffer.byteLength(topic, 'utf8') + 1 + Buffer.byteLength(key, 'utf8') > this.options.maxKeyBytes) return false;
    // javaStringHash(`${topic}#${key}`), continued piece by piece.
    const keyHash = indexKeyHash(javaStringHash(key, javaStringHash('#', javaStringHash(topic))));
    const out = this.candidateScratch;
    for (let i = this.files.length - 1; i >= 0; i--) {
      const file = this.files[i]!;
      if (!file.overlaps(beginMs, endMs)) continue;
      file.select(keyHash, beginMs, endMs, 1, out);
      if (out.length > 0) {
        out.length = 0;
        return true;
      }
    }
    return false;
  }

  /** Removes entries pointing at or past `physicalOffset`; files left empty are deleted. */
  truncateFrom(physicalOffset: number, storeTimestampAt: (physicalOffset: number) => number): void {
    while (this.files.length > 0) {
      const last = this.files[this.files.length - 1]!;
      if (last.lastPhysicalOffset() < physicalOffset) return;
      last.truncateFrom(physicalOffset, storeTimestampAt);
      if (last.entryCount > 0) return;
      this.files.pop()!.destroy();
      this.flushFrom = Math.min(this.flushFrom, Math.max(0, this.files.length - 1));
    }
  }

  /**
   * Retention: deletes files whose every entry points below `physicalOffset`, never the newest.
   * Returns how many were deleted.
   */
  deleteBelow(physicalOffset: number): number {
    let deleted = 0;
    while (this.files.length > 1 && this.files[0]!.endPhysicalOffset < physicalOffset) {
      this.files.shift()!.destroy();
      this.flushFrom = Math.max(0, this.flushFrom - 1);
      deleted++;
    }
    return deleted;
  }

  /** Physical offset of the newest entry, or -1 without entries. */
  lastPhysicalOffset(): number {
    return this.files[this.files.length - 1]?.lastPhysicalOffset() ?? -1;
  }

  /**
   * Hands the files written since the last call to a flush (pushed to `out`; directories that
   * got new names to `dirs`). The caller must fdatasync them before counting on their entries.
   */
  takeDirtyFiles(out: MappedFile[], dirs: Set<string>): void {
    for (let i = this.flushFrom; i < this.files.length; i++) this.files[i]!.takeIfModified(out);
    // Only the newest file can take more writes.
    this.flushFrom = Math.max(0, this.files.length - 1);
    for (const d of this.newDirs) dirs.add(d);
    this.newDirs.clear();
  }

  /** Counts every file and name as not yet durable, so the next flush syncs them all. */
  markAllDirty(): void {
    for (const f of this.files) f.markModified();
    this.flushFrom = 0;
    if (this.files.length > 0) {
      this.newDirs.add(this.dir);
      this.newDirs.add(dirname(this.dir));
    }
  }

  /** Makes every entry durable now (blocking fdatasync). */
  flush(): void {
    flushDirtyNow(this);
  }

  filePaths(): string[] {
    return this.files.map((f) => f.path);
  }

  close(): void {
    for (const f of this.files) f.close();
  }

  destroy(): void {
    for (const f of this.files) f.destroy();
    this.files.length = 0;
  }
}
