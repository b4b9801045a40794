// The message store facade the broker uses: opens (and recovers) the ConsumeQueues, IndexFiles,
// checkpoint and abort file over a Raft log, dispatches committed entries, and serves reads.
// Reads copy each record once into a result buffer and patch its queueOffset and physicalOffset
// there (the log holds placeholders, see docs/storage.md); the mapped log is never written.

import type { CommitLogReader } from './commit-log.js';
import { createAbortFile, readCheckpoint, removeAbortFile, type StoreCheckpoint } from './checkpoint.js';
import { prepareStorePaths, type StorePaths } from './store-paths.js';
import { type ConsumeQueueUnit, DEFAULT_UNITS_PER_FILE } from './consume-queue.js';
import { ConsumeQueueTable } from './consume-queue-table.js';
import type { QueueFilePoolOptions } from './queue-file-pool.js';
import { DEFAULT_DELAY_LEVELS_MS, Dispatcher, type DispatcherHooks } from './dispatcher.js';
import { DEFAULT_INDEX_OPTIONS, IndexService } from './index-service.js';
import { decodeMessageRecord, patchRecordOffsets } from '../common/message/message-record.js';
import { RECORD_FIXED_BYTES, RecordOffset } from '../common/message/record-layout.js';
import { getProperty, MessageProperty } from '../common/message/message-properties.js';
import { parseMessageId } from '../common/message/message-id.js';
import { firstPosition, recoverDispatchState, storeTimestampAt, type RecoveryReport } from './recovery.js';
import { BadCheckpointError } from './store-errors.js';
import { BodySlab, copyRun, FoundResult, setInt64 } from './read-buffers.js';
import { isRecordAt, recordSize } from '../common/message/record-view.js';
import { GetMessageStatus, type GetMessageResult } from './get-message-result.js';
import type { MessageStoreOptions } from './message-store-options.js';
import { DiskFullError } from './disk-usage.js';
import { StoreFlusher } from './store-flusher.js';
import { encodeQueueStarts, queueStartsAt } from './queue-start.js';

export { GetMessageStatus, type GetMessageResult } from './get-message-result.js';

export type { MessageStoreOptions } from './message-store-options.js';

/** Units scanned per read when a filter rejects messages (RocketMQ: 16,000 bytes of units). */
const MAX_FILTERED_UNITS = 800;
/** Upper bound on messages per read, whatever the caller asks (pulls ask for 32). */
export const MAX_MESSAGES_PER_GET = 1024;
const EMPTY = Buffer.alloc(0);
export class MessageStore {
  private closed = false;
  private readonly unit: ConsumeQueueUnit = { physicalOffset: 0, size: 0, tagHash: 0 };
  private diskFull: DiskFullError | undefined;
  private readonly pickedQueueOffset = new Float64Array(MAX_MESSAGES_PER_GET);
  private readonly pickedPhysicalOffset = new Float64Array(MAX_MESSAGES_PER_GET);
  private readonly pickedSize = new Int32Array(MAX_MESSAGES_PER_GET);
  private readonly bodies = new BodySlab();
  private readonly flusher: StoreFlusher;

  private constructor(
    readonly root: string,
    readonly paths: StorePaths,
    private readonly log: CommitLogReader,
    readonly queues: ConsumeQueueTable,
    readonly index: IndexService,
    readonly dispatcher: Dispatcher,
    /** What start-up recovery found and did. */
    readonly recovery: RecoveryReport,
    nowMs: () => number,
  ) {
    this.flusher = new StoreFlusher(paths.checkpointFile, queues, index, dispatcher, nowMs);
  }

