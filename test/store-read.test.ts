// The read path returns exactly what the codec would encode: for any messages, encode with
// placeholder offsets → append to the log → dispatch → getMessage / lookMessageById give the bytes
// of encodeMessageRecord with the real queue and physical offsets.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageStore } from '../src/store/message-store.js';
import { encodeMessageRecord, encodeMessageRecords } from '../src/common/message/message-record.js';
import { createMessageId } from '../src/common/message/message-id.js';
import { arbitraryMessage, FakeLog, removeDir, tempDir } from './store-helpers.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) removeDir(r);
});

// Committed (type 8) or plain messages; prepared/rolled-back ones get no queue offset.
const dispatchable = arbitraryMessage.map((m) => ({ ...m, sysFlag: m.sysFlag & ~0x4, storeTimestamp: Math.abs(m.storeTimestamp) % 2 ** 42 }));

describe('store read path', () => {
  it('returns for any message the bytes encodeMessageRecord gives with its queue and physical offsets', () => {
    fc.assert(
      fc.property(fc.array(fc.array(dispatchable, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }), (entries) => {
        const root = tempDir('read');
        roots.push(root);
        const log = new FakeLog(8192);
        const expected = new Map<string, Buffer[]>();
        const placed: { id: string; bytes: Buffer }[] = [];
        for (const ms of entries) {
          const index = log.appendPayload(encodeMessageRecords(ms.map((m) => ({ ...m, queueOffset: 0, physicalOffset: -1 }))));
          let at = log.locate(index)!.payloadPosition;
          for (const m of ms) {
            const key = JSON.stringify([m.topic, m.queueId]);
            const list = expected.get(key) ?? [];
            expected.set(key, list);
            const bytes = encodeMessageRecord({ ...m, queueOffset: list.length, physicalOffset: at });
            list.push(bytes);
            placed.push({ id: createMessageId(m.storeHost, m.storePort, at), bytes });
            at += bytes.length;
          }
        }
        const store = MessageStore.open(root, log, { unitsPerFile: 3, index: { slotCount: 5, maxEntries: 4, maxKeyBytes: 256 } });
        try {
          store.dispatchUpTo(log.lastIndex());
          for (const [key, list] of expected) {
            const [topic, queueId] = JSON.parse(key) as [string, number];
            const got = store.getMessage(topic, queueId, 0, 100, 1 << 20);
            expect(got.messages.map((b) => b.toString('hex'))).toEqual(list.map((b) => b.toString('hex')));
          }
          for (const p of placed) expect(store.lookMessageById(p.id)?.toString('hex')).toBe(p.bytes.toString('hex'));
        } finally {
          store.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
