// The queue start record: for every topic-queue, the queue offset of its first message at or after
// the log's first byte position. Queue offsets are assigned by counting messages from where the
// log starts (dispatcher.ts), so a store that builds its ConsumeQueues from a log whose head was
// deleted (a replica reset to the leader's start, a rebuild from scratch) must start each queue at
// the count of what was deleted, not at 0, or it numbers the same messages differently from every
// other replica (ARCHITECTURE.md invariants 3 and 4). The record is computed when this node
// deletes its log head (retention) and kept in the application section of the log's start record
// (LogStart.data, raft/storage/state-files.ts), which Raft hands to a follower it resets. Each
// node computes its own from its own ConsumeQueues; they are identical on every replica, so the
// records agree at any index.
//
// Encoding (version 1), deterministic so replicas write the same bytes:
//   u8 version, varint topicCount, then per topic (sorted): varint topicBytes, topic (UTF-8),
//   varint queueCount, then per queue (ascending id): zigzag varint queueId, varint queueOffset.
// Varints are LEB128 over values up to 2^53. A queue at offset 0 is left out. ~10 bytes per queue
// plus each topic name once: 4 MiB holds a few hundred thousand queues.

import type { CommitLogReader } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import { BadQueueStartError, QueueStartTooLargeError } from './store-errors.js';

const VERSION = 1;
/**
 * Bound on an encoded record. It travels in Raft's Reset message and the log's meta file; Raft
 * storage refuses more than MAX_START_APP_BYTES, the same 4 MiB (test/store-queue-start.test.ts pins
 * the two together), and the store checks first so the error says what is too large.
 */
export const QUEUE_START_MAX_BYTES = 4 * 1024 * 1024;

/** topic → queueId → queue offset of the queue's first message at or after the log's start. */
export type QueueStarts = Map<string, Map<number, number>>;

class Writer {
  private buf = Buffer.alloc(1024);
  length = 0;

  constructor(private readonly queueCount: number) {}

  private room(bytes: number): void {
    const need = this.length + bytes;
    if (need > QUEUE_START_MAX_BYTES) {
      throw new QueueStartTooLargeError(`the queue start record of ${this.queueCount} queues needs more than ${QUEUE_START_MAX_BYTES} bytes; the log head stays until there are fewer queues (or shorter topic names)`);
    }
    if (need > this.buf.length) {
      const bigger = Buffer.alloc(Math.min(QUEUE_START_MAX_BYTES, Math.max(need, this.buf.length * 2)));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
  }

  varint(value: number): void {
    this.room(8);
    let v = value;
    // Bounded: a value below 2^53 takes at most 8 groups of 7 bits.
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  done(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.length));
  }
}

class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}

  private bad(what: string): BadQueueStartError {
    return new BadQueueStartError(`the queue start record in the log's start is damaged: ${what} at byte ${this.at} of ${this.buf.length}`);
  }

  u8(): number {
    if (this.at >= this.buf.length) throw this.bad('cut short');
    return this.buf[this.at++]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    // Bounded: at most 8 groups before the value would pass 2^53.
    for (let group = 0; group < 8; group++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) break;
        return value;
      }
      scale *= 0x80;
    }
    throw this.bad('a number beyond 2^53');
  }

  /** A count of items each at least `minBytes` long, checked against the bytes left. */
  count(minBytes: number): number {
    const n = this.varint();
    if (n * minBytes > this.buf.length - this.at) throw this.bad(`a count of ${n}`);
    return n;
  }

  utf8(bytes: number): string {
    if (bytes > this.buf.length - this.at) throw this.bad('cut short');
    const s = this.buf.toString('utf8', this.at, this.at + bytes);
    this.at += bytes;
    return s;
  }

  end(): void {
    if (this.at !== this.buf.length) throw this.bad('trailing bytes');
  }

  fail(what: string): BadQueueStartError {
    return this.bad(what);
  }
}