  /** Opens the store under `root` over `log`, recovering after a crash (see recovery.ts). */
  static open(root: string, log: CommitLogReader, options: MessageStoreOptions = {}): MessageStore {
    const paths = prepareStorePaths(root, options.paths);
    const unclean = createAbortFile(paths.abortFile);
    let checkpoint: StoreCheckpoint | undefined;
    let problem: string | undefined;
    try {
      checkpoint = readCheckpoint(paths.checkpointFile);
    } catch (err) {
      if (!(err instanceof BadCheckpointError)) throw err;
      problem = err.message;
    }
    const queues = ConsumeQueueTable.open(paths.consumeQueueDir, options.unitsPerFile ?? DEFAULT_UNITS_PER_FILE, options.fileLayer, options.consumeQueueFiles);
    const index = IndexService.open(paths.indexDir, { ...DEFAULT_INDEX_OPTIONS, ...options.index }, options.fileLayer);
    const recovery = recoverDispatchState(log, queues, index, checkpoint, unclean, problem, options.trustedLogIndex);
    const hooks: DispatcherHooks = {};
    if (options.onControl) hooks.onControl = options.onControl;
    if (options.onMessageArrived) hooks.onMessageArrived = options.onMessageArrived;
    if (options.onQueuesReset) hooks.onQueuesReset = options.onQueuesReset;
    const dispatcher = new Dispatcher(
      log,
      queues,
      index,
      hooks,
      {
        batchBytes: options.dispatchBatchBytes ?? 4 * 1024 * 1024,
        verifyCrc: options.verifyCrcOnDispatch ?? false,
        delayLevelsMs: options.delayLevelsMs ?? DEFAULT_DELAY_LEVELS_MS,
      },
      recovery.dispatchedIndex,
      recovery.dispatchedPhysicalOffset,
    );
    // After a crash, or when only the ConsumeQueues said how far dispatch got, verify the CRCs of
    // what gets redone. A fresh store ('empty') trusts the Raft log's own payload checks.
    if (unclean || recovery.source === 'consume-queues') dispatcher.verifyCrcUpTo = log.lastIndex();
    const store = new MessageStore(root, paths, log, queues, index, dispatcher, recovery, options.nowMs ?? Date.now);
    if (recovery.source !== 'checkpoint') {
      // Without a checkpoint, recovery after a power loss would trust the ConsumeQueues to say
      // how far dispatch got, but a queue written later can be durable while an earlier one is
      // not. So make what is there durable and vouch for it now; then every later recovery
      // starts from a checkpoint. For a new store this is just a checkpoint claiming nothing.
      for (const cq of queues.all()) cq.markAllDirty();
      index.markAllDirty();
      store.flush();
    }
    return store;
  }

  /**
   * If the log now starts past what was dispatched (a follower reset to the leader's start),
   * skips to its first entry and starts every ConsumeQueue at the offset the log's start record
   * gives it (see Dispatcher.jumpToLogStart). dispatchUpTo does the same on its own; calling it
   * at the reset means reads never meet the old numbering meanwhile. Returns the entries skipped.
   */
  jumpToLogStart(): number {
    this.assertOpen();
    return this.dispatcher.jumpToLogStart();
  }

  /** Dispatches committed entries up to `commitIndex`; returns how many entries were dispatched. */
  dispatchUpTo(commitIndex: number): number {
    this.assertOpen();
    try {
      const n = this.dispatcher.dispatchUpTo(commitIndex);
      this.diskFull = undefined;
      return n;
    } catch (err) {
      // The entry stays in the log and is dispatched whole at a later call; until then the
      // broker should refuse writes (CleanService.writeRefusal reports this).
      if (err instanceof DiskFullError) this.diskFull = err;
      throw err;
    }
  }

  /** The full-disk error that stopped the last dispatch call, until a call succeeds again. */
  get diskFullError(): DiskFullError | undefined {
    return this.diskFull;
  }

