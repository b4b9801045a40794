// The dispatcher: turns committed Raft entries, strictly in index order, into ConsumeQueue units
// and IndexFile entries. Queue offsets are assigned here from each queue's own max offset, so
// they are a pure function of the committed log and every replica builds identical files.
// Control payloads (replicated broker metadata) go to a hook; NoOp entries are skipped.
// An entry is dispatched whole or not at all: its records are all validated before any is applied.

import { NORMAL_ENTRY_TYPE, type CommitLogEntry, type CommitLogLocation, type CommitLogReader } from './commit-log.js';
import type { ConsumeQueue } from './consume-queue.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { IndexService } from './index-service.js';
import { QUEUE_CACHE_SIZE, TopicCache, type TopicInfo } from './topic-cache.js';
import { javaUtf8Hash } from '../common/message/java-hash.js';
import { checkMessageRecord, isMessageRecordPayload } from '../common/message/message-record.js';
import { plainRecordSize, recordHasNoQueue, recordQueueId, recordSize, recordStoreTimestampMs, recordTopicLengthAt } from '../common/message/record-view.js';
import { MessageProperty } from '../common/message/message-properties.js';
import { firstPosition, storeTimestampAt } from './recovery.js';
import { logQueueStarts, startQueuesAt } from './queue-start.js';
import { MessageCodecError } from '../common/message/message-errors.js';
import { CorruptLogEntryError } from './store-errors.js';
import { SCHEDULE_TOPIC } from '../common/system-topics.js';

/** RocketMQ's messageDelayLevel "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h". */
export const DEFAULT_DELAY_LEVELS_MS: readonly number[] = [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200].map((s) => s * 1000);

export interface DispatcherHooks {
  /** A Normal entry whose payload is not message records (broker metadata). Called in index order. */
  onControl?: (index: number, payload: Uint8Array) => void;
  /** New units in a topic-queue, once per topic-queue per dispatch call (wakes long polls). */
  onMessageArrived?: (topic: string, queueId: number, maxOffset: number) => void;
  /**
   * Dispatch jumped to a new log start (a follower's reset): every queue may have moved to the
   * offsets the start record gives, so a long poll waiting on the old numbering must look again.
   */
  onQueuesReset?: () => void;
}

export interface DispatcherOptions {
  /** Bytes of entries read from the log per batch. */
  batchBytes: number;
  /** Check every record's body CRC (recovery after an unclean shutdown turns it on). */
  verifyCrc: boolean;
  delayLevelsMs: readonly number[];
}

const TAGS = Buffer.from(MessageProperty.TAGS);
const KEYS = Buffer.from(MessageProperty.KEYS);
const UNIQ_KEY = Buffer.from(MessageProperty.UNIQ_KEY);
const DELAY = Buffer.from(MessageProperty.DELAY);
const SPACE = 0x20;


function sameBytes(buf: Buffer, at: number, name: Buffer): boolean {
  for (let i = 0; i < name.length; i++) if (buf[at + i] !== name[i]) return false;
  return true;
}

export class Dispatcher {
  private next: number;
  private physicalOffset: number;
  /** Raft index up to which CRCs are checked even when `verifyCrc` is off (set by recovery). */
  verifyCrcUpTo = 0;
  /** Entries never dispatched because the log's head moved past them (see dispatchUpTo). */
  skippedEntryCount = 0;
  /**
   * Queues that got units in this dispatchUpTo call, in first-touch order (for the wake-ups and
   * the roll-back); `touchedMark` on each queue avoids a Set lookup per record.
   */
  private readonly touched: ConsumeQueue[] = [];
  private touchedEpoch = 0;
  /** Per-topic facts found from the topic's bytes (no string decoding per record). */
  private readonly topics = new TopicCache(SCHEDULE_TOPIC);
  // Value bounds of the properties found by scanProperties (-1: absent), reused per message.
  private tagsStart = -1;
  private tagsEnd = -1;
  private keysStart = -1;
  private keysEnd = -1;
  private uniqStart = -1;
  private uniqEnd = -1;
  private delayStart = -1;
  private delayEnd = -1;

