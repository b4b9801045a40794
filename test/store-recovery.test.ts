// Crash and bad-input tests of the store over the in-memory log: torn log tails at random byte
// positions, stale or damaged checkpoints, the abort file, corrupt records in committed entries,
// units pointing outside the log; plus the dispatcher's hooks (control entries, wake-ups, the
// schedule topic's delivery time) and time lookups.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../raft/index.js';
import { MessageStore, GetMessageStatus } from '../src/store/message-store.js';
import { decodeMessageRecord, encodeMessageRecord, encodeMessageRecords, type MessageRecord } from '../src/common/message/message-record.js';
import { RecordOffset } from '../src/common/message/record-layout.js';
import { formatProperties } from '../src/common/message/message-properties.js';
import { DEFAULT_DELAY_LEVELS_MS } from '../src/store/dispatcher.js';
import { SCHEDULE_TOPIC } from '../src/common/system-topics.js';
import { FakeLog, message, removeDir, snapshotFiles, tempDir } from './store-helpers.js';

const OPTIONS = { unitsPerFile: 5, index: { slotCount: 13, maxEntries: 7, maxKeyBytes: 64 } };
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) removeDir(r);
});
function root(name: string): string {
  const r = tempDir(name);
  roots.push(r);
  return r;
}

function storeFiles(dir: string): Map<string, Buffer> {
  return new Map([...snapshotFiles(dir)].filter(([k]) => k.startsWith('consumequeue') || k.startsWith('index')));
}

/** Appends `entries` batches of messages to the log; returns the messages per entry. */
function fill(log: FakeLog, batches: number[], topicOf: (i: number) => string = (i) => `T${i % 2}`): MessageRecord[][] {
  const out: MessageRecord[][] = [];
  let n = 0;
  for (const count of batches) {
    const ms = Array.from({ length: count }, () => {
      n++;
      return message({ topic: topicOf(n), queueId: n % 3, storeTimestamp: 1_700_000_000_000 + n * 250, properties: formatProperties({ TAGS: n % 2 ? 'a' : 'b', KEYS: `key${n % 4} all`, UNIQ_KEY: `u${n}` }) });
    });
    log.appendPayload(encodeMessageRecords(ms));
    out.push(ms);
  }
  return out;
}

