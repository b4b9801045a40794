// Integration of the store with the real mmap Raft log: messages spread over several data
// segments are read back byte for byte with their offsets patched in, message ids resolve, a
// restart is clean, and after a crash that tears or bit-flips the last data segment the ConsumeQueues and
// IndexFiles equal a rebuild from the surviving log.
import { closeSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../raft/index.js';
import { MmapLogStorage } from '../raft/storage/index.js';
import { MessageStore, GetMessageStatus } from '../src/store/message-store.js';
import { NORMAL_ENTRY_TYPE } from '../src/store/commit-log.js';
import { decodeMessageRecord, encodeMessageRecord, encodeMessageRecords, type MessageRecord } from '../src/common/message/message-record.js';
import { formatProperties } from '../src/common/message/message-properties.js';
import { createMessageId } from '../src/common/message/message-id.js';
import { message, removeDir, snapshotFiles, tempDir } from './store-helpers.js';

const LOG_OPTIONS = { segmentBytes: 64 * 1024, indexSegmentEntries: 512 };
const OPTIONS = { unitsPerFile: 16, index: { slotCount: 31, maxEntries: 40, maxKeyBytes: 64 } };
const dirs: string[] = [];
const logs: MmapLogStorage[] = [];
afterEach(() => {
  for (const l of logs.splice(0)) {
    try {
      l.close();
    } catch {
      // already closed
    }
  }
  for (const d of dirs.splice(0)) removeDir(d);
});

function openLog(dir: string): MmapLogStorage {
  const log = MmapLogStorage.open(dir, LOG_OPTIONS);
  logs.push(log);
  return log;
}

function storeFiles(dir: string): Map<string, Buffer> {
  return new Map([...snapshotFiles(dir)].filter(([k]) => k.startsWith('consumequeue') || k.startsWith('index')));
}

/** Appends `batches` of messages (bodies up to ~1.5 KiB) and returns them in log order. */
function appendBatches(log: MmapLogStorage, batches: number[], seed: number): MessageRecord[] {
  const all: MessageRecord[] = [];
  let n = 0;
  for (const count of batches) {
    const ms = Array.from({ length: count }, () => {
      n++;
      return message({ topic: `T${n % 3}`, queueId: n % 2, body: Buffer.alloc(((n * 7919 + seed) % 1500) + 1, n & 0xff), storeTimestamp: 1_700_000_000_000 + n * 10, properties: formatProperties({ TAGS: 't', KEYS: `k${n % 5}`, UNIQ_KEY: `id-${seed}-${n}` }) });
    });
    const index = log.lastIndex() + 1;
    log.append([{ index, term: 1, type: EntryType.Normal, payload: encodeMessageRecords(ms) }]);
    all.push(...ms);
  }
  return all;
}

describe('store over the mmap Raft log', () => {
  it("the store's entry type for data is Raft's Normal entry type, and NoOp/Config are not it", () => {
    // The store reads the log through its own interface (commit-log.ts) and must not import Raft,
    // so the constant is duplicated there; this pins the two together.
    expect(NORMAL_ENTRY_TYPE).toBe(EntryType.Normal);
    expect([EntryType.NoOp, EntryType.Config]).not.toContain(NORMAL_ENTRY_TYPE);
  });

  it('reads back every message byte for byte with its offsets, across segments and a clean restart', () => {
    const dir = tempDir('mmap');
    dirs.push(dir);
    const logDir = join(dir, 'raft');
    const storeDir = join(dir, 'store');
    let log = openLog(logDir);
    const batches = Array.from({ length: 60 }, (_, i) => (i % 4) + 1);
    const sent = appendBatches(log, batches, 1);
    log.append([{ index: log.lastIndex() + 1, term: 1, type: EntryType.NoOp, payload: new Uint8Array() }]);
    expect(readdirSync(join(logDir, 'data')).length).toBeGreaterThan(1);
    let store = MessageStore.open(storeDir, log, OPTIONS);
    store.dispatchUpTo(log.lastIndex());

    const check = (s: MessageStore): void => {
      const expectedByQueue = new Map<string, Buffer[]>();
      let entry = 1;
      let at = log.locate(entry)!.payloadPosition;
      let leftInEntry = batches[0]!;
      for (const m of sent) {
        if (leftInEntry === 0) {
          entry++;
          at = log.locate(entry)!.payloadPosition;
          leftInEntry = batches[entry - 1]!;
        }
        const key = `${m.topic}/${m.queueId}`;
        const list = expectedByQueue.get(key) ?? [];
        expectedByQueue.set(key, list);
        const bytes = encodeMessageRecord({ ...m, queueOffset: list.length, physicalOffset: at });
        list.push(bytes);
        expect(s.lookMessageById(createMessageId(m.storeHost, m.storePort, at))?.equals(bytes)).toBe(true);
        at += bytes.length;
        leftInEntry--;
      }
      for (const [key, expected] of expectedByQueue) {
        const [topic, qid] = key.split('/') as [string, string];
        const got: Buffer[] = [];
        let offset = 0;
        // Bounded by the queue length: each pull returns at least one message.
        while (offset < expected.length) {
          const r = s.getMessage(topic, Number(qid), offset, 7, 4096);
          expect(r.status).toBe(GetMessageStatus.FOUND);
          expect(r.body.length).toBeLessThanOrEqual(Math.max(4096, r.messages[0]!.length));
          got.push(...r.messages);
          offset = r.nextBeginOffset;
        }
        expect(got.length).toBe(expected.length);
        got.forEach((b, i) => expect(b.equals(expected[i]!)).toBe(true));
      }
    };
    check(store);
    store.close();
    log.close();
    log = openLog(logDir);
    store = MessageStore.open(storeDir, log, OPTIONS);
    expect(store.recovery).toMatchObject({ unclean: false, source: 'checkpoint', dispatchedIndex: log.lastIndex() });
    check(store);
    store.close();
  });

  it('after a crash that tears or flips a bit in the last data segment, ConsumeQueues and IndexFiles equal a rebuild from the recovered log', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 20, maxLength: 50 }), fc.nat(), fc.nat(), fc.constantFrom('tear', 'flip'), (batches, seed, cutSeed, damage) => {
        const dir = tempDir('mmap-crash');
        dirs.push(dir);
        const logDir = join(dir, 'raft');
        let log = openLog(logDir);
        appendBatches(log, batches, seed);
        let store = MessageStore.open(join(dir, 'store'), log, OPTIONS);
        store.dispatchUpTo(Math.floor(log.lastIndex() / 2));
        store.flush();
        store.dispatchUpTo(log.lastIndex());
        store.queues.close();
        store.index.close();
        const lastBefore = log.lastIndex();
        log.close();
        // Damage the newest data segment at a random byte of its data: zero everything from
        // there on (a torn tail), or flip one bit there.
        const dataDir = join(logDir, 'data');
        const last = readdirSync(dataDir).sort().at(-1)!;
        const usedBytes = log.endPosition() - Number(last);
        const from = cutSeed % Math.max(1, usedBytes);
        const fd = openSync(join(dataDir, last), 'r+');
        const size = statSync(join(dataDir, last)).size;
        if (damage === 'tear') writeSync(fd, Buffer.alloc(size - from), 0, size - from, from);
        else {
          const byte = Buffer.alloc(1);
          readSync(fd, byte, 0, 1, from);
          byte[0] = byte[0]! ^ (1 << (cutSeed % 8));
          writeSync(fd, byte, 0, 1, from);
        }
        closeSync(fd);

        log = openLog(logDir);
        store = MessageStore.open(join(dir, 'store'), log, OPTIONS);
        expect(store.recovery.unclean).toBe(true);
        expect(log.lastIndex()).toBeLessThanOrEqual(lastBefore);
        expect(store.dispatchedIndex).toBeLessThanOrEqual(log.lastIndex());
        store.dispatchUpTo(log.lastIndex());
        // Never a corrupt or partial message: every queue reads back records whose CRC holds.
        for (const cq of store.queues.all()) {
          const r = store.getMessage(cq.topic, cq.queueId, 0, 1024, 1 << 24);
          expect(r.messages.length).toBe(cq.maxOffset);
          for (const b of r.messages) decodeMessageRecord(b, 0, { verifyCrc: true });
        }
        store.close();
        const scratch = MessageStore.open(join(dir, 'scratch'), log, OPTIONS);
        scratch.dispatchUpTo(log.lastIndex());
        scratch.close();
        expect(storeFiles(join(dir, 'store'))).toEqual(storeFiles(join(dir, 'scratch')));
        log.close();
        removeDir(dir);
      }),
      { numRuns: 20 },
    );
  });
});
