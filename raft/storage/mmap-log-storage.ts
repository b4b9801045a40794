// The production Raft log: entries in segmented memory-mapped data files under `<dir>/data/`
// (named by the global byte position of their first byte, RocketMQ style), a fixed-width index
// file under `<dir>/index/`, and the `hardstate` and `meta` files. An entry never spans two
// segments: when it does not fit the rest of one, an end-of-segment marker is written and it
// starts the next, so global positions are a function of the log alone (for a given segment
// size) and agree on every replica; the store builds message ids from them and reads message
// records straight out of the mapping with `slice`.
//
// Writes: an append is encoded into a batch buffer and written with one pwrite per file touched
// (log-appender.ts); the mappings serve reads. Either way the bytes are in the page cache when
// the call returns, so they survive a process kill at once; `sync()` flushes the dirty ranges
// for power loss, and `syncInBackground()` does the same in the thread pool. Reads skip the
// payload CRC for entries this process wrote or recovery verified. Term and vote are written with
// an fsync before `setHardState` returns; a change of `commit` alone is kept in memory and
// written at the next term/vote change, at `close()`, or by a flush once a second
// (hard-state-keeper.ts). Whenever it is written, the commit is clamped to `durableIndex()` at
// that moment, so a power loss never leaves a durable commit over entries it took back.
//
// Payloads returned by `entries` are views of the mapping, valid as long as the entry stays in
// the log: a truncation or reset followed by new appends rewrites those bytes, so a holder that
// keeps a payload past the current event-loop turn (a send queue) must copy it or encode it now.
// Jobs with files of their own: opening (log-open.ts), batch checks (append-checks.ts), the
// thread-pool sync (background-sync.ts), a reset's wipe (log-reset.ts), head deletion
// (log-head.ts), warm-up (warm-ahead.ts).

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Entry, HardState, LogStart } from '../core/types.js';
import { checkAppend } from './append-checks.js';
import { BackgroundSync } from './background-sync.js';
import { ENTRY_HEADER_BYTES } from './entry-codec.js';
import { EntryIndex } from './entry-index.js';
import type { FileLayer } from './file-layer.js';
import { readEntryAt } from './entry-reader.js';
import { LogAppender } from './log-appender.js';
import { createFilesAhead } from './warm-ahead.js';
import type { EntryLocation, LogStorage, StartAppSource } from './log-storage.js';
import { MappedFileList } from './mapped-file-list.js';
import { loadAndRecover, prepareMeta } from './log-open.js';
import { wipeForReset } from './log-reset.js';
import { cutHead } from './log-head.js';
import type { RecoveryReport } from './recovery.js';
import { RunMarker } from './run-marker.js';
import { HardStateKeeper } from './hard-state-keeper.js';
import { decodeStartData, encodeStartData, MAX_START_APP_BYTES, readHardState, readMembership, writeMembership } from './state-files.js';
import type { Membership } from '../core/membership.js';
import { LogStorageError } from './storage-errors.js';
import { type MmapLogStorageOptions, type ResolvedOptions, resolveOptions } from './storage-options.js';

export type { MmapLogStorageOptions } from './storage-options.js';

export class MmapLogStorage implements LogStorage {
  readonly segmentBytes: number;
  /** What recovery found and repaired when this storage was opened. */
  readonly recovery: RecoveryReport;
  private readonly data: MappedFileList;
  private readonly index: EntryIndex;
  private readonly appender: LogAppender;
  private readonly verifyReads: boolean;
  private readonly log: Logger | undefined;
  private readonly layer: FileLayer;