  get dispatchedIndex(): number {
    return this.dispatcher.dispatchedIndex;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('message store is closed');
  }

  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.queues.find(topic, queueId)?.minOffset ?? 0;
  }

  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.queues.find(topic, queueId)?.maxOffset ?? 0;
  }

  /**
   * The queue offset dispatch gave the message at `physicalOffset` in `topic`/`queueId`, or -1 when
   * it is not dispatched (yet). The broker uses it to answer a send once its entry is dispatched.
   */
  queueOffsetOf(topic: string, queueId: number, physicalOffset: number): number {
    return this.queues.find(topic, queueId)?.queueOffsetOf(physicalOffset) ?? -1;
  }

  /**
   * Reads up to `maxCount` messages of a queue from `queueOffset`, stopping before `maxBytes`
   * (at least one message is returned when any matches). `filter` gets the unit's tag hash; a
   * rejected message is skipped and counted in nextBeginOffset, as in RocketMQ.
   */
  getMessage(topic: string, queueId: number, queueOffset: number, maxCount: number, maxBytes: number, filter?: (tagHash: number) => boolean): GetMessageResult {
    this.assertOpen();
    if (!Number.isSafeInteger(queueOffset)) throw new RangeError(`queueOffset ${queueOffset} is not an integer`);
    const cq = this.queues.find(topic, queueId);
    const minOffset = cq?.minOffset ?? 0;
    const maxOffset = cq?.maxOffset ?? 0;
    const result = (status: GetMessageStatus, nextBeginOffset: number): GetMessageResult => ({ status, messages: [], body: EMPTY, nextBeginOffset, minOffset, maxOffset });
    if (!cq || maxOffset === 0) return result(GetMessageStatus.NO_MESSAGE_IN_QUEUE, 0);
    if (queueOffset < minOffset) return result(GetMessageStatus.OFFSET_TOO_SMALL, minOffset);
    if (queueOffset === maxOffset) return result(GetMessageStatus.OFFSET_OVERFLOW_ONE, queueOffset);
    if (queueOffset > maxOffset) return result(GetMessageStatus.OFFSET_OVERFLOW_BADLY, minOffset === 0 ? minOffset : maxOffset);

    const logStart = firstPosition(this.log);
    const logEnd = this.dispatcher.dispatchedPhysicalOffset;
    maxCount = Math.min(Math.max(1, maxCount), MAX_MESSAGES_PER_GET);
    const scanLimit = Math.max(maxCount, MAX_FILTERED_UNITS);
    // The picked units, in reusable typed arrays (no per-call arrays; at most maxCount of them).
    const pickedQueueOffset = this.pickedQueueOffset;
    const pickedPhysicalOffset = this.pickedPhysicalOffset;
    const pickedSize = this.pickedSize;
    let picked = 0;
    let status: GetMessageStatus = GetMessageStatus.NO_MATCHED_MESSAGE;
    let totalBytes = 0;
    let q = queueOffset;
    const u = this.unit;
    for (let scanned = 0; q < maxOffset && scanned < scanLimit && picked < maxCount; scanned++) {
      if (!cq.read(q, u)) break;
      if (u.size < RECORD_FIXED_BYTES || u.physicalOffset + u.size > logEnd) {
        // A unit pointing outside the dispatched log: never serve it, never skip past it.
        if (picked === 0) status = GetMessageStatus.OFFSET_FOUND_NULL;
        break;
      }
      if (picked > 0 && totalBytes + u.size > maxBytes) break;
      q++;
      // Retention removed the message (the min offset catches up at the next correction).
      if (u.physicalOffset < logStart) continue;
      if (filter && !filter(u.tagHash)) continue;
      pickedQueueOffset[picked] = q - 1;
      pickedPhysicalOffset[picked] = u.physicalOffset;
      pickedSize[picked] = u.size;
      picked++;
      totalBytes += u.size;
    }
    if (picked === 0) return result(status, q);

    // One view of the log covering every picked record (they are in log order), when they lie in
    // one segment, instead of one slice per record; per-record slices otherwise.
    const rangeStart = pickedPhysicalOffset[0]!;
    const rangeEnd = pickedPhysicalOffset[picked - 1]! + pickedSize[picked - 1]!;
    let range: Buffer | undefined;
    try {
      range = this.log.slice(rangeStart, rangeEnd - rangeStart);
    } catch {
      range = undefined;
    }
    const body = this.bodies.allocate(totalBytes);
    let at = 0;
    let count = 0;
    if (range) {
      // Records adjacent in the log (a batch, or a queue written alone) are copied as one run.
      let runStart = rangeStart;
      let runEnd = rangeStart;
      for (let i = 0; i < picked; i++) {
        const size = pickedSize[i]!;
        const physicalOffset = pickedPhysicalOffset[i]!;
        if (!isRecordAt(range, physicalOffset - rangeStart, size)) {
          q = pickedQueueOffset[i]!;
          break;
        }
        if (physicalOffset !== runEnd) {
          copyRun(range, runStart - rangeStart, runEnd - runStart, body, at - (runEnd - runStart));
          runStart = physicalOffset;
        }
        runEnd = physicalOffset + size;
        at += size;
        count++;
      }
      copyRun(range, runStart - rangeStart, runEnd - runStart, body, at - (runEnd - runStart));
    } else {
      for (let i = 0; i < picked; i++) {
        const source = this.readRecordBytes(pickedPhysicalOffset[i]!, pickedSize[i]!);
        if (!source) {
          q = pickedQueueOffset[i]!;
          break;
        }
        body.set(source, at);
        at += source.length;
        count++;
      }
    }
    if (count === 0) return result(GetMessageStatus.OFFSET_FOUND_NULL, q);
    // patchRecordOffsets through a DataView (Buffer's int writes cost ~10x more per call).
    const dv = new DataView(body.buffer, body.byteOffset, body.length);
    for (let i = 0, p = 0; i < count; p += pickedSize[i]!, i++) {
      setInt64(dv, p + RecordOffset.QUEUE_OFFSET, pickedQueueOffset[i]!);
      setInt64(dv, p + RecordOffset.PHYSICAL_OFFSET, pickedPhysicalOffset[i]!);
    }
    return new FoundResult(body.subarray(0, at), q, minOffset, maxOffset);
  }

  /** A view of the record at `physicalOffset` if one of `size` bytes starts there, else undefined. */
  private readRecordBytes(physicalOffset: number, size: number): Buffer | undefined {
    let view: Buffer;
    try {
      view = this.log.slice(physicalOffset, size);
    } catch {
      return undefined;
    }
    if (view.length !== size || !isRecordAt(view, 0, size)) return undefined;
    return view;
  }

  /**
   * The dispatched record at `physicalOffset` (a copy with its offsets patched in), or undefined
   * when no dispatched message starts there.
   */
  lookMessageByOffset(physicalOffset: number): Buffer | undefined {
    this.assertOpen();
    if (!Number.isSafeInteger(physicalOffset) || physicalOffset < firstPosition(this.log)) return undefined;
    if (physicalOffset + RECORD_FIXED_BYTES > this.dispatcher.dispatchedPhysicalOffset) return undefined;
    let size: number;
    try {
      size = recordSize(this.log.slice(physicalOffset, 4), 0);
    } catch {
      return undefined;
    }
    if (size < RECORD_FIXED_BYTES || physicalOffset + size > this.dispatcher.dispatchedPhysicalOffset) return undefined;
    const view = this.readRecordBytes(physicalOffset, size);
    if (!view) return undefined;
    const copy = Buffer.from(view);
    let queueOffset = -1;
    try {
      const m = decodeMessageRecord(copy, 0, { verifyCrc: false });
      queueOffset = this.queues.find(m.topic, m.queueId)?.queueOffsetOf(physicalOffset) ?? -1;
    } catch {
      return undefined;
    }
    patchRecordOffsets(copy, 0, queueOffset, physicalOffset);
    return copy;
  }

  /** The record a message id (offset id) points at; undefined for a malformed or unknown id. */
  lookMessageById(messageId: string): Buffer | undefined {
    let physicalOffset: number;
    try {
      physicalOffset = parseMessageId(messageId).physicalOffset;
    } catch {
      return undefined;
    }
    return this.lookMessageByOffset(physicalOffset);
  }

  /**
   * Messages of `topic` carrying `key` (in KEYS or as UNIQ_KEY) stored within [beginMs, endMs],
   * newest first, at most `maxNum`. Index candidates are verified on the records.
   */
  /**
   * False when queryByKey(topic, key, …, beginMs, endMs) surely finds nothing (no index entry
   * with the key's hash in the range); true means it may. Allocates nothing: for per-message
   * checks whose answer is nearly always no (the de-duplication window).
   */
  mayHoldKey(topic: string, key: string, beginMs: number, endMs: number): boolean {
    this.assertOpen();
    return this.index.hasCandidate(topic, key, beginMs, endMs);
  }

  queryByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): { messages: Buffer[]; physicalOffsets: number[] } {
    this.assertOpen();
    const messages: Buffer[] = [];
    const physicalOffsets: number[] = [];
    // Ask for more candidates than needed: collisions are dropped below. Bounded by the index.
    for (const p of this.index.query(topic, key, maxNum * 4 + 16, beginMs, endMs)) {
      if (messages.length >= maxNum) break;
      const record = this.lookMessageByOffset(p);
      if (!record) continue;
      const m = decodeMessageRecord(record, 0, { verifyCrc: false });
      if (m.topic !== topic || m.storeTimestamp < beginMs || m.storeTimestamp > endMs) continue;
      const keys = getProperty(m.properties, MessageProperty.KEYS)?.split(' ') ?? [];
      if (!keys.includes(key) && getProperty(m.properties, MessageProperty.UNIQ_KEY) !== key) continue;
      messages.push(record);
      physicalOffsets.push(p);
    }
    return { messages, physicalOffsets };
  }

  /** The first queue offset stored at or after `timestampMs` (maxOffset if none; 0 for an unknown queue). */
  getOffsetInQueueByTime(topic: string, queueId: number, timestampMs: number): number {
    this.assertOpen();
    const cq = this.queues.find(topic, queueId);
    if (!cq) return 0;
    return cq.offsetByTime(timestampMs, (p) => {
      // A unit whose message retention already removed counts as older than any time.
      try {
        return storeTimestampAt(this.log, p);
      } catch {
        return Number.NEGATIVE_INFINITY;
      }
    });
  }

  /**
   * The retention seam: after the log's head was deleted (`SegmentedCommitLog.deleteHead`), drops
   * ConsumeQueue and IndexFile files wholly below the log's first position and moves every
   * queue's min offset to its first message still in the log. Returns the files deleted.
   */
  deleteBelowLogStart(): number {
    this.assertOpen();
    const minPhysicalOffset = firstPosition(this.log);
    // A queue left without a message keeps no file when the log's start record remembers where
    // it ends; a log cut before records existed keeps its last file instead.
    const keepLastFile = this.log.startAppData() === undefined;
    let deleted = 0;
    for (const cq of this.queues.all()) deleted += cq.deleteBelow(minPhysicalOffset, keepLastFile);
    return deleted + this.index.deleteBelow(minPhysicalOffset);
  }

  /**
   * The queue start record (queue-start.ts) for the log's new start when retention deletes its
   * head up to entry `first.index` at byte `first.position`: pass it to `deleteHead` as the
   * start record's application section. Throws QueueStartTooLargeError past
   * QUEUE_START_MAX_BYTES (then nothing is deleted), and asserts that everything before
   * `first.index` is dispatched.
   */
  queueStartRecord(first: { index: number; position: number }): Uint8Array {
    this.assertOpen();
    return encodeQueueStarts(queueStartsAt(this.queues, first, this.dispatcher.dispatchedIndex));
  }

  /** Store timestamp of the record at `physicalOffset` (for the broker's admin answers). */
  storeTimestampAt(physicalOffset: number): number {
    return storeTimestampAt(this.log, physicalOffset);
  }

  /**
   * Makes ConsumeQueues and IndexFiles durable, then records the dispatch progress in the
   * checkpoint, blocking: everything dispatched is durable on return (retention relies on it
   * before deleting log segments; close() calls it). It also covers a background flush in
   * flight. The log belongs to Raft: the caller passes when it last made the log durable, for
   * the record. For the periodic flush use flushInBackground.
   */
  flush(logFlushTimestampMs?: number): void {
    this.assertOpen();
    if (logFlushTimestampMs === undefined) this.flusher.flush();
    else this.flusher.flush(logFlushTimestampMs);
  }

  /**
   * What flush() does, with the fdatasyncs and the checkpoint write in libuv's thread pool (the
   * event loop only collects the files written since the last flush). Returns false, starting
   * nothing, while one is in flight. `done(null)` when the checkpoint is published, when nothing
   * changed since the last one, or when a blocking flush or close() overtook it (they cover it);
   * `done(err)` otherwise (the next flush retries those files). Durable only once `done` runs.
   */
  flushInBackground(logFlushTimestampMs: number, done?: (err: Error | null) => void): boolean {
    this.assertOpen();
    return this.flusher.flushInBackground(logFlushTimestampMs, done);
  }

  /** Whether a background flush is in flight. */
  get backgroundFlushInProgress(): boolean {
    return this.flusher.inProgress;
  }

  /** Background flushes that published a checkpoint since open (for tests and metrics). */
  get backgroundFlushCount(): number {
    return this.flusher.backgroundFlushCount;
  }

  /**
   * Clean shutdown: flush, checkpoint, close the files, remove the abort file. The log is not
   * closed. A background flush in flight is covered by this flush and ends without effect.
   */
  close(): void {
    if (this.closed) return;
    this.flusher.close();
    this.queues.close();
    this.index.close();
    removeAbortFile(this.paths.abortFile);
    this.closed = true;
  }
}