describe('store recovery', () => {
  it('after a crash that tears the log at any byte, ConsumeQueues and IndexFiles equal a rebuild from the surviving log', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 14 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('crash', 'crash-without-checkpoint', 'clean'),
        (batches, checkpointAt, cutSeed, mode) => {
          const log = new FakeLog(4096);
          fill(log, batches);
          const r = root('torn');
          let store = MessageStore.open(r, log, OPTIONS);
          // Dispatch in two steps with a checkpoint in between, so the checkpoint can be stale.
          store.dispatchUpTo(checkpointAt % (log.lastIndex() + 1));
          store.flush();
          store.dispatchUpTo(log.lastIndex());
          if (mode === 'clean') store.close();
          else {
            store.queues.close();
            store.index.close();
          }
          if (mode === 'crash-without-checkpoint') writeFileSync(join(r, 'checkpoint'), 'garbage');
          // Tear the log at a random byte: the log's own recovery keeps whole entries before it.
          const cutPosition = log.locate(1)!.position + (cutSeed % (log.endPosition() - log.locate(1)!.position));
          let keep = 0;
          while (keep < log.lastIndex() && log.locate(keep + 1)!.payloadPosition + log.locate(keep + 1)!.payloadBytes <= cutPosition) keep++;
          log.truncateSuffix(keep + 1);

          store = MessageStore.open(r, log, OPTIONS);
          expect(store.recovery.unclean).toBe(mode !== 'clean');
          if (mode === 'crash-without-checkpoint') expect(store.recovery.checkpointProblem).toBeDefined();
          expect(store.dispatchedIndex).toBeLessThanOrEqual(keep);
          store.dispatchUpTo(log.lastIndex());
          store.close();

          const scratchRoot = root('torn-scratch');
          const scratch = MessageStore.open(scratchRoot, log, OPTIONS);
          scratch.dispatchUpTo(log.lastIndex());
          scratch.close();
          expect(storeFiles(r)).toEqual(storeFiles(scratchRoot));
          removeDir(r);
          removeDir(scratchRoot);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('creates the abort file while open and removes it on a clean close', () => {
    const log = new FakeLog();
    const r = root('abort');
    const store = MessageStore.open(r, log, OPTIONS);
    expect(existsSync(join(r, 'abort'))).toBe(true);
    expect(store.recovery).toMatchObject({ unclean: false, source: 'empty', dispatchedIndex: 0 });
    store.close();
    expect(existsSync(join(r, 'abort'))).toBe(false);
    expect(existsSync(join(r, 'checkpoint'))).toBe(true);
    const again = MessageStore.open(r, log, OPTIONS);
    expect(again.recovery.source).toBe('checkpoint');
    again.close();
  });

  it('stops dispatch at a committed entry with a bad record, leaving no unit of it, and dispatches earlier entries', () => {
    const log = new FakeLog();
    fill(log, [2, 1]);
    const bad = encodeMessageRecords([message({ topic: 'T0', queueId: 0 }), message({ topic: 'T0', queueId: 0 })]);
    const second = encodeMessageRecord(message()).length;
    bad.writeInt32BE(0x11223344, bad.length - second + RecordOffset.MAGIC);
    log.appendPayload(bad);
    const r = root('corrupt');
    const store = MessageStore.open(r, log, OPTIONS);
    expect(() => store.dispatchUpTo(3)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT_LOG_ENTRY' }));
    expect(store.dispatchedIndex).toBe(2);
    const unitsBefore = [...store.queues.all()].reduce((s, q) => s + q.maxOffset, 0);
    expect(unitsBefore).toBe(3);
    expect(() => store.dispatchUpTo(3)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT_LOG_ENTRY' }));
    expect([...store.queues.all()].reduce((s, q) => s + q.maxOffset, 0)).toBe(3);
    store.close();
  });

  it('checks body CRCs of the redone range after an unclean shutdown', () => {
    const log = new FakeLog();
    fill(log, [1, 1, 1]);
    const r = root('crc');
    let store = MessageStore.open(r, log, OPTIONS);
    store.dispatchUpTo(1);
    store.flush();
    store.dispatchUpTo(3);
    store.queues.close();
    store.index.close();
    // A bit flips in the body of entry 3, past the checkpoint.
    const loc = log.locate(3)!;
    const view = log.slice(loc.payloadPosition + RecordOffset.BODY, 1);
    view[0] = view[0]! ^ 0x40;
    store = MessageStore.open(r, log, OPTIONS);
    expect(store.recovery).toMatchObject({ unclean: true, source: 'checkpoint', dispatchedIndex: 1 });
    expect(() => store.dispatchUpTo(3)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT_LOG_ENTRY' }));
    expect(store.dispatchedIndex).toBe(2);
    store.close();
  });

  it('answers OFFSET_FOUND_NULL for a unit pointing outside the log without moving past it', () => {
    const log = new FakeLog();
    fill(log, [1], () => 'T');
    const r = root('outside');
    const store = MessageStore.open(r, log, OPTIONS);
    store.dispatchUpTo(1);
    const q = store.queues.find('T', 1)!;
    q.append(10_000_000, 200, 0);
    const got = store.getMessage('T', 1, 1, 10, 1 << 20);
    expect(got).toMatchObject({ status: GetMessageStatus.OFFSET_FOUND_NULL, nextBeginOffset: 1, messages: [] });
    expect(store.lookMessageByOffset(10_000_000)).toBeUndefined();
    expect(store.lookMessageByOffset(log.locate(1)!.payloadPosition + 1)).toBeUndefined();
    expect(store.lookMessageById('nonsense')).toBeUndefined();
    store.close();
  });
});

describe('store after the log head is deleted', () => {
  it('skips removed messages, then moves min offsets and answers OFFSET_TOO_SMALL below them', () => {
    const log = new FakeLog();
    for (let i = 0; i < 10; i++) log.appendPayload(encodeMessageRecord(message({ topic: 'R', queueId: 0, storeTimestamp: 1000 + i })));
    const r = root('retention');
    const store = MessageStore.open(r, log, { ...OPTIONS, unitsPerFile: 3 });
    store.dispatchUpTo(10);
    expect(log.deleteHead(5)).toBe(5);
    // Before the min offsets move, a read from 0 skips the four removed messages.
    const skipped = store.getMessage('R', 0, 0, 2, 1 << 20);
    expect(skipped.status).toBe(GetMessageStatus.FOUND);
    expect(skipped.messages.map((b) => decodeMessageRecord(b).queueOffset)).toEqual([4, 5]);
    // One ConsumeQueue file (units 0-2) and one IndexFile (6 entries: messages 1-3, two keys each).
    const indexFilesBefore = store.index.filePaths().length;
    expect(store.deleteBelowLogStart()).toBe(2);
    expect(store.index.filePaths().length).toBe(indexFilesBefore - 1);
    expect(store.getMinOffsetInQueue('R', 0)).toBe(4);
    expect(store.queues.find('R', 0)!.filePaths().length).toBe(3);
    expect(store.getMessage('R', 0, 1, 2, 1 << 20)).toMatchObject({ status: GetMessageStatus.OFFSET_TOO_SMALL, nextBeginOffset: 4, minOffset: 4, maxOffset: 10 });
    expect(store.lookMessageByOffset(log.locate(5)!.payloadPosition)).toBeDefined();
    expect(store.getOffsetInQueueByTime('R', 0, 0)).toBe(4);
    store.close();
    const again = MessageStore.open(r, log, { ...OPTIONS, unitsPerFile: 3 });
    expect(again.getMinOffsetInQueue('R', 0)).toBe(4);
    again.close();
  });
});

describe('dispatcher hooks', () => {
  it('passes control payloads to the hook in order and wakes each touched queue once per call', () => {
    const log = new FakeLog();
    fill(log, [3]);
    log.appendPayload(Buffer.from('\x00\x00\x00\x08CTRL'));
    log.appendPayload(new Uint8Array(), EntryType.NoOp);
    fill(log, [2]);
    const controls: number[] = [];
    const woken: string[] = [];
    const r = root('hooks');
    const store = MessageStore.open(r, log, { ...OPTIONS, onControl: (i) => controls.push(i), onMessageArrived: (t, q, max) => woken.push(`${t}/${q}:${max}`) });
    expect(store.dispatchUpTo(10)).toBe(4);
    expect(controls).toEqual([2]);
    // fill() numbers messages from 1 on each call: n=1 → T1/1, n=2 → T0/2, n=3 → T1/0.
    expect(woken.sort()).toEqual(['T0/2:2', 'T1/0:1', 'T1/1:2']);
    store.close();
  });

  it('stores the delivery time as the tag hash of schedule-topic messages, and finds offsets by time', () => {
    const log = new FakeLog();
    const ms = [1, 2, 3, 18].map((level, i) => message({ topic: SCHEDULE_TOPIC, queueId: level - 1, storeTimestamp: 1_000_000 + i, properties: formatProperties({ DELAY: String(level), REAL_TOPIC: 'X' }) }));
    log.appendPayload(encodeMessageRecords(ms));
    const timed = [10, 20, 30].map((t) => message({ topic: 'Timed', storeTimestamp: t }));
    for (const m of timed) log.appendPayload(encodeMessageRecord(m));
    const r = root('schedule');
    const store = MessageStore.open(r, log, OPTIONS);
    store.dispatchUpTo(log.lastIndex());
    const unit = { physicalOffset: 0, size: 0, tagHash: 0 };
    ms.forEach((m, i) => {
      const level = [1, 2, 3, 18][i]!;
      expect(store.queues.find(SCHEDULE_TOPIC, level - 1)!.read(0, unit)).toBe(true);
      expect(unit.tagHash).toBe(m.storeTimestamp + DEFAULT_DELAY_LEVELS_MS[level - 1]!);
    });
    expect(store.getOffsetInQueueByTime('Timed', 0, 15)).toBe(1);
    expect(store.getOffsetInQueueByTime('Timed', 0, 31)).toBe(3);
    expect(store.getOffsetInQueueByTime('Nope', 0, 31)).toBe(0);
    const got = store.getMessage('Timed', 0, 0, 32, 1 << 20);
    expect(got.messages.map((b) => decodeMessageRecord(b).storeTimestamp)).toEqual([10, 20, 30]);
    expect(got.messages.map((b) => decodeMessageRecord(b).queueOffset)).toEqual([0, 1, 2]);
    store.close();
  });
});