  private start: LogStart;
  private startPosition: number;
  /** The application's section of the start record (also inside `start.data`). */
  private startApp: Uint8Array | undefined;
  private last: number;
  private lastTerm: number;
  private end: number;
  private durable: number;
  private readonly hard: HardStateKeeper;
  /** The committed configuration as last saved (the `membership` file), if ever. */
  private members: Membership | undefined;
  /**
   * Entries from this index on were written by this process or verified (payload CRC and all)
   * by recovery, so reading them back skips the payload CRC; older ones are checked on read
   * when `verifyReads` is set, because only the tail segments are scanned at open.
   */
  private trustedFrom: number;
  /** Counts truncations and resets: a background sync started before one proves nothing after it. */
  private epoch = 0;
  /** The thread-pool sync; sync() and close() cover the files an in-flight one took. */
  private readonly background: BackgroundSync;
  private closed = false;
  /** Tells a kill from a power loss (run-marker.ts). */
  private readonly marker: RunMarker;

  private constructor(
    readonly dir: string,
    opts: ResolvedOptions,
    logger: Logger | undefined,
    bootId: string | undefined,
  ) {
    this.segmentBytes = opts.segmentBytes;
    this.verifyReads = opts.verifyReads;
    this.log = logger;
    const layer = opts.fileLayer;
    this.layer = layer;
    layer.mkdir(dir);

    const startMeta = prepareMeta(layer, dir, opts, logger);
    const hard = readHardState(layer, dir) ?? { term: 0, vote: '', commit: 0 };
    this.members = readMembership(layer, dir);

    this.data = new MappedFileList(join(dir, 'data'), opts.segmentBytes, 1, false, layer);
    this.index = new EntryIndex(join(dir, 'index'), opts.indexSegmentEntries, layer);
    this.appender = new LogAppender(this.data, this.index);
    const { tail, recovery } = loadAndRecover(this.data, this.index, startMeta, opts);
    this.recovery = recovery;
    this.start = { index: startMeta.startIndex, term: startMeta.startTerm, data: encodeStartData(startMeta.startPosition, startMeta.startApp) };
    this.startPosition = startMeta.startPosition;
    this.startApp = startMeta.startApp;
    this.last = tail.lastIndex;
    this.lastTerm = tail.lastTerm;
    this.end = tail.endPosition;
    this.durable = tail.lastIndex;
    this.trustedFrom = tail.firstScannedIndex;
    this.hard = new HardStateKeeper(dir, hard, opts.commitPersistIntervalMs, logger, () => this.durable, layer, opts.unsafeTestCommitAheadOfDurable);
    this.background = new BackgroundSync(this.data, this.index, this.hard);
    if (hard.commit > this.last) {
      // The commit written is clamped to the durable log, so only a disk that lost synced data,
      // a log written before that clamp (or with unsafeTestCommitAheadOfDurable), or a reset cut
      // short gets here: the core must never be told of a commit past its own log.
      this.log?.warn({ commit: hard.commit, lastIndex: this.last }, 'persisted commit is past the recovered log; lowering it');
      this.hard.lowerCommit(this.last);
    }
    this.marker = RunMarker.open(layer, dir, bootId, logger, { lastIndex: this.last, commit: this.hard.commit });
    const r = this.recovery;
    const fields = { dir, firstIndex: this.firstIndex(), lastIndex: this.last, endPosition: this.end, ...r };
    if (r.zeroedBytes > 0 || r.rebuiltIndexRecords > 0 || r.deletedFiles > 0 || r.stopReason !== undefined) {
      this.log?.warn(fields, 'raft log repaired on open');
    } else {
      this.log?.info(fields, 'raft log opened');
    }
  }

  static open(dir: string, options: MmapLogStorageOptions = {}): MmapLogStorage {
    return new MmapLogStorage(dir, resolveOptions(options), options.logger, options.bootId);
  }

  // ---- LogReader ----