  constructor(
    private readonly log: CommitLogReader,
    private readonly queues: ConsumeQueueTable,
    private readonly index: IndexService,
    private readonly hooks: DispatcherHooks,
    private readonly options: DispatcherOptions,
    dispatchedIndex: number,
    dispatchedPhysicalOffset: number,
  ) {
    this.next = dispatchedIndex + 1;
    this.physicalOffset = dispatchedPhysicalOffset;
  }

  /** Last Raft index fully dispatched. */
  get dispatchedIndex(): number {
    return this.next - 1;
  }

  /** Log byte position just past the last dispatched entry. */
  get dispatchedPhysicalOffset(): number {
    return this.physicalOffset;
  }

  /**
   * Dispatches every entry up to `commitIndex` (never past it, nor past the log's last index).
   * Returns the number of entries dispatched. Throws CorruptLogEntryError at an entry whose records
   * do not decode; everything before it stays dispatched and the next call retries that entry.
   */
  dispatchUpTo(commitIndex: number): number {
    const last = Math.min(commitIndex, this.log.lastIndex());
    this.jumpToLogStart();
    const start = this.next;
    this.touchedEpoch++;
    try {
      // Bounded: each turn dispatches at least one entry or stops.
      while (this.next <= last) {
        const batch = this.log.entries(this.next, last + 1, this.options.batchBytes);
        if (batch.length === 0) break;
        this.dispatchBatch(batch);
      }
    } finally {
      this.notify();
    }
    return this.next - start;
  }

  /**
   * When the log starts past what was dispatched (a follower reset to the leader's start, or a
   * head deleted below undispatched entries), those entries are gone for this replica: dispatch
   * goes on from the first entry, and every queue starts at the offset the log's start record
   * gives it, so the messages that follow get the offsets every other replica gave them. A log
   * without a record (cut before records existed) leaves the queues as they are. Returns the
   * number of entries skipped.
   */
  jumpToLogStart(): number {
    const first = this.log.firstIndex();
    if (this.next >= first) return 0;
    // Decoded first: a damaged record stops dispatch here, before anything moved.
    const starts = logQueueStarts(this.log);
    const skipped = first - this.next;
    this.skippedEntryCount += skipped;
    this.next = first;
    this.physicalOffset = firstPosition(this.log);
    // Every unit points below the first entry (nothing from it on was dispatched).
    if (starts !== undefined) startQueuesAt(this.queues, starts);
    this.hooks.onQueuesReset?.();
    return skipped;
  }

  /**
   * Dispatches a batch of entries from the log. Payload positions come from `locate`, except that
   * entries whose payloads are views of the same mapping as the batch's first one get theirs from
   * the byte offset of the view (the CommitLogReader contract: one mapping is linear in
   * positions), which saves an index lookup per entry. That shortcut is taken only after the
   * batch's last entry was checked against `locate` to agree with it.
   */
  private dispatchBatch(batch: readonly CommitLogEntry[]): void {
    const first = batch[0]!;
    const firstLoc = this.locate(first);
    const anchor = first.payload;
    let linear = false;
    if (batch.length > 1) {
      const lastEntry = batch[batch.length - 1]!;
      if (lastEntry.payload.buffer === anchor.buffer) {
        const lastLoc = this.locate(lastEntry);
        linear = lastLoc.payloadPosition - firstLoc.payloadPosition === lastEntry.payload.byteOffset - anchor.byteOffset;
      }
    }
    const anchorPosition = firstLoc.payloadPosition - anchor.byteOffset;
    this.dispatchEntry(first, firstLoc.payloadPosition);
    for (let i = 1; i < batch.length; i++) {
      const entry = batch[i]!;
      const payload = entry.payload;
      const position = linear && payload.buffer === anchor.buffer ? anchorPosition + payload.byteOffset : this.locate(entry).payloadPosition;
      this.dispatchEntry(entry, position);
    }
  }