const zigzag = (id: number): number => (id >= 0 ? id * 2 : -id * 2 - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/** Encodes a record (queues at offset 0 are left out); QueueStartTooLargeError past the bound. */
export function encodeQueueStarts(starts: QueueStarts): Uint8Array {
  let queueCount = 0;
  for (const byId of starts.values()) queueCount += byId.size;
  const w = new Writer(queueCount);
  w.varint(VERSION);
  const topics = [...starts.keys()].filter((t) => [...starts.get(t)!.values()].some((o) => o > 0)).sort();
  w.varint(topics.length);
  for (const topic of topics) {
    const name = Buffer.from(topic, 'utf8');
    w.varint(name.length);
    w.bytes(name);
    const queues = [...starts.get(topic)!].filter(([, offset]) => offset > 0).sort((a, b) => a[0] - b[0]);
    w.varint(queues.length);
    for (const [queueId, offset] of queues) {
      if (!Number.isSafeInteger(queueId) || queueId < -0x80000000 || queueId > 0x7fffffff) throw new RangeError(`queue id ${queueId} is not an int32`);
      if (!Number.isSafeInteger(offset)) throw new RangeError(`queue offset ${offset} is not an integer`);
      w.varint(zigzag(queueId));
      w.varint(offset);
    }
  }
  return w.done();
}

/** Decodes a record; BadQueueStartError for anything encodeQueueStarts would not write. */
export function decodeQueueStarts(bytes: Uint8Array): QueueStarts {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const version = r.varint();
  if (version !== VERSION) throw r.fail(`unknown version ${version}`);
  const starts: QueueStarts = new Map();
  const topicCount = r.count(3);
  let previousTopic: string | undefined;
  for (let t = 0; t < topicCount; t++) {
    const topic = r.utf8(r.count(1));
    if (topic.length === 0 || (previousTopic !== undefined && topic <= previousTopic)) throw r.fail('topics out of order');
    previousTopic = topic;
    const byId = new Map<number, number>();
    const queueCount = r.count(2);
    let previousId = -Infinity;
    for (let q = 0; q < queueCount; q++) {
      const queueId = unzigzag(r.varint());
      const offset = r.varint();
      if (queueId <= previousId || queueId < -0x80000000 || queueId > 0x7fffffff || offset === 0) throw r.fail('queues out of order or at offset 0');
      previousId = queueId;
      byId.set(queueId, offset);
    }
    starts.set(topic, byId);
  }
  r.end();
  return starts;
}

/**
 * The record for a log that will start at byte `position` (entry `index`): every queue's first
 * unit at or after it, or its max offset when it has none. Everything before `index` must be
 * dispatched, or queue offsets given later would be missing from the count.
 */
export function queueStartsAt(queues: ConsumeQueueTable, first: { index: number; position: number }, dispatchedIndex: number): QueueStarts {
  if (first.index > dispatchedIndex + 1) throw new Error(`assertion: the log may start at ${first.index} only once entry ${first.index - 1} is dispatched (dispatched: ${dispatchedIndex})`);
  const starts: QueueStarts = new Map();
  for (const cq of queues.all()) {
    const offset = cq.offsetAtOrAfter(first.position);
    if (offset === 0) continue;
    let byId = starts.get(cq.topic);
    if (!byId) starts.set(cq.topic, (byId = new Map()));
    byId.set(cq.queueId, offset);
  }
  return starts;
}

/** The record the log's start carries, or undefined when it has none (a log never cut, or cut before records existed). */
export function logQueueStarts(log: CommitLogReader): QueueStarts | undefined {
  const app = log.startAppData();
  return app === undefined ? undefined : decodeQueueStarts(app);
}

/**
 * Starts every queue where the record says (0 for a queue it does not name), dropping whatever
 * units they held: for a store about to dispatch the log from its first entry, whose units all
 * point below it. Returns the number of queues whose offsets moved.
 */
export function startQueuesAt(queues: ConsumeQueueTable, starts: QueueStarts): number {
  let moved = 0;
  for (const cq of [...queues.all()]) {
    const offset = starts.get(cq.topic)?.get(cq.queueId) ?? 0;
    if (cq.minOffset === offset && cq.maxOffset === offset && !cq.hasFiles) continue;
    if (cq.maxOffset !== offset) moved++;
    cq.startAt(offset);
  }
  moved += addMissingQueues(queues, starts);
  return moved;
}

/**
 * Creates, empty at their recorded offset, the queues the record names that the store does not
 * have: a queue whose every message is below the log's start keeps no file, so after a restart
 * only the record knows where it ends. Returns how many it created.
 */
export function addMissingQueues(queues: ConsumeQueueTable, starts: QueueStarts): number {
  let added = 0;
  for (const [topic, byId] of starts) {
    for (const [queueId, offset] of byId) {
      if (queues.find(topic, queueId) !== undefined) continue;
      queues.get(topic, queueId).startAt(offset);
      added++;
    }
  }
  return added;
}
