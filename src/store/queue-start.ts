// The queue start record: for every topic-queue, the queue offset of its first message at or after
// the log's first byte position. Queue offsets are assigned by counting messages from where the
// log starts (dispatcher.ts), so a store that builds its ConsumeQueues from a log whose head was
// deleted (a replica reset to the leader's start, a rebuild from scratch) must start each queue at
// the count of what was deleted, not at 0, or it numbers the same messages differently from every
// other replica (docs/storage.md: replicas hold byte-identical queues, and queue offsets stay dense). The record is computed when this node
// deletes its log head (retention) and kept in the application section of the log's start record
// (LogStart.data, raft/storage/state-files.ts), which Raft hands to a follower it resets. Each
// node computes its own from its own ConsumeQueues; they are identical on every replica, so the
// records agree at any index.
//
// Encoding: msgpack (msgpackr, as the broker's control entries) of
//   [version, [[topic, [queueId, queueOffset, queueId, queueOffset, ...]], ...]]
// with topics sorted and queue ids ascending, so replicas write the same bytes. A queue at offset
// 0 is left out. About 5-10 bytes per queue plus each topic name once: 4 MiB holds a few hundred
// thousand queues.

import { Packr } from 'msgpackr';
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

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const isInt32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= -0x80000000 && (v as number) <= 0x7fffffff;

/** Encodes a record (queues at offset 0 are left out); QueueStartTooLargeError past the bound. */
export function encodeQueueStarts(starts: QueueStarts): Uint8Array {
  let queueCount = 0;
  const topics: [string, number[]][] = [];
  for (const topic of [...starts.keys()].sort()) {
    const flat: number[] = [];
    for (const [queueId, offset] of [...starts.get(topic)!].sort((x, y) => x[0] - y[0])) {
      if (!isInt32(queueId)) throw new RangeError(`queue id ${queueId} is not an int32`);
      if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`queue offset ${offset} is not an offset`);
      if (offset > 0) flat.push(queueId, offset);
    }
    queueCount += flat.length / 2;
    if (flat.length > 0) topics.push([topic, flat]);
  }
  const bytes = packr.pack([VERSION, topics]);
  if (bytes.length > QUEUE_START_MAX_BYTES) {
    throw new QueueStartTooLargeError(`the queue start record of ${queueCount} queues needs ${bytes.length} bytes, more than ${QUEUE_START_MAX_BYTES}; the log head stays until there are fewer queues (or shorter topic names)`);
  }
  return new Uint8Array(bytes);
}

/** Decodes a record; BadQueueStartError for anything encodeQueueStarts would not write. */
export function decodeQueueStarts(bytes: Uint8Array): QueueStarts {
  const bad = (what: string): BadQueueStartError => new BadQueueStartError(`the queue start record in the log's start is damaged: ${what} (${bytes.length} bytes)`);
  let value: unknown;
  try {
    value = packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw bad(`not msgpack (${(err as Error).message.slice(0, 80)})`);
  }
  if (!Array.isArray(value) || value.length !== 2 || !Array.isArray(value[1])) throw bad('not [version, topics]');
  if (value[0] !== VERSION) throw bad(`unknown version ${String(value[0])}`);
  const starts: QueueStarts = new Map();
  let previousTopic: string | undefined;
  // Bounded by the decoded arrays.
  for (const item of value[1] as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || !Array.isArray(item[1])) throw bad('a topic entry of the wrong shape');
    const [topic, flat] = item as [string, unknown[]];
    if (topic.length === 0 || (previousTopic !== undefined && topic <= previousTopic)) throw bad('topics out of order');
    previousTopic = topic;
    if (flat.length === 0 || flat.length % 2 !== 0) throw bad(`topic ${topic} has no (queueId, offset) pairs`);
    const byId = new Map<number, number>();
    let previousId = -Infinity;
    for (let i = 0; i < flat.length; i += 2) {
      const queueId = flat[i];
      const offset = flat[i + 1];
      if (!isInt32(queueId) || queueId <= previousId || !Number.isSafeInteger(offset) || (offset as number) <= 0) throw bad('queues out of order or at offset 0');
      previousId = queueId;
      byId.set(queueId, offset as number);
    }
    starts.set(topic, byId);
  }
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