  private locate(entry: CommitLogEntry): CommitLogLocation {
    const loc = this.log.locate(entry.index);
    if (!loc) throw new Error(`entry ${entry.index} returned by the log has no location`);
    if (loc.payloadBytes !== entry.payload.length) throw new Error(`entry ${entry.index}: the log locates ${loc.payloadBytes} payload bytes, its payload has ${entry.payload.length}`);
    return loc;
  }

  private dispatchEntry(entry: CommitLogEntry, payloadPosition: number): void {
    if (entry.index !== this.next) throw new Error(`dispatcher expected entry ${this.next}, got ${entry.index}`);
    const payload = entry.payload;
    if (entry.type === NORMAL_ENTRY_TYPE && payload.length > 0) {
      if (isMessageRecordPayload(payload)) {
        const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
        this.validate(entry.index, buf);
        try {
          this.dispatchRecords(buf, payloadPosition);
        } catch (err) {
          // A write failed part way (a full disk): undo this entry's units and index entries so
          // it is dispatched whole when retried, exactly as if it had never been started.
          this.rollBack(payloadPosition);
          throw err;
        }
      } else {
        this.hooks.onControl?.(entry.index, payload);
      }
    }
    this.next = entry.index + 1;
    this.physicalOffset = payloadPosition + payload.length;
  }

  private rollBack(payloadPosition: number): void {
    for (const cq of this.touched) cq.truncateFrom(payloadPosition);
    this.index.truncateFrom(payloadPosition, (p) => storeTimestampAt(this.log, p));
  }

  /**
   * Every record of the entry must decode before any is applied. The common case (no CRC to
   * check) reads the length fields through the record view (record-view.ts); anything odd goes to checkMessageRecord,
   * which throws the precise typed error.
   */
  private validate(index: number, buf: Buffer): void {
    const verifyCrc = this.options.verifyCrc || index <= this.verifyCrcUpTo;
    let offset = 0;
    try {
      if (!verifyCrc) {
        // Bounded: each record is at least RECORD_FIXED_BYTES long, or the loop stops.
        while (offset < buf.length) {
          const size = plainRecordSize(buf, offset, buf.length - offset);
          if (size === 0) break;
          offset += size;
        }
      }
      while (offset < buf.length) offset += checkMessageRecord(buf, offset, buf.length - offset, verifyCrc);
    } catch (err) {
      if (!(err instanceof MessageCodecError)) throw err;
      throw new CorruptLogEntryError(`committed entry ${index} holds a bad message record at byte ${offset}: ${err.message}`, { cause: err });
    }
  }

  private dispatchRecords(buf: Buffer, payloadPosition: number): void {
    let offset = 0;
    // Bounded: validate() checked that the sizes tile the payload exactly.
    while (offset < buf.length) {
      const size = recordSize(buf, offset);
      this.dispatchRecord(buf, offset, size, payloadPosition + offset);
      offset += size;
    }
  }

  /** The ConsumeQueue of `topic` and `queueId` (an array lookup for small ids). */
  private queueOf(topic: TopicInfo, queueId: number): ConsumeQueue {
    if (queueId >= 0 && queueId < QUEUE_CACHE_SIZE) {
      const queues = topic.queues;
      const cached = queues[queueId];
      if (cached) return cached;
      const cq = this.queues.get(topic.topic, queueId);
      // Fill holes first so the array stays packed (fast elements).
      for (let i = queues.length; i < queueId; i++) queues.push(undefined);
      queues[queueId] = cq;
      return cq;
    }
    return this.queues.get(topic.topic, queueId);
  }

