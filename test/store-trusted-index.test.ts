// The store's `trustedLogIndex` (a Raft log restarted after a power loss under async flush may
// hold stale entries past its durable commit): units dispatched from entries past it are dropped
// at open, so no pull is served from bytes that may be stale, and dispatch redoes them later.
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessageRecords } from '../src/common/message/message-record.js';
import { MessageStore } from '../src/store/message-store.js';
import { FakeLog, message, removeDir, tempDir } from './store-helpers.js';

const OPTIONS = { unitsPerFile: 5, index: { slotCount: 13, maxEntries: 7, maxKeyBytes: 64 } };
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) removeDir(r);
});

const units = (store: MessageStore): number => [...store.queues.all()].reduce((s, q) => s + q.maxOffset, 0);

describe('store recovery with a trusted log index', () => {
  it('drops the units of entries past the trusted index at open, and dispatches them again later', () => {
    const log = new FakeLog();
    for (let i = 0; i < 6; i++) log.appendPayload(encodeMessageRecords([message({ topic: 'T', queueId: 0 }), message({ topic: 'T', queueId: 1 })]));
    const r = tempDir('trusted');
    roots.push(r);
    const store = MessageStore.open(r, log, OPTIONS);
    store.dispatchUpTo(6);
    expect(units(store)).toBe(12);
    store.close();

    const again = MessageStore.open(r, log, { ...OPTIONS, trustedLogIndex: 4 });
    expect(again.recovery).toMatchObject({ source: 'checkpoint', dispatchedIndex: 4 });
    expect(units(again)).toBe(8);
    again.dispatchUpTo(6);
    expect(units(again)).toBe(12);
    again.close();
  });

  it('without a checkpoint redoes from no later than the trusted index either', () => {
    const log = new FakeLog();
    for (let i = 0; i < 6; i++) log.appendPayload(encodeMessageRecords([message({ topic: 'T', queueId: 0 })]));
    const r = tempDir('trusted-nocp');
    roots.push(r);
    const store = MessageStore.open(r, log, OPTIONS);
    store.dispatchUpTo(6);
    store.flush(Date.now());
    // A crash that also lost the checkpoint: recovery reads how far the ConsumeQueues got.
    removeDir(`${r}/checkpoint`);
    const again = MessageStore.open(r, log, { ...OPTIONS, trustedLogIndex: 2 });
    expect(again.recovery.source).toBe('consume-queues');
    expect(again.recovery.dispatchedIndex).toBeLessThanOrEqual(2);
    expect(units(again)).toBe(again.recovery.dispatchedIndex);
    again.close();
  });
});
