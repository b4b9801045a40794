// The queue start record (src/store/queue-start.ts): its codec, its bound, and what it is for.
// Over the real mmap Raft log with small segments, retention deletes the log head; a store
// rebuilt from scratch over that log, and a store on a second log that had dispatched part of the
// deleted head and was then reset to the first log's start (as Raft's Reset does), must number
// every queue as the store that dispatched everything did: byte-identical ConsumeQueue files,
// equal min and max offsets, the same message at the same queue offset, after restarts too.
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType, MAX_START_APP_BYTES } from '../raft/index.js';
import { MmapLogStorage } from '../raft/storage/index.js';
import { MessageStore, GetMessageStatus } from '../src/store/message-store.js';
import { decodeQueueStarts, encodeQueueStarts, QUEUE_START_MAX_BYTES, type QueueStarts } from '../src/store/queue-start.js';
import { BadQueueStartError, QueueStartTooLargeError } from '../src/store/store-errors.js';
import { encodeMessageRecords, type MessageRecord } from '../src/common/message/message-record.js';
import { formatProperties } from '../src/common/message/message-properties.js';
import { CleanService } from '../src/store/retention/index.js';
import { message, removeDir, snapshotFiles, tempDir } from './store-helpers.js';

const LOG_OPTIONS = { segmentBytes: 64 * 1024, indexSegmentEntries: 512 };
/** 20 units per ConsumeQueue file: queues start mid-file, and some end on a file boundary. */
const STORE_OPTIONS = { unitsPerFile: 20, index: { slotCount: 31, maxEntries: 40, maxKeyBytes: 64 } };

const opened: { close(): void }[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const o of opened.splice(0).reverse()) o.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

function openLog(path: string): MmapLogStorage {
  const log = MmapLogStorage.open(path, LOG_OPTIONS);
  opened.push(log);
  return log;
}

function openStore(path: string, log: MmapLogStorage): MessageStore {
  const store = MessageStore.open(path, log, STORE_OPTIONS);
  opened.push(store);
  return store;
}

/**
 * Entry `index`'s messages: queue Gone/0 only in the first 60 entries (retention leaves it none),
 * T/0..2 and T/1000 throughout, T/-3 every 7th entry, Late/0 only from entry 240 on.
 */
function messagesOf(index: number): MessageRecord[] {
  const at = (topic: string, queueId: number) =>
    message({ topic, queueId, body: Buffer.alloc(600, index & 0xff), storeTimestamp: 1_700_000_000_000 + index * 1000, properties: formatProperties({ TAGS: 't', KEYS: `k${index}` }) });
  const out = [at('T', index % 3)];
  if (index <= 60) out.push(at('Gone', 0));
  if (index % 5 === 0) out.push(at('T', 1000));
  if (index % 7 === 0) out.push(at('T', -3));
  if (index >= 240) out.push(at('Late', 0));
  return out;
}

function append(logs: MmapLogStorage[], from: number, to: number): void {
  for (let index = from; index <= to; index++) {
    const payload = encodeMessageRecords(messagesOf(index));
    for (const log of logs) log.append([{ index, term: 1, type: EntryType.Normal, payload }]);
  }
}

/** Every queue's min and max offsets and the bytes of the message at its min offset. */
function queueState(store: MessageStore): Record<string, [number, number, string]> {
  const out: Record<string, [number, number, string]> = {};
  for (const cq of store.queues.all()) {
    const r = store.getMessage(cq.topic, cq.queueId, cq.minOffset, 1, 1 << 20);
    out[`${cq.topic}@${cq.queueId}`] = [cq.minOffset, cq.maxOffset, r.status === GetMessageStatus.FOUND ? r.body.toString('hex') : r.status];
  }
  return out;
}

function consumeQueueFiles(root: string): Map<string, Buffer> {
  return new Map([...snapshotFiles(root)].filter(([k]) => k.startsWith('consumequeue')));
}

function expectSameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [k, v] of a) expect(v.equals(b.get(k)!), k).toBe(true);
}

