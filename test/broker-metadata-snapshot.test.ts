// Unit tests of metadata snapshots: the metadata-snapshot control entry (codec, validation,
// splitting into bounded parts), the state machine's rule (complete replicas only record a
// snapshot, a replica reset past entries it never applied installs one and re-applies what
// follows its asOfIndex), the incomplete marker across save and load, the retention bound, and
// when the leader's scheduler finds a snapshot due.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeControlEntry, encodeControlEntry, type ControlCommand, type MetadataSnapshotPart, type MetadataTables } from '../src/broker/control-entry.js';
import { MetadataState } from '../src/broker/metadata-state.js';
import { collectSnapshotParts, encodeSnapshotParts, mergeSnapshotParts, metadataRetainIndex, MetadataSnapshotTooLargeError, type ControlLog } from '../src/broker/metadata-snapshot.js';
import { SnapshotScheduler } from '../src/broker/snapshot-scheduler.js';
import type { BrokerContext } from '../src/broker/broker-context.js';
import { noLeader } from '../src/broker/broker-errors.js';
import { queryConsumerOffsetProcessor } from '../src/broker/processors/query-consumer-offset.js';
import { makeRequest, RequestCode, ResponseCode, type RemotingChannel, type RemotingCommand } from '../src/protocol/index.js';
import { silent } from './broker-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const name = fc.stringMatching(/^[A-Za-z0-9_%-]{1,20}$/);
const topicConfig = fc.record({ topicName: name, readQueueNums: fc.nat(64), writeQueueNums: fc.nat(64), perm: fc.nat(7), topicSysFlag: fc.nat() });
const groupConfig = fc.record({ groupName: name, consumeEnable: fc.boolean(), retryQueueNums: fc.nat(4), retryMaxTimes: fc.nat(16) });
const announcement = fc.record({ nodeId: name, term: fc.nat(), brokerAddr: fc.constant('127.0.0.1:10911') });
const tables: fc.Arbitrary<MetadataTables> = fc.record({
  topics: fc.array(topicConfig, { maxLength: 8 }),
  groups: fc.array(groupConfig, { maxLength: 8 }),
  offsets: fc.array(fc.tuple(name, fc.tuple(name, fc.nat(64)).map(([t, q]) => `${t}@${q}`), fc.maxSafeNat()), { maxLength: 60 }),
  delayOffsets: fc.array(fc.tuple(fc.integer({ min: 1, max: 18 }), fc.maxSafeNat()), { maxLength: 18 }),
  leader: fc.option(announcement, { nil: null }),
  brokerAddrs: fc.array(fc.tuple(name, fc.constant('127.0.0.1:10911')), { maxLength: 3 }),
  acl: fc.uniqueArray(fc.record({ accessKey: name, account: fc.option(fc.record({ accessKey: name, secretKey: name, defaultTopicPerm: fc.constantFrom('PUB', 'SUB', 'DENY') }), { nil: null }) }), { maxLength: 4, selector: (o) => o.accessKey }),
});
/** Every command but a snapshot, over few names so later commands change earlier state. */
const few = fc.constantFrom('A', 'B', 'C');
const command: fc.Arbitrary<Exclude<ControlCommand, MetadataSnapshotPart>> = fc.oneof(
  fc.record({ kind: fc.constant('topic-upsert' as const), config: fc.record({ topicName: few, readQueueNums: fc.nat(8), writeQueueNums: fc.nat(8), perm: fc.nat(7), topicSysFlag: fc.constant(0) }) }),
  fc.record({ kind: fc.constant('topic-delete' as const), topic: few }),
  fc.record({ kind: fc.constant('group-upsert' as const), config: fc.record({ groupName: few, consumeEnable: fc.boolean(), retryQueueNums: fc.constant(1), retryMaxTimes: fc.nat(16) }) }),
  fc.record({ kind: fc.constant('group-delete' as const), group: few }),
  fc.record({ kind: fc.constant('consumer-offsets' as const), offsets: fc.array(fc.record({ group: few, topic: few, queueId: fc.nat(3), offset: fc.nat(1000) }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('delay-offsets' as const), offsets: fc.array(fc.record({ level: fc.integer({ min: 1, max: 3 }), offset: fc.nat(1000) }), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('leader' as const), announcement: fc.record({ nodeId: few, term: fc.nat(5), brokerAddr: fc.constant('127.0.0.1:1') }) }),
  fc.record({ kind: fc.constant('acl-account-upsert' as const), account: fc.record({ accessKey: few, secretKey: few, defaultTopicPerm: fc.constantFrom('PUB', 'SUB') }) }),
  fc.record({ kind: fc.constant('acl-account-delete' as const), accessKey: few }),
);

type LogEntry = { index: number; command: ControlCommand };

/** A log of control entries whose head before `firstIndex` is gone. */
function fakeLog(entries: readonly LogEntry[], firstIndex = 1): ControlLog {
  const last = entries.length > 0 ? entries[entries.length - 1]!.index : 0;
  return {
    controlEntries: (from, to) => (from < firstIndex || to - 1 > last ? undefined : entries.filter((e) => e.index >= from && e.index < to)),
  };
}

function parts(t: MetadataTables, asOfIndex: number, maxEntryBytes = 256 * 1024): MetadataSnapshotPart[] {
  return encodeSnapshotParts(t, asOfIndex, { maxEntryBytes, maxParts: 1000 }).map((e) => decodeControlEntry(e) as MetadataSnapshotPart);
}

/** Tables with every list sorted, so two states built in different orders compare equal. */
function normalized(t: MetadataTables): MetadataTables {
  const by = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return {
    topics: [...t.topics].sort(by((x) => x.topicName)),
    groups: [...t.groups].sort(by((x) => x.groupName)),
    offsets: [...t.offsets].sort(by((x) => `${x[0]}\u0000${x[1]}`)),
    delayOffsets: [...t.delayOffsets].sort((a, b) => a[0] - b[0]),
    leader: t.leader,
    brokerAddrs: [...t.brokerAddrs].sort(by((x) => x[0])),
    acl: [...(t.acl ?? [])].sort(by((x) => x.accessKey)),
  };
}

/** Applies a log entry as BrokerRaft does: snapshot parts through applySnapshotPart. */
function applyEntry(m: MetadataState, e: LogEntry, log: ControlLog): void {
  if (e.command.kind === 'metadata-snapshot') m.applySnapshotPart(e.index, e.command, log);
  else m.apply(e.index, e.command);
}

describe('metadata-snapshot control entries', () => {
  it('decode to exactly what was encoded', () => {
    fc.assert(fc.property(tables, fc.maxSafeNat(), fc.integer({ min: 1, max: 50 }), fc.nat(49), (t, asOfIndex, count, at) => {
      const c: ControlCommand = { kind: 'metadata-snapshot', asOfIndex, part: at % count, parts: count, tables: t };
      expect(decodeControlEntry(encodeControlEntry(c))).toEqual(c);
    }));
  });

  it('refuse a malformed snapshot with a typed error naming what is wrong', () => {
    const good: MetadataSnapshotPart = { kind: 'metadata-snapshot', asOfIndex: 5, part: 0, parts: 1, tables: { topics: [], groups: [], offsets: [], delayOffsets: [], leader: null, brokerAddrs: [] } };
    const bad = (patch: Record<string, unknown>) => () => decodeControlEntry(encodeControlEntry({ ...good, ...patch } as ControlCommand));
    expect(bad({ part: 1 })).toThrow(expect.objectContaining({ code: 'ERR_BROKER_BAD_CONTROL_ENTRY', message: expect.stringMatching(/part 1/) }));
    expect(bad({ asOfIndex: -1 })).toThrow(/asOfIndex/);
    expect(bad({ tables: { ...good.tables, offsets: [['G', 'T@0']] } })).toThrow(/tables.offsets/);
    expect(bad({ tables: { ...good.tables, topics: undefined } })).toThrow(/tables.topics/);
    expect(decodeControlEntry(encodeControlEntry(good))).toEqual(good);
  });

  it('split into parts no larger than the bound whose union is the whole tables', () => {
    fc.assert(fc.property(tables, fc.integer({ min: 700, max: 4000 }), (t, maxEntryBytes) => {
      const encoded = encodeSnapshotParts(t, 9, { maxEntryBytes, maxParts: 10_000 });
      for (const e of encoded) expect(e.length).toBeLessThanOrEqual(maxEntryBytes);
      const decoded = encoded.map((e) => decodeControlEntry(e) as MetadataSnapshotPart);
      decoded.forEach((p, i) => expect(p).toMatchObject({ asOfIndex: 9, part: i, parts: encoded.length }));
      expect(mergeSnapshotParts(decoded)).toEqual(t);
    }), { numRuns: 60 });
  });

  it('carry twenty thousand consumer offsets in a few parts of 256 KiB, and refuse more parts than allowed', () => {
    const t: MetadataTables = { topics: [], groups: [], offsets: [], delayOffsets: [], leader: null, brokerAddrs: [] };
    for (let i = 0; i < 20_000; i++) t.offsets.push([`group-${i % 50}`, `topic-with-a-longer-name-${i % 400}@${i % 16}`, 1_000_000 + i]);
    const encoded = encodeSnapshotParts(t, 77, { maxEntryBytes: 256 * 1024, maxParts: 64 });
    expect(encoded.length).toBeGreaterThan(1);
    expect(Math.max(...encoded.map((e) => e.length))).toBeLessThanOrEqual(256 * 1024);
    expect(mergeSnapshotParts(encoded.map((e) => decodeControlEntry(e) as MetadataSnapshotPart)).offsets).toEqual(t.offsets);
    expect(() => encodeSnapshotParts(t, 77, { maxEntryBytes: 256 * 1024, maxParts: 2 })).toThrow(MetadataSnapshotTooLargeError);
    expect(() => encodeSnapshotParts(t, 77, { maxEntryBytes: 256 * 1024, maxParts: 2 })).toThrow(expect.objectContaining({ code: 'ERR_BROKER_METADATA_SNAPSHOT_TOO_LARGE' }));
  });

  it('are read back whole from the log, and a sequence cut short or mixed is named', () => {
    const t: MetadataTables = { topics: [], groups: [], offsets: Array.from({ length: 40 }, (_, i) => ['G', `T@${i}`, i] as [string, string, number]), delayOffsets: [], leader: null, brokerAddrs: [] };
    const p = parts(t, 10, 700);
    expect(p.length).toBeGreaterThan(2);
    const at = (first: number): LogEntry[] => p.map((command, i) => ({ index: first + i, command }));
    const last = p[p.length - 1]!;
    const lastIndex = 20 + p.length - 1;
    expect(collectSnapshotParts(last, lastIndex, fakeLog(at(20)))).toEqual(p);
    expect(collectSnapshotParts(last, lastIndex, fakeLog(at(20), 21))).toMatch(/no longer in the log/);
    const mixed = at(20);
    mixed[1] = { index: 21, command: { kind: 'topic-delete', topic: 'X' } };
    expect(collectSnapshotParts(last, lastIndex, fakeLog(mixed))).toMatch(/not part 1|not \d+ parts/);
  });
});

describe('the metadata state and snapshot entries', () => {
  const offsets = (offset: number): ControlCommand => ({ kind: 'consumer-offsets', offsets: [{ group: 'G', topic: 'T', queueId: 0, offset }] });
  const snapshotOf = (m: MetadataState, asOfIndex: number): MetadataSnapshotPart => parts(m.toTables(), asOfIndex)[0]!;

  it('records a snapshot on a complete replica without touching its tables', () => {
    const m = new MetadataState();
    m.apply(1, offsets(5));
    const other = new MetadataState();
    other.apply(1, offsets(999));
    expect(m.applySnapshotPart(3, snapshotOf(other, 2), fakeLog([]))).toBe('recorded');
    expect(m.consumerOffset('G', 'T', 0)).toBe(5);
    expect(m.latestSnapshot).toEqual({ index: 3, asOfIndex: 2 });
    expect(m.appliedIndex).toBe(3);
  });

  it('installs a snapshot on a reset replica and re-applies the control entries between its asOfIndex and itself', () => {
    const leader = new MetadataState();
    leader.apply(2, { kind: 'topic-upsert', config: { topicName: 'T', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 } });
    leader.apply(5, offsets(7));
    const snap = snapshotOf(leader, 12);
    const log: LogEntry[] = [
      { index: 13, command: offsets(8) },
      { index: 14, command: { kind: 'topic-upsert', config: { topicName: 'U', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicSysFlag: 0 } } },
      { index: 15, command: snap },
    ];
    const replica = new MetadataState();
    replica.apply(1, { kind: 'topic-upsert', config: { topicName: 'Stale', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicSysFlag: 0 } });
    const heard: string[] = [];
    replica.onApplied((index, c) => heard.push(`${index}:${c.kind}`));
    expect(replica.markIncomplete(10)).toBe(true);
    expect(replica.complete).toBe(false);
    // Entries after the reset are applied to the incomplete tables as they come.
    replica.apply(13, offsets(8));
    replica.apply(14, (log[1]!.command));
    expect(replica.applySnapshotPart(15, snap, fakeLog(log, 11))).toBe('installed');
    expect(replica.complete).toBe(true);
    expect(replica.topic('Stale')).toBeUndefined();
    expect(replica.topic('T')?.writeQueueNums).toBe(4);
    expect(replica.topic('U')).toBeDefined();
    expect(replica.consumerOffset('G', 'T', 0)).toBe(8);
    expect(replica.latestSnapshot).toEqual({ index: 15, asOfIndex: 12 });
    expect(heard).toEqual(['13:consumer-offsets', '14:topic-upsert', '15:metadata-snapshot']);
  });

  it('keeps waiting when the snapshot predates the reset or the entries after it are not in the local log', () => {
    const replica = new MetadataState();
    replica.markIncomplete(10);
    const old = snapshotOf(new MetadataState(), 8);
    expect(replica.applySnapshotPart(11, old, fakeLog([]))).toBe('unusable');
    expect(replica.snapshotProblem).toMatch(/before 10/);
    const later = snapshotOf(new MetadataState(), 10);
    expect(replica.applySnapshotPart(13, later, fakeLog([{ index: 12, command: offsets(1) }], 12))).toBe('unusable');
    expect(replica.complete).toBe(false);
    expect(replica.latestSnapshot).toBeUndefined();
    expect(replica.applySnapshotPart(13, later, fakeLog([]))).toBe('stale');
  });

  it('skips a snapshot whose parts are not whole in the log', () => {
    const big = new MetadataState();
    big.apply(1, { kind: 'consumer-offsets', offsets: Array.from({ length: 40 }, (_, q) => ({ group: 'G', topic: 'T', queueId: q, offset: q })) });
    const p = parts(big.toTables(), 4, 700);
    const replica = new MetadataState();
    replica.markIncomplete(3);
    const log: LogEntry[] = p.map((command, i) => ({ index: 10 + i, command }));
    log[0] = { index: 10, command: offsets(1) };
    for (const e of log.slice(0, -1)) applyEntry(replica, e, fakeLog(log));
    const last = log[log.length - 1]!;
    expect(replica.applySnapshotPart(last.index, last.command as MetadataSnapshotPart, fakeLog(log))).toBe('broken');
    expect(replica.complete).toBe(false);
  });

  it('ends with the tables of a replica that applied every entry, whatever prefix a reset replica had and wherever the snapshot is as of', () => {
    fc.assert(fc.property(
      fc.array(command, { minLength: 2, maxLength: 40 }), fc.array(command, { maxLength: 10 }), fc.nat(), fc.nat(), fc.nat(),
      fc.integer({ min: 500, max: 3000 }),
      (before, after, r0, a0, p0, maxEntryBytes) => {
        const n = before.length;
        const resetAt = 1 + (r0 % n);
        const asOfIndex = resetAt + (a0 % (n - resetAt + 1));
        const kept = p0 % resetAt;
        const asOf = new MetadataState();
        before.slice(0, asOfIndex).forEach((c, i) => asOf.apply(i + 1, c));
        const log: LogEntry[] = before.map((c, i) => ({ index: i + 1, command: c }));
        for (const part of parts(asOf.toTables(), asOfIndex, maxEntryBytes)) log.push({ index: log.length + 1, command: part });
        for (const c of after) log.push({ index: log.length + 1, command: c });

        const full = new MetadataState();
        for (const e of log) applyEntry(full, e, fakeLog(log));
        const reset = new MetadataState();
        for (const e of log.slice(0, kept)) applyEntry(reset, e, fakeLog(log));
        reset.markIncomplete(resetAt);
        // The reset replica's log starts after the reset point: nothing before it can be read.
        const resetLog = fakeLog(log.slice(resetAt), resetAt + 1);
        for (const e of log.slice(resetAt)) applyEntry(reset, e, resetLog);

        expect(reset.complete).toBe(true);
        expect(full.complete).toBe(true);
        expect(normalized(reset.toTables())).toEqual(normalized(full.toTables()));
        expect(reset.latestSnapshot).toEqual(full.latestSnapshot);
      },
    ), { numRuns: 200 });
  });

  it('keeps the incomplete marker and the latest snapshot across save and load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'broker-meta-snap-'));
    dirs.push(dir);
    const file = join(dir, 'metadata.json');
    const m = new MetadataState();
    m.apply(1, offsets(3));
    m.applySnapshotPart(3, snapshotOf(m, 1), fakeLog([]));
    m.save(file);
    expect(MetadataState.load(file).latestSnapshot).toEqual({ index: 3, asOfIndex: 1 });
    expect(MetadataState.load(file).complete).toBe(true);
    expect(m.markIncomplete(20)).toBe(true);
    expect(m.dirty).toBe(true);
    m.save(file);
    const loaded = MetadataState.load(file);
    expect(loaded.complete).toBe(false);
    expect(loaded.incompleteThrough).toBe(20);
    expect(loaded.appliedIndex).toBe(20);
    expect(loaded.latestSnapshot).toBeUndefined();
    expect(loaded.consumerOffset('G', 'T', 0)).toBe(3);
  });

  it('reads a metadata.json written before snapshots existed as complete, with no snapshot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'broker-meta-snap-'));
    dirs.push(dir);
    const m = MetadataState.fromSnapshot({ version: 1, appliedIndex: 4, topics: [], groups: [], offsets: [['G', 'T@0', 2]], delayOffsets: [], leader: null, brokerAddrs: [] });
    expect(m.complete).toBe(true);
    expect(m.latestSnapshot).toBeUndefined();
    expect(m.consumerOffset('G', 'T', 0)).toBe(2);
  });

  it('only marks itself incomplete for a log head past what it applied', () => {
    const m = new MetadataState();
    m.apply(7, offsets(1));
    expect(m.markIncomplete(7)).toBe(false);
    expect(m.markIncomplete(3)).toBe(false);
    expect(m.complete).toBe(true);
  });
});

describe('the retention bound of metadata snapshots', () => {
  it('keeps everything without a snapshot or with incomplete metadata, and what follows asOfIndex otherwise', () => {
    expect(metadataRetainIndex({ complete: true, latestSnapshot: undefined }, 1)).toBe(1);
    expect(metadataRetainIndex({ complete: true, latestSnapshot: undefined }, 40)).toBe(40);
    expect(metadataRetainIndex({ complete: false, latestSnapshot: { index: 90, asOfIndex: 80 } }, 40)).toBe(40);
    expect(metadataRetainIndex({ complete: true, latestSnapshot: { index: 90, asOfIndex: 80 } }, 40)).toBe(81);
  });
});

describe('the snapshot scheduler', () => {
  function scheduler(o: { first?: number; last?: number; bytesPerEntry?: number; latest?: { index: number; asOfIndex: number } } = {}) {
    const log = { first: o.first ?? 1, last: o.last ?? 100 };
    const bytes = o.bytesPerEntry ?? 100;
    const metadata = new MetadataState();
    if (o.latest) {
      metadata.apply(o.latest.index - 1, { kind: 'topic-delete', topic: 'X' });
      expect(metadata.applySnapshotPart(o.latest.index, snapshotOfEmpty(o.latest.asOfIndex), { controlEntries: () => [] })).toBe('recorded');
    }
    const proposals: Buffer[][] = [];
    let now = 10_000;
    let settle: () => void = () => undefined;
    const s = new SnapshotScheduler({
      log: { firstIndex: () => log.first, lastIndex: () => log.last, locate: (i) => (i >= log.first && i <= log.last + 1 ? { position: i * bytes } : undefined) },
      metadata,
      segmentBytes: 10_000,
      maxEntryBytes: 64 * 1024,
      maxParts: 16,
      canPropose: () => true,
      propose: (p) => {
        proposals.push(p);
        return new Promise((resolve) => { settle = () => resolve({ index: 500, lastIndex: 500 + p.length - 1 }); });
      },
      logger: silent,
      nowMs: () => now,
    });
    return { s, log, proposals, advance: (ms: number) => { now += ms; }, settle: () => settle() };
  }
  const snapshotOfEmpty = (asOfIndex: number): MetadataSnapshotPart => ({ kind: 'metadata-snapshot', asOfIndex, part: 0, parts: 1, tables: { topics: [], groups: [], offsets: [], delayOffsets: [], leader: null, brokerAddrs: [] } });

  it('finds a snapshot due once the log grew by a segment since the latest one, and not before', () => {
    expect(scheduler({ last: 99 }).s.due()).toBeUndefined();
    expect(scheduler({ last: 101 }).s.due()).toBe('log-grew');
    expect(scheduler({ last: 150, latest: { index: 101, asOfIndex: 90 } }).s.due()).toBeUndefined();
  });

  it('finds a snapshot due when the log head is past the latest asOfIndex + 1 or retention waits for one', () => {
    expect(scheduler({ first: 20, last: 50 }).s.due()).toBe('head-uncovered');
    expect(scheduler({ first: 20, last: 50, latest: { index: 40, asOfIndex: 18 } }).s.due()).toBe('head-uncovered');
    const ok = scheduler({ first: 20, last: 50, latest: { index: 40, asOfIndex: 19 } });
    expect(ok.s.due()).toBeUndefined();
    ok.s.noteRetentionBlocked();
    expect(ok.s.due()).toBe('retention-blocked');
  });

  it('keeps one snapshot in flight at most and proposes at most once a second', async () => {
    const t = scheduler({ first: 20, last: 50 });
    t.s.tick();
    t.s.tick();
    expect(t.proposals).toHaveLength(1);
    t.settle();
    await new Promise((r) => setImmediate(r));
    t.s.tick();
    expect(t.proposals).toHaveLength(1);
    t.advance(1000);
    t.s.tick();
    expect(t.proposals).toHaveLength(2);
  });
});

describe('QUERY_CONSUMER_OFFSET on a node whose metadata is incomplete', () => {
  it('is refused with SERVICE_NOT_AVAILABLE when no leader can answer instead of answered from the tables, and answered once complete', async () => {
    const metadata = new MetadataState();
    metadata.apply(1, { kind: 'consumer-offsets', offsets: [{ group: 'G', topic: 'T', queueId: 0, offset: 4 }] });
    metadata.markIncomplete(9);
    const ctx = {
      metadata,
      raft: { isLeader: () => false },
      forwardToLeader: async () => { throw noLeader(); },
      offsets: { catchUp: async () => true, query: (group: string, topic: string, queueId: number) => metadata.consumerOffset(group, topic, queueId) },
      store: { getMinOffsetInQueue: () => 0 },
    } as unknown as BrokerContext;
    const ask = async () => (await queryConsumerOffsetProcessor.handle(ctx, makeRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'T', queueId: '0' }), {} as RemotingChannel)) as RemotingCommand;
    const refused = await ask();
    expect(refused.code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
    expect(refused.remark).toMatch(/incomplete/);
    expect(metadata.applySnapshotPart(10, { ...parts(metadata.toTables(), 9)[0]! }, { controlEntries: () => [] })).toBe('installed');
    const answered = await ask();
    expect(answered.code).toBe(ResponseCode.SUCCESS);
    expect(answered.extFields['offset']).toBe('4');
  });
});
