// The dispatcher: turns committed Raft entries, strictly in index order, into ConsumeQueue units
// and IndexFile entries. Queue offsets are assigned here from each queue's own max offset, so
// they are a pure function of the committed log and every replica builds identical files.
// Control payloads (replicated broker metadata) go to a hook; NoOp entries are skipped.
// An entry is dispatched whole or not at all: its records are all validated before any is applied.

import { EntryType, type Entry, type LogStorage } from '../../raft/index.js';
import type { ConsumeQueue } from './consume-queue.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import { type IndexService, topicPrefixHash } from './index-service.js';
import { javaUtf8Hash } from './java-hash.js';
import { checkMessageRecord, isMessageRecordPayload, RecordOffset, SysFlag } from './message-record.js';
import { MessageProperty } from './message-properties.js';
import { readInt64BE } from './int64.js';
import { CorruptLogEntryError, StoreError } from './store-errors.js';

export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
/** RocketMQ's messageDelayLevel "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h". */
export const DEFAULT_DELAY_LEVELS_MS: readonly number[] = [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200].map((s) => s * 1000);

export interface DispatcherHooks {
  /** A Normal entry whose payload is not message records (broker metadata). Called in index order. */
  onControl?: (index: number, payload: Uint8Array) => void;
  /** New units in a topic-queue, once per topic-queue per dispatch call (wakes long polls). */
  onMessageArrived?: (topic: string, queueId: number, maxOffset: number) => void;
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
const TRANSACTION_TYPE_MASK = 0xc;

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
  private readonly touched = new Set<ConsumeQueue>();
  // One-entry cache of the last topic: batches and hot topics repeat, and decoding the topic
  // string for every message would allocate.
  private lastTopicBytes = Buffer.alloc(128);
  private lastTopicLength = -1;
  private lastTopic = '';
  private lastTopicPrefixHash = 0;
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
    private readonly log: LogStorage,
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
    if (this.next < this.log.firstIndex()) {
      // The head we had not dispatched was deleted or replaced (a follower reset): those
      // messages are gone for this replica. See docs/storage.md (retention seam).
      this.skippedEntryCount += this.log.firstIndex() - this.next;
      this.next = this.log.firstIndex();
    }
    const start = this.next;
    try {
      // Bounded: each turn dispatches at least one entry or stops.
      while (this.next <= last) {
        const batch = this.log.entries(this.next, last + 1, this.options.batchBytes);
        if (batch.length === 0) break;
        for (const entry of batch) this.dispatchEntry(entry);
      }
    } finally {
      this.notify();
    }
    return this.next - start;
  }

  private dispatchEntry(entry: Entry): void {
    if (entry.index !== this.next) throw new Error(`dispatcher expected entry ${this.next}, got ${entry.index}`);
    const loc = this.log.locate(entry.index);
    if (!loc) throw new Error(`entry ${entry.index} returned by the log has no location`);
    const payload = entry.payload;
    if (entry.type === EntryType.Normal && payload.length > 0) {
      if (isMessageRecordPayload(payload)) {
        const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
        this.validate(entry.index, buf);
        this.dispatchRecords(buf, loc.payloadPosition);
      } else {
        this.hooks.onControl?.(entry.index, payload);
      }
    }
    this.next = entry.index + 1;
    this.physicalOffset = loc.payloadPosition + loc.payloadBytes;
  }

  private validate(index: number, buf: Buffer): void {
    const verifyCrc = this.options.verifyCrc || index <= this.verifyCrcUpTo;
    let offset = 0;
    try {
      while (offset < buf.length) offset += checkMessageRecord(buf, offset, buf.length - offset, verifyCrc);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      throw new CorruptLogEntryError(`committed entry ${index} holds a bad message record at byte ${offset}: ${err.message}`, { cause: err });
    }
  }

  private dispatchRecords(buf: Buffer, payloadPosition: number): void {
    let offset = 0;
    while (offset < buf.length) {
      const size = buf.readInt32BE(offset + RecordOffset.TOTAL_SIZE);
      this.dispatchRecord(buf, offset, size, payloadPosition + offset);
      offset += size;
    }
  }

  private topicOf(buf: Buffer, start: number, end: number): string {
    const length = end - start;
    if (length === this.lastTopicLength && buf.compare(this.lastTopicBytes, 0, length, start, end) === 0) return this.lastTopic;
    this.lastTopic = buf.toString('utf8', start, end);
    this.lastTopicPrefixHash = topicPrefixHash(buf, start, end);
    buf.copy(this.lastTopicBytes, 0, start, end);
    this.lastTopicLength = length;
    return this.lastTopic;
  }

  private dispatchRecord(buf: Buffer, offset: number, size: number, physicalOffset: number): void {
    const bodyLength = buf.readInt32BE(offset + RecordOffset.BODY_LENGTH);
    const topicStart = offset + RecordOffset.BODY + bodyLength + 1;
    const topicEnd = topicStart + buf[topicStart - 1]!;
    const propertiesStart = topicEnd + 2;
    const propertiesEnd = offset + size;
    const topic = this.topicOf(buf, topicStart, topicEnd);
    const queueId = buf.readInt32BE(offset + RecordOffset.QUEUE_ID);
    const transactionType = buf.readInt32BE(offset + RecordOffset.SYS_FLAG) & TRANSACTION_TYPE_MASK;
    const storeTimestampMs = readInt64BE(buf, offset + RecordOffset.STORE_TIMESTAMP);

    // As in RocketMQ, prepared (half) and rolled-back messages get no queue offset; we do not
    // index them either, so every message a query finds also has a queue offset.
    if (transactionType === SysFlag.TRANSACTION_PREPARED || transactionType === SysFlag.TRANSACTION_ROLLBACK) return;
    this.scanProperties(buf, propertiesStart, propertiesEnd);
    const cq = this.queues.get(topic, queueId);
    cq.append(physicalOffset, size, this.tagHash(buf, topic, storeTimestampMs));
    this.touched.add(cq);
    this.indexKeys(buf, topicEnd - topicStart, physicalOffset, storeTimestampMs);
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
  private tagHash(buf: Buffer, topic: string, storeTimestampMs: number): number {
    if (topic === SCHEDULE_TOPIC && this.delayStart >= 0) {
      const level = Number(buf.toString('latin1', this.delayStart, this.delayEnd));
      const levels = this.options.delayLevelsMs;
      if (Number.isInteger(level) && level >= 1) return storeTimestampMs + levels[Math.min(level, levels.length) - 1]!;
    }
    return this.tagsStart < 0 ? 0 : javaUtf8Hash(buf, this.tagsStart, this.tagsEnd);
  }

  private indexKeys(buf: Buffer, topicBytes: number, physicalOffset: number, storeTimestampMs: number): void {
    const prefix = this.lastTopicPrefixHash;
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
    if (this.touched.size === 0) return;
    const arrived = this.hooks.onMessageArrived;
    for (const cq of this.touched) arrived?.(cq.topic, cq.queueId, cq.maxOffset);
    this.touched.clear();
  }
}