  private dispatchRecord(buf: Buffer, offset: number, size: number, physicalOffset: number): void {
    // As in RocketMQ, prepared (half) and rolled-back messages get no queue offset; we do not
    // index them either, so every message a query finds also has a queue offset.
    if (recordHasNoQueue(buf, offset)) return;
    const topicStart = recordTopicLengthAt(buf, offset) + 1;
    const topicEnd = topicStart + buf[topicStart - 1]!;
    const queueId = recordQueueId(buf, offset);
    const storeTimestampMs = recordStoreTimestampMs(buf, offset);

    const topic = this.topics.find(buf, topicStart, topicEnd);
    this.scanProperties(buf, topicEnd + 2, offset + size);
    const cq = this.queueOf(topic, queueId);
    cq.append(physicalOffset, size, this.tagHash(buf, topic.isScheduleTopic, storeTimestampMs));
    if (cq.touchedMark !== this.touchedEpoch) {
      cq.touchedMark = this.touchedEpoch;
      this.touched.push(cq);
    }
    this.indexKeys(buf, topic.prefixHash, topicEnd - topicStart, physicalOffset, storeTimestampMs);
  }

  /**
   * One pass over the properties recording where TAGS, KEYS, UNIQ_KEY and DELAY values are
   * (instead of one scan per property). Names are compared byte by byte; no allocation.
   */
  private scanProperties(buf: Buffer, start: number, end: number): void {
    this.tagsStart = this.keysStart = this.uniqStart = this.delayStart = -1;
    let pos = start;
    while (pos < end) {
      let sep = pos;
      while (sep < end && buf[sep] !== 0x01 && buf[sep] !== 0x02) sep++;
      let pairEnd = sep;
      while (pairEnd < end && buf[pairEnd] !== 0x02) pairEnd++;
      if (sep < pairEnd && buf[sep] === 0x01) {
        const nameLength = sep - pos;
        if (nameLength === 4 && sameBytes(buf, pos, TAGS)) {
          this.tagsStart = sep + 1;
          this.tagsEnd = pairEnd;
        }
        else if (nameLength === 4 && sameBytes(buf, pos, KEYS)) {
          this.keysStart = sep + 1;
          this.keysEnd = pairEnd;
        }
        else if (nameLength === 8 && sameBytes(buf, pos, UNIQ_KEY)) {
          this.uniqStart = sep + 1;
          this.uniqEnd = pairEnd;
        }
        else if (nameLength === 5 && sameBytes(buf, pos, DELAY)) {
          this.delayStart = sep + 1;
          this.delayEnd = pairEnd;
        }
      }
      pos = pairEnd + 1;
    }
  }

  /**
   * Java hashCode of TAGS (0 without tags). In the schedule topic the unit carries the delivery
   * time instead (store time + the DELAY level's delay), as RocketMQ's schedule service expects.
   */
  private tagHash(buf: Buffer, isScheduleTopic: boolean, storeTimestampMs: number): number {
    if (isScheduleTopic && this.delayStart >= 0) {
      const level = Number(buf.toString('latin1', this.delayStart, this.delayEnd));
      const levels = this.options.delayLevelsMs;
      if (Number.isInteger(level) && level >= 1) return storeTimestampMs + levels[Math.min(level, levels.length) - 1]!;
    }
    return this.tagsStart < 0 ? 0 : javaUtf8Hash(buf, this.tagsStart, this.tagsEnd);
  }

  private indexKeys(buf: Buffer, prefix: number, topicBytes: number, physicalOffset: number, storeTimestampMs: number): void {
    if (this.keysStart >= 0) {
      let v = this.keysStart;
      const valueEnd = this.keysEnd;
      // Keys are space-separated; bounded by the value length.
      while (v < valueEnd) {
        let k = v;
        while (k < valueEnd && buf[k] !== SPACE) k++;
        if (k > v) this.index.putKeyAfterPrefix(prefix, topicBytes, buf, v, k, physicalOffset, storeTimestampMs);
        v = k + 1;
      }
    }
    if (this.uniqStart >= 0) this.index.putKeyAfterPrefix(prefix, topicBytes, buf, this.uniqStart, this.uniqEnd, physicalOffset, storeTimestampMs);
  }

  private notify(): void {
    const touched = this.touched;
    if (touched.length === 0) return;
    const arrived = this.hooks.onMessageArrived;
    // Cleared first: a hook that throws must not leave stale queues for the next call.
    const queues = touched.splice(0);
    for (const cq of queues) arrived?.(cq.topic, cq.queueId, cq.maxOffset);
  }
}