describe('the queue start record', () => {
  it('round-trips any per-queue offsets, with the same bytes whatever the insertion order, and leaves out queues at 0', () => {
    const arbStarts = fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.nat({ max: Number.MAX_SAFE_INTEGER })), { maxLength: 40 });
    fc.assert(
      fc.property(arbStarts, (entries) => {
        const starts: QueueStarts = new Map();
        for (const [topic, queueId, offset] of entries) {
          if (!starts.has(topic)) starts.set(topic, new Map());
          starts.get(topic)!.set(queueId, offset);
        }
        const reversed: QueueStarts = new Map([...starts].reverse().map(([t, byId]) => [t, new Map([...byId].reverse())]));
        const bytes = encodeQueueStarts(starts);
        expect(Buffer.from(encodeQueueStarts(reversed)).equals(Buffer.from(bytes))).toBe(true);
        const expected = new Map([...starts].map(([t, byId]) => [t, new Map([...byId].filter(([, o]) => o > 0))] as const).filter(([, byId]) => byId.size > 0));
        expect(decodeQueueStarts(bytes)).toEqual(expected);
        // Any cut or extension of the bytes is refused with the typed error, never misread.
        for (const damaged of [bytes.subarray(0, bytes.length - 1), Buffer.concat([bytes, Buffer.from([0])])]) {
          if (damaged.length === 0) continue;
          expect(() => decodeQueueStarts(damaged)).toThrow(BadQueueStartError);
        }
      }),
    );
    expect(() => decodeQueueStarts(new Uint8Array([2, 0]))).toThrow(expect.objectContaining({ code: 'ERR_STORE_BAD_QUEUE_START' }));
  });

  it('stays within the bound Raft storage takes, and refuses a record past it with a typed error', () => {
    expect(QUEUE_START_MAX_BYTES).toBe(MAX_START_APP_BYTES);
    // 40,000 queues with 120-byte topic names: about 5 MiB encoded.
    const starts: QueueStarts = new Map();
    for (let t = 0; t < 40_000; t++) starts.set(`${'t'.repeat(114)}${String(t).padStart(6, '0')}`, new Map([[0, 1_000_000 + t]]));
    expect(() => encodeQueueStarts(starts)).toThrow(QueueStartTooLargeError);
    for (let t = 10_000; t < 40_000; t++) starts.delete(`${'t'.repeat(114)}${String(t).padStart(6, '0')}`);
    expect(encodeQueueStarts(starts).length).toBeLessThan(QUEUE_START_MAX_BYTES);
  });

  it('lets a store rebuilt from scratch, and one reset past the deleted head, number every queue as the store that dispatched everything', () => {
    const leaderLog = openLog(join(dir('leader'), 'log'));
    const leaderRoot = dir('leader-store');
    const leader = openStore(leaderRoot, leaderLog);
    // The follower holds the first 80 entries and dispatched 50 of them before it stopped.
    const followerDir = dir('follower');
    const followerLog = openLog(join(followerDir, 'log'));
    const follower = openStore(join(followerDir, 'store'), followerLog);
    append([leaderLog, followerLog], 1, 80);
    follower.dispatchUpTo(50);
    append([leaderLog], 81, 300);
    leader.dispatchUpTo(300);

    const report = new CleanService({ log: leaderLog, store: leader, diskUsage: () => ({ usedRatio: 0.5, totalBytes: 1e9, availableBytes: 5e8 }) }).deleteOldestSegments(3);
    expect(report.deletedSegments).toBe(3);
    const first = leaderLog.firstIndex();
    expect(first).toBeGreaterThan(80);
    const starts = decodeQueueStarts(leaderLog.startAppData()!);
    // Gone/0 has no message left: the record is all that says where it ends; Late/0 starts at 0.
    expect(starts.get('Gone')?.get(0)).toBe(60);
    expect(leader.queues.find('Gone', 0)!.filePaths()).toEqual([]);
    expect(starts.get('Late')).toBeUndefined();
    for (const cq of leader.queues.all()) expect(starts.get(cq.topic)?.get(cq.queueId) ?? 0, `${cq.topic}@${cq.queueId}`).toBe(cq.minOffset);
    const expected = queueState(leader);
    expect(expected['T@0']![0]).toBeGreaterThan(0);
    expect(expected['Gone@0']).toEqual([60, 60, GetMessageStatus.OFFSET_OVERFLOW_ONE]);
    leader.flush();

    // (a) Rebuilt from scratch over the same log.
    const scratchRoot = dir('scratch');
    const scratch = openStore(scratchRoot, leaderLog);
    expect(scratch.recovery).toMatchObject({ source: 'empty', queuesStartedAtLogStart: true, logStartQueues: [...starts.values()].reduce((n, m) => n + m.size, 0) });
    scratch.dispatchUpTo(300);
    expect(queueState(scratch)).toEqual(expected);
    scratch.flush();
    expectSameFiles(consumeQueueFiles(leaderRoot), consumeQueueFiles(scratchRoot));

    // (b) The follower is reset to the leader's start and given the retained entries.
    followerLog.reset(leaderLog.logStart());
    expect(follower.jumpToLogStart()).toBe(first - 1 - 50);
    expect(follower.getMaxOffsetInQueue('T', 0)).toBe(expected['T@0']![0]);
    for (const e of leaderLog.entries(first, 301, 1 << 30)) followerLog.append([e]);
    follower.dispatchUpTo(300);
    expect(queueState(follower)).toEqual(expected);
    follower.flush();
    expectSameFiles(consumeQueueFiles(leaderRoot), consumeQueueFiles(join(followerDir, 'store')));

    // Both go on identically, across a restart of the follower: Gone/0 continues at 60.
    follower.close();
    followerLog.close();
    const followerLogAgain = openLog(join(followerDir, 'log'));
    const followerAgain = openStore(join(followerDir, 'store'), followerLogAgain);
    expect(queueState(followerAgain)).toEqual(expected);
    append([leaderLog, followerLogAgain], 301, 310);
    const extra = encodeMessageRecords([message({ topic: 'Gone', queueId: 0 })]);
    for (const log of [leaderLog, followerLogAgain]) log.append([{ index: 311, term: 1, type: EntryType.Normal, payload: extra }]);
    leader.dispatchUpTo(311);
    followerAgain.dispatchUpTo(311);
    expect(leader.getMaxOffsetInQueue('Gone', 0)).toBe(61);
    expect(queueState(followerAgain)).toEqual(queueState(leader));
    leader.flush();
    followerAgain.flush();
    expectSameFiles(consumeQueueFiles(leaderRoot), consumeQueueFiles(join(followerDir, 'store')));
  });

  it('leaves the log head in place, with a typed error, when the record cannot be made', () => {
    const log = openLog(join(dir('big'), 'log'));
    const store = openStore(dir('big-store'), log);
    append([log], 1, 200);
    store.dispatchUpTo(200);
    store.queueStartRecord = () => {
      throw new QueueStartTooLargeError('too many queues');
    };
    const clean = new CleanService({ log, store, diskUsage: () => ({ usedRatio: 0.5, totalBytes: 1e9, availableBytes: 5e8 }) });
    expect(() => clean.deleteOldestSegments(2)).toThrow(expect.objectContaining({ code: 'ERR_STORE_QUEUE_START_TOO_LARGE' }));
    expect(log.firstIndex()).toBe(1);
    expect(log.startAppData()).toBeUndefined();
    expect(store.getMinOffsetInQueue('T', 0)).toBe(0);
  });
});