  firstIndex(): number {
    return this.start.index + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  logStart(): LogStart {
    return this.start;
  }

  term(index: number): number | undefined {
    if (index === this.last) return this.lastTerm;
    if (index === this.start.index) return this.start.term;
    if (index < this.start.index || index > this.last) return undefined;
    const off = this.findRecord(index);
    return this.index.term(off);
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.assertOpen();
    const out: Entry[] = [];
    if (lo <= this.start.index || lo > this.last) return out;
    const stop = Math.min(hi, this.last + 1);
    let bytes = 0;
    for (let i = lo; i < stop; i++) {
      const e = this.readEntry(i);
      bytes += e.payload.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  // ---- LogStorage ----

  hardState(): HardState {
    return this.hard.get();
  }

  setHardState(state: HardState): void {
    this.assertOpen();
    this.hard.set(state);
  }

  membership(): Membership | undefined {
    return this.members;
  }

  /** Durable when it returns (temp file, fsync, rename, directory fsync); a reset keeps it. */
  setMembership(m: Membership): void {
    this.assertOpen();
    writeMembership(this.layer, this.dir, m);
    this.members = { ...m, voters: m.voters.slice(), learners: m.learners.slice() };
  }

  append(entries: readonly Entry[]): void {
    this.assertOpen();
    const n = entries.length;
    if (n === 0) return;
    const first = entries[0]!.index;
    checkAppend(entries, first, { startIndex: this.start.index, lastIndex: this.last, term: (i) => this.term(i), maxPayloadBytes: this.maxEntryBytes() });
    if (first <= this.last) this.truncateSuffix(first);

    let pos: number;
    try {
      pos = this.appender.append(entries, this.end);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).syscall === undefined) throw err; // a bug, not the disk
      // Nothing moved: end and last still describe the log; bytes written past the end are
      // overwritten by the next append or cut by recovery.
      throw new LogStorageError('ERR_LOG_IO', `append of entries ${first}..${first + n - 1} failed: ${(err as Error).message}`, { cause: err });
    }
    const dirtyFrom = this.end;
    const lastEntry = entries[n - 1]!;
    this.data.markDirty(dirtyFrom, pos);
    this.index.markDirty(first, lastEntry.index);
    this.end = pos;
    this.last = lastEntry.index;
    this.lastTerm = lastEntry.term;
  }

  truncateSuffix(fromIndex: number): void {
    this.assertOpen();
    if (!Number.isSafeInteger(fromIndex)) throw new LogStorageError('ERR_LOG_OUT_OF_RANGE', `truncate from ${fromIndex}: not an index`);
    if (fromIndex > this.last) return;
    if (fromIndex <= this.start.index) {
      throw new LogStorageError('ERR_LOG_OUT_OF_RANGE', `truncate from ${fromIndex} would cut below the log start ${this.start.index}`);
    }
    // The new end is right after entry fromIndex - 1, not where entry fromIndex began: if that
    // entry had moved to the next segment, a smaller replacement must fit where a replica that
    // never saw it would write it, so the end-of-segment marker goes too.
    let newEnd = this.startPosition;
    let newLastTerm = this.start.term;
    if (fromIndex - 1 > this.start.index) {
      const off = this.findRecord(fromIndex - 1);
      newEnd = this.index.position(off) + this.index.totalBytes(off);
      newLastTerm = this.index.term(off);
    }
    const S = this.segmentBytes;
    const keep = Math.floor(newEnd / S);
    this.data.zero(newEnd, Math.min(this.end, (keep + 1) * S));
    this.data.deleteAbove(keep);
    this.index.zero(fromIndex, this.last);
    this.index.files.deleteAbove(this.index.fileOf(fromIndex));
    this.end = newEnd;
    if (this.trustedFrom > fromIndex) this.trustedFrom = fromIndex;
    this.epoch++;
    this.last = fromIndex - 1;
    this.lastTerm = newLastTerm;
    if (this.durable > this.last) this.durable = this.last;
  }

  deleteHead(beforeIndex: number, startApp?: StartAppSource): number {
    this.assertOpen();
    const target = Math.min(beforeIndex, this.last);
    if (target <= this.firstIndex()) return this.firstIndex();
    const view = { firstIndex: this.firstIndex(), startPosition: this.startPosition, targetPosition: this.index.position(this.findRecord(target)), term: (i: number) => this.term(i) };
    const cut = cutHead(this.layer, this.dir, this.data, this.index, this.segmentBytes, view, target, startApp);
    if (cut === undefined) return this.firstIndex();
    this.start = cut.start;
    this.startPosition = cut.startPosition;
    this.startApp = cut.startApp;
    this.log?.info({ firstIndex: cut.start.index + 1, startPosition: cut.startPosition, startAppBytes: cut.startApp?.length, deletedFiles: cut.deletedFiles }, 'raft log head deleted');
    return cut.start.index + 1;
  }

  reset(start: LogStart): void {
    this.assertOpen();
    const decoded = decodeStartData(start);
    if (decoded === undefined || !Number.isSafeInteger(start.index) || start.index < 0 || !Number.isSafeInteger(start.term) || start.term < 0) {
      throw new LogStorageError('ERR_LOG_BAD_START', `reset to index ${start.index} term ${start.term}: data must be an 8-byte position, optionally followed by 1 and an application section of at most ${MAX_START_APP_BYTES} bytes`);
    }
    const { position, app } = decoded;
    // Crash-atomic (log-reset.ts): the new start is written before the old files go.
    const meta = { segmentBytes: this.segmentBytes, indexSegmentEntries: this.index.entriesPerFile, startIndex: start.index, startTerm: start.term, startPosition: position, startApp: app };
    wipeForReset(this.layer, this.dir, this.data, this.index, meta);
    this.start = { index: start.index, term: start.term, data: encodeStartData(position, app) };
    this.startPosition = position;
    this.startApp = app;
    this.last = start.index;
    this.lastTerm = start.term;
    this.end = position;
    this.durable = start.index;
    this.trustedFrom = start.index + 1;
    this.epoch++;
    this.log?.info({ startIndex: start.index, startTerm: start.term, startPosition: position, startAppBytes: app?.length }, 'raft log reset');
  }

  startAppData(): Uint8Array | undefined {
    return this.startApp;
  }

  /**
   * Unmaps (from this process, not from the page cache) the data pages more than `keepTailBytes`
   * behind the end of the log. Readers only fault them back in when they read old entries; a
   * node that read its whole log once (dispatch on every replica does) would otherwise keep all
   * of it in its resident memory. Nothing on disk or in the page cache changes.
   */
  releaseResident(keepTailBytes: number): void {
    this.assertOpen();
    const to = this.end - keepTailBytes;
    if (to > this.startPosition) this.data.releaseResident(this.startPosition, to);
  }

  sync(): void {
    this.assertOpen();
    this.flushAll();
    this.durable = this.last;
    this.hard.flushCommitIfDue();
  }

  /**
   * Starts what `sync()` does without blocking the event loop: fdatasync of the files touched
   * since the last sync, in libuv's thread pool; `durableIndex()` advances when it completes
   * (unless a truncation or reset came in between). A due commit-only hard-state change is
   * written there too (see HardStateKeeper). For the periodic flush of async mode, where
   * a blocking flush of a few hundred milliseconds of appends stalled every turn behind it. At
   * most one runs at a time: the call returns false and does nothing while one is in flight.
   * `sync()` and `close()` cover an in-flight one, so they still mean durable on return.
   */
  syncInBackground(done?: (err: Error | null) => void): boolean {
    this.assertOpen();
    const target = this.last;
    const epoch = this.epoch;
    return this.background.start((failure) => {
      if (failure === null && epoch === this.epoch && this.durable < target) this.durable = target;
      done?.(failure);
    });
  }

  durableIndex(): number {
    return this.durable;
  }

  mayHaveLostWrites(): boolean {
    return this.marker.mayHaveLostWrites;
  }

  markRecovered(): void {
    this.assertOpen();
    this.marker.markRecovered();
  }

  markLostWritesSuspected(): void {
    this.assertOpen();
    this.marker.markSuspect();
  }

  locate(index: number): EntryLocation | undefined {
    this.assertOpen();
    if (index <= this.start.index || index > this.last) return undefined;
    const off = this.findRecord(index);
    const position = this.index.position(off);
    const totalBytes = this.index.totalBytes(off);
    return { position, payloadPosition: position + ENTRY_HEADER_BYTES, payloadBytes: totalBytes - ENTRY_HEADER_BYTES, term: this.index.term(off) };
  }

  slice(position: number, length: number): Buffer {
    this.assertOpen();
    const S = this.segmentBytes;
    const k = Math.floor(position / S);
    const f = this.data.file(k);
    if (
      !Number.isSafeInteger(position) || !Number.isSafeInteger(length) || length < 0 ||
      position < this.startPosition || position + length > this.end || position + length > (k + 1) * S || f === undefined
    ) {
      throw new LogStorageError('ERR_LOG_OUT_OF_RANGE', `slice [${position}, ${position + length}) is outside the log [${this.startPosition}, ${this.end}) or spans a segment end`);
    }
    return f.buffer.subarray(position - k * S, position - k * S + length);
  }

  endPosition(): number {
    return this.end;
  }

  /** An entry never spans two data segments: one segment less its header. */
  maxEntryBytes(): number {
    return this.segmentBytes - ENTRY_HEADER_BYTES;
  }

  /** The data segment files, oldest first (retention picks by age, then calls deleteHead). */
  segmentFiles(): { basePosition: number; path: string }[] {
    const out: { basePosition: number; path: string }[] = [];
    for (let k = this.data.first; k <= this.data.last; k++) out.push({ basePosition: k * this.segmentBytes, path: this.data.file(k)!.path });
    return out;
  }

  /**
   * Creates the data and index files the next `bytes` of appends will need, so an append near
   * a segment end does not pay for creating and mapping one. It touches no page: appends write
   * with pwrite(2), and pre-faulting pages of the mapping measured slower than letting the
   * write allocate them (the faults cost more than they save, and a saturated node has no idle
   * time to hide them in). Call it when idle; it never touches data.
   */
  warmAhead(bytes: number): void {
    this.assertOpen();
    createFilesAhead({ data: this.data, index: this.index, startIndex: this.start.index, startPosition: this.startPosition, lastIndex: this.last, endPosition: this.end }, bytes);
  }

  close(): void {
    if (this.closed) return;
    this.flushAll();
    this.durable = this.last;
    this.hard.close();
    this.data.close();
    this.index.files.close();
    this.marker.close();
    this.closed = true;
  }

  // ---- internals ----

  /** Blocking flush of everything appended, including what an in-flight background sync covers. */
  private flushAll(): void {
    this.data.flush();
    this.index.files.flush();
    this.background.flushInFlight();
  }

  /** Offset of the index record of a present entry in `this.index.buf`; a missing record is corruption. */
  private findRecord(index: number): number {
    const off = this.index.find(index);
    if (off < 0) throw new LogStorageError('ERR_LOG_CORRUPT', `index record of entry ${index} is missing or damaged (log ${this.firstIndex()}..${this.last})`);
    return off;
  }

  /** Reads entry `index` as a view of the mapping, cross-checking its header against the index record. */
  private readEntry(index: number): Entry {
    const rec = this.findRecord(index);
    const entry = readEntryAt(this.data, this.index, rec, index, this.verifyReads && index < this.trustedFrom);
    if (typeof entry === 'string') throw this.corrupt(index, this.index.position(rec), entry);
    return entry;
  }

  private corrupt(index: number, position: number, reason: string): LogStorageError {
    const err = new LogStorageError('ERR_LOG_CORRUPT', `entry ${index} at position ${position}: ${reason}`);
    this.log?.error({ err, index, position }, 'raft log entry failed verification');
    return err;
  }

  private assertOpen(): void {
    if (this.closed) throw new LogStorageError('ERR_LOG_CLOSED', `raft log ${this.dir} is closed`);
  }
}
