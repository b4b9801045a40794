// Model-based test of the store (fc.commands): append message/control/NoOp entries to a log,
// commit and dispatch, read queues, query keys, look up ids, restart cleanly or after a crash
// (with or without the checkpoint), lose the log's tail, truncate uncommitted entries, and, in
// half the runs, delete whole head segments of a log cut in 1 KiB segments through retention's
// own path (CleanService.deleteOldestSegments: log.deleteHead, then store.deleteBelowLogStart).
// The model is a plain list of entries and the log's first retained index; expected queues, their
// min offsets and every read's answer are recomputed from it: queue offsets count every message
// ever dispatched, also those retention deleted since. At the end of every run, two stores built
// from the log's start alone must agree with it: one rebuilt from scratch over the same log, and
// one on a replica that dispatched part of the deleted prefix and was then reset to this log's
// start (Raft's Reset) and given the retained entries. Both start each queue where the log's
// start record says (queue-start.ts), answer every read as the model does, and have ConsumeQueue
// files byte-identical to the incrementally built store's; with nothing deleted the IndexFiles too.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../raft/index.js';
import { MessageStore, GetMessageStatus, type GetMessageStatus as Status } from '../src/store/message-store.js';
import { encodeMessageRecord, encodeMessageRecords, type MessageRecord } from '../src/common/message/message-record.js';
import { formatProperties, getProperty } from '../src/common/message/message-properties.js';
import { createMessageId } from '../src/common/message/message-id.js';
import { javaStringHash } from '../src/common/message/java-hash.js';
import { CleanService } from '../src/store/retention/index.js';
import { FakeLog, removeDir, snapshotFiles, tempDir } from './store-helpers.js';
import { decodeStartData } from '../raft/index.js';

const OPTIONS = { unitsPerFile: 4, index: { slotCount: 11, maxEntries: 6, maxKeyBytes: 64 } };
const TOPICS = ['A', 'B', '%RETRY%g'];
const KEYS = ['k1', 'k2', 'k3'];
/** Log segments in runs with retention: one to a few entries each (the largest entry is 808 bytes). */
const SEGMENT_BYTES = 1024;

interface ModelEntry {
  kind: 'messages' | 'control' | 'noop';
  payload: Buffer;
  messages: MessageRecord[];
  /** Where the log put the entry's header and payload (kept after retention deleted the entry). */
  position: number;
  payloadPosition: number;
}
interface Model {
  entries: ModelEntry[];
  dispatched: number;
  clock: number;
  /** Whether this run's log is segmented and DeleteHeadSegments may run. */
  retention: boolean;
  /** Raft index of the first entry retention kept (1 until a deletion). */
  firstIndex: number;
}
interface Real {
  root: string;
  log: FakeLog;
  store: MessageStore;
  controls: number[];
}

interface Placed {
  m: MessageRecord;
  /** Raft index of the entry holding the message. */
  index: number;
  physicalOffset: number;
  queueOffset: number;
  bytes: Buffer;
}

/** Appends an entry to the log and returns it with the positions the log gave it. */
function appendEntry(real: Real, kind: ModelEntry['kind'], payload: Buffer, messages: MessageRecord[]): ModelEntry {
  const index = real.log.appendPayload(payload, kind === 'noop' ? EntryType.NoOp : EntryType.Normal);
  const at = real.log.locate(index)!;
  return { kind, payload, messages, position: at.position, payloadPosition: at.payloadPosition };
}

/**
 * Placement of every dispatched message, by queue, from the model alone: queue offsets count from
 * the first message ever dispatched, also for the entries retention deleted since.
 */
function expectedQueues(model: Model): Map<string, Placed[]> {
  const queues = new Map<string, Placed[]>();
  for (let i = 0; i < model.dispatched; i++) {
    const e = model.entries[i]!;
    if (e.kind !== 'messages') continue;
    let at = e.payloadPosition;
    for (const m of e.messages) {
      const size = encodeMessageRecord(m).length;
      const type = m.sysFlag & 0xc;
      if (type !== 4 && type !== 12) {
        const key = `${m.topic}/${m.queueId}`;
        const q = queues.get(key) ?? [];
        queues.set(key, q);
        q.push({ m, index: i + 1, physicalOffset: at, queueOffset: q.length, bytes: encodeMessageRecord({ ...m, queueOffset: q.length, physicalOffset: at }) });
      }
      at += size;
    }
  }
  return queues;
}

function open(real: Omit<Real, 'store'> & { store?: MessageStore }): MessageStore {
  return MessageStore.open(real.root, real.log, { ...OPTIONS, onControl: (index) => real.controls.push(index) });
}

/** A queue's min offset once retention moved the log's head: its first message still in the log. */
function expectedMin(model: Model, placed: readonly Placed[]): number {
  return placed.filter((p) => p.index < model.firstIndex).length;
}

function checkQueues(model: Model, real: Real): void {
  const expected = expectedQueues(model);
  for (const [key, placed] of expected) {
    const [topic, qid] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
    expect(real.store.getMaxOffsetInQueue(topic, qid)).toBe(placed.length);
    expect(real.store.getMinOffsetInQueue(topic, qid), key).toBe(expectedMin(model, placed));
  }
  for (const cq of real.store.queues.all()) {
    const placed = expected.get(`${cq.topic}/${cq.queueId}`) ?? [];
    expect(cq.maxOffset).toBe(placed.length);
  }
  expect(real.store.dispatchedIndex).toBe(model.dispatched);
  expect(real.log.firstIndex()).toBe(model.firstIndex);
}

const arbMessage = fc.record({
  topic: fc.constantFrom(...TOPICS),
  queueId: fc.nat(2),
  tag: fc.option(fc.constantFrom('TagA', 'TagB'), { nil: undefined }),
  keys: fc.subarray(KEYS),
  uniq: fc.boolean(),
  tx: fc.constantFrom(0, 0, 0, 4, 8, 12),
  body: fc.uint8Array({ maxLength: 40 }),
});

type MessageSpec = typeof arbMessage extends fc.Arbitrary<infer T> ? T : never;

class AppendMessages implements fc.Command<Model, Real> {
  constructor(readonly specs: MessageSpec[]) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const messages = this.specs.map((s) => {
      model.clock += 700;
      const props: Record<string, string> = {};
      if (s.tag) props.TAGS = s.tag;
      if (s.keys.length) props.KEYS = s.keys.join(' ');
      if (s.uniq) props.UNIQ_KEY = `U${model.clock}`;
      return {
        topic: s.topic, queueId: s.queueId, flag: 0, queueOffset: 0, physicalOffset: -1, sysFlag: s.tx,
        bornTimestamp: model.clock - 5, bornHost: '10.0.0.9', bornPort: 4000, storeTimestamp: model.clock,
        storeHost: '127.0.0.1', storePort: 10911, reconsumeTimes: 0, preparedTransactionOffset: 0,
        body: Buffer.from(s.body), properties: formatProperties(props),
      } satisfies MessageRecord;
    });
    model.entries.push(appendEntry(real, 'messages', encodeMessageRecords(messages), messages));
  }
  toString(): string {
    return `AppendMessages(${this.specs.length})`;
  }
}

class AppendOther implements fc.Command<Model, Real> {
  constructor(readonly kind: 'control' | 'noop') {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const payload = this.kind === 'control' ? Buffer.from('\x00\x00\x00\x10META{"topic":"A"}') : Buffer.alloc(0);
    model.entries.push(appendEntry(real, this.kind, payload, []));
  }
  toString(): string {
    return `Append(${this.kind})`;
  }
}

class Dispatch implements fc.Command<Model, Real> {
  constructor(readonly n: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const commit = Math.min(model.entries.length, model.dispatched + this.n);
    const before = real.controls.length;
    real.store.dispatchUpTo(commit);
    const expectedControls = [];
    for (let i = model.dispatched; i < commit; i++) if (model.entries[i]!.kind === 'control') expectedControls.push(i + 1);
    expect(real.controls.slice(before)).toEqual(expectedControls);
    model.dispatched = commit;
    checkQueues(model, real);
  }
  toString(): string {
    return `Dispatch(${this.n})`;
  }
}

/** Reads a queue from `offset` and checks status, offsets and every byte against the model. */
function checkRead(model: Model, real: Real, topic: string, queueId: number, offset: number, maxCount: number, maxBytes: number, filterTag: string | undefined): void {
  const placed = expectedQueues(model).get(`${topic}/${queueId}`) ?? [];
  const filterHash = filterTag === undefined ? undefined : javaStringHash(filterTag);
  const filter = filterHash === undefined ? undefined : (h: number) => h === filterHash;
  const got = real.store.getMessage(topic, queueId, offset, maxCount, maxBytes, filter);
  let status: Status;
  let next: number;
  const expectedBytes: Buffer[] = [];
  const max = placed.length;
  const min = expectedMin(model, placed);
  // docs/storage.md: below the min after retention, OFFSET_TOO_SMALL and next = min.
  if (max === 0) [status, next] = [GetMessageStatus.NO_MESSAGE_IN_QUEUE, 0];
  else if (offset < min) [status, next] = [GetMessageStatus.OFFSET_TOO_SMALL, min];
  else if (offset === max) [status, next] = [GetMessageStatus.OFFSET_OVERFLOW_ONE, offset];
  else if (offset > max) [status, next] = [GetMessageStatus.OFFSET_OVERFLOW_BADLY, min === 0 ? 0 : max];
  else {
    let q = offset;
    let total = 0;
    while (q < max && expectedBytes.length < maxCount) {
      const p = placed[q]!;
      if (expectedBytes.length > 0 && total + p.bytes.length > maxBytes) break;
      q++;
      const tags = getProperty(p.m.properties, 'TAGS');
      if (filter && !filter(tags === undefined ? 0 : javaStringHash(tags))) continue;
      expectedBytes.push(p.bytes);
      total += p.bytes.length;
    }
    status = expectedBytes.length > 0 ? GetMessageStatus.FOUND : GetMessageStatus.NO_MATCHED_MESSAGE;
    next = q;
  }
  const what = `read ${topic}/${queueId}@${offset}`;
  expect({ status: got.status, next: got.nextBeginOffset, min: got.minOffset, max: got.maxOffset }, what).toEqual({ status, next, min, max });
  expect(got.messages.map((b) => b.toString('hex')), what).toEqual(expectedBytes.map((b) => b.toString('hex')));
  expect(got.body.equals(Buffer.concat(expectedBytes)), what).toBe(true);
}

class Read implements fc.Command<Model, Real> {
  constructor(readonly topic: string, readonly queueId: number, readonly offset: number, readonly maxCount: number, readonly maxBytes: number, readonly filterTag: string | undefined) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    checkRead(model, real, this.topic, this.queueId, this.offset, this.maxCount, this.maxBytes, this.filterTag);
  }
  toString(): string {
    return `Read(${this.topic}/${this.queueId}@${this.offset} x${this.maxCount} ${this.maxBytes}B ${this.filterTag ?? '*'})`;
  }
}

class QueryAndLookup implements fc.Command<Model, Real> {
  constructor(readonly key: string, readonly topic: string) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const placedAll = [...expectedQueues(model).values()].flat();
    const all = placedAll.filter((p) => p.index >= model.firstIndex);
    const withKey = all
      .filter((p) => p.m.topic === this.topic && (getProperty(p.m.properties, 'KEYS') ?? '').split(' ').includes(this.key))
      .sort((a, b) => b.physicalOffset - a.physicalOffset);
    const got = real.store.queryByKey(this.topic, this.key, 100, 0, Number.MAX_SAFE_INTEGER);
    expect(got.physicalOffsets).toEqual(withKey.map((p) => p.physicalOffset));
    expect(got.messages.map((b) => b.toString('hex'))).toEqual(withKey.map((p) => p.bytes.toString('hex')));
    for (const p of all.slice(-3)) {
      expect(real.store.queueOffsetOf(p.m.topic, p.m.queueId, p.physicalOffset)).toBe(p.queueOffset);
      expect(real.store.queueOffsetOf(p.m.topic, p.m.queueId, p.physicalOffset + 1)).toBe(-1);
      expect(real.store.lookMessageById(createMessageId('127.0.0.1', 10911, p.physicalOffset))?.toString('hex')).toBe(p.bytes.toString('hex'));
      const uniq = getProperty(p.m.properties, 'UNIQ_KEY');
      if (uniq) expect(real.store.queryByKey(p.m.topic, uniq, 5, 0, Number.MAX_SAFE_INTEGER).physicalOffsets).toEqual([p.physicalOffset]);
    }
    // What retention deleted is gone from every lookup.
    for (const p of placedAll.filter((q) => q.index < model.firstIndex).slice(-3)) {
      expect(real.store.queueOffsetOf(p.m.topic, p.m.queueId, p.physicalOffset)).toBe(-1);
      expect(real.store.lookMessageById(createMessageId('127.0.0.1', 10911, p.physicalOffset))).toBeUndefined();
    }
  }
  toString(): string {
    return `Query(${this.topic}#${this.key})`;
  }
}

type RestartMode = 'clean' | 'crash' | 'crash-without-checkpoint' | 'clean-without-checkpoint';

function restart(real: Real, mode: RestartMode): void {
  if (mode.startsWith('clean')) real.store.close();
  else {
    // A process kill: mapped pages survive, nothing is flushed, no checkpoint, abort file stays.
    real.store.queues.close();
    real.store.index.close();
  }
  if (mode.endsWith('without-checkpoint')) rmSync(join(real.root, 'checkpoint'), { force: true });
  real.controls.length = 0;
  real.store = open(real);
}

class Restart implements fc.Command<Model, Real> {
  constructor(readonly mode: RestartMode) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    restart(real, this.mode);
    expect(real.store.recovery.unclean).toBe(this.mode.startsWith('crash'));
    // Recovery may resume earlier than the model's dispatch point; redispatching catches up.
    expect(real.store.dispatchedIndex).toBeLessThanOrEqual(model.dispatched);
    real.store.dispatchUpTo(model.dispatched);
    checkQueues(model, real);
  }
  toString(): string {
    return `Restart(${this.mode})`;
  }
}

/** The node crashes and its log loses its last `k` entries (unflushed), committed or not. */
class LoseTail implements fc.Command<Model, Real> {
  constructor(readonly k: number, readonly mode: RestartMode) {}
  check(model: Model): boolean {
    return model.entries.length > 0;
  }
  run(model: Model, real: Real): void {
    // A log never loses what lies before its retained start.
    const keep = Math.max(model.firstIndex - 1, model.entries.length - this.k);
    real.log.truncateSuffix(keep + 1);
    restart(real, this.mode);
    const lost = model.entries.slice(keep);
    const dispatched = model.dispatched;
    model.entries.length = keep;
    model.dispatched = Math.min(dispatched, keep);
    real.store.dispatchUpTo(model.dispatched);
    checkQueues(model, real);
    // Raft re-replicates the lost committed entries: they come back identical.
    for (const e of lost) {
      const again = appendEntry(real, e.kind, e.payload, e.messages);
      // Same entries after the same prefix: the same positions, so message ids stay valid.
      expect([again.position, again.payloadPosition]).toEqual([e.position, e.payloadPosition]);
      model.entries.push(again);
    }
    model.dispatched = dispatched;
    real.store.dispatchUpTo(dispatched);
    checkQueues(model, real);
  }
  toString(): string {
    return `LoseTail(${this.k}, ${this.mode})`;
  }
}

/** A new leader overwrites uncommitted entries: the log's suffix past the commit index goes. */
class TruncateUncommitted implements fc.Command<Model, Real> {
  check(model: Model): boolean {
    return model.entries.length > model.dispatched;
  }
  run(model: Model, real: Real): void {
    real.log.truncateSuffix(model.dispatched + 1);
    model.entries.length = model.dispatched;
    checkQueues(model, real);
  }
  toString(): string {
    return 'TruncateUncommitted';
  }
}

/**
 * Retention deletes up to `count` head segments through the path its rules use (CleanService:
 * segmentFiles, then log.deleteHead, then store.deleteBelowLogStart). The model predicts the new
 * first index on its own: segment by segment, the first entry of the next segment becomes the
 * first kept, while that entry is dispatched-or-next and some segment after it holds the last entry.
 */
class DeleteHeadSegments implements fc.Command<Model, Real> {
  constructor(readonly count: number) {}
  check(model: Model): boolean {
    return model.retention;
  }
  run(model: Model, real: Real): void {
    const S = SEGMENT_BYTES;
    const retained = model.entries.slice(model.firstIndex - 1);
    let expectedFirst = model.firstIndex;
    if (retained.length > 0) {
      const firstSegment = Math.floor(retained[0]!.position / S);
      const lastSegment = Math.floor(retained[retained.length - 1]!.position / S);
      for (let c = 1; c <= Math.min(this.count, lastSegment - firstSegment); c++) {
        const next = model.entries.findIndex((e, i) => i + 1 >= model.firstIndex && e.position >= (firstSegment + c) * S) + 1;
        // Never an entry not yet dispatched into the ConsumeQueues.
        if (next === 0 || next > model.dispatched + 1) break;
        expectedFirst = next;
      }
    }
    const clean = new CleanService({ log: real.log, store: real.store, diskUsage: () => ({ usedRatio: 0.5, totalBytes: 1e9, availableBytes: 5e8 }) });
    const report = clean.deleteOldestSegments(this.count);
    const deletedSegments = expectedFirst === model.firstIndex ? 0 : Math.floor(model.entries[expectedFirst - 1]!.position / S) - Math.floor(model.entries[model.firstIndex - 1]!.position / S);
    expect({ firstIndex: report.firstIndex, deletedSegments: report.deletedSegments }).toEqual({ firstIndex: expectedFirst, deletedSegments });
    model.firstIndex = expectedFirst;
    checkQueues(model, real);
    // Every queue: each offset below its new min is refused with the min to go on from, and
    // everything from the min on still reads exactly, in one read.
    for (const [key, placed] of expectedQueues(model)) {
      const [topic, queueId] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
      const min = expectedMin(model, placed);
      for (let offset = 0; offset <= min; offset++) checkRead(model, real, topic, queueId, offset, placed.length, 1 << 20, undefined);
    }
  }
  toString(): string {
    return `DeleteHeadSegments(${this.count})`;
  }
}

/** The files of a store root under `prefix` (relative path → bytes). */
function filesUnder(root: string, prefix: string): Map<string, Buffer> {
  return new Map([...snapshotFiles(root)].filter(([k]) => k.startsWith(prefix)));
}

function expectSameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string): void {
  expect([...b.keys()].sort(), what).toEqual([...a.keys()].sort());
  for (const [k, v] of a) expect(v.equals(b.get(k)!), `${what}: ${k}`).toBe(true);
}

/** Every queue of the model read from its min offset to its max, against the model. */
function checkAllReads(model: Model, real: Real): void {
  checkQueues(model, real);
  for (const [key, placed] of expectedQueues(model)) {
    const [topic, queueId] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
    const min = expectedMin(model, placed);
    for (let offset = Math.max(0, min - 1); offset <= placed.length; offset++) checkRead(model, real, topic, queueId, offset, 3, 1 << 20, undefined);
  }
  for (const key of KEYS) for (const topic of TOPICS) new QueryAndLookup(key, topic).run(model, real);
}

/**
 * A replica that holds the first `held` entries of the run's final log, dispatched up to
 * `dispatched` of them, is then reset to the leader's log start (as Raft's Reset does when the
 * entries it misses are deleted) and given the retained entries. Returns it dispatched as far as
 * the model.
 */
function resetReplica(model: Model, leaderLog: FakeLog, basePosition: number, held: number, dispatched: number, root: string): Real {
  const log = new FakeLog(basePosition, 1 << 20, { segmentBytes: SEGMENT_BYTES });
  const real: Real = { root, log, controls: [], store: undefined as unknown as MessageStore };
  for (const e of model.entries.slice(0, held)) appendEntry(real, e.kind, e.payload, e.messages);
  real.store = open(real);
  real.store.dispatchUpTo(dispatched);
  log.reset(leaderLog.logStart());
  expect(decodeStartData(log.logStart())?.position).toBe(leaderLog.locate(leaderLog.firstIndex())?.position ?? leaderLog.endPosition());
  const skipped = real.store.jumpToLogStart();
  expect(skipped).toBe(model.firstIndex - 1 - dispatched);
  for (const e of model.entries.slice(model.firstIndex - 1)) {
    const again = appendEntry(real, e.kind, e.payload, e.messages);
    expect([again.position, again.payloadPosition]).toEqual([e.position, e.payloadPosition]);
  }
  real.store.dispatchUpTo(model.dispatched);
  return real;
}

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) removeDir(r);
});

const mode = fc.constantFrom<RestartMode>('clean', 'crash', 'crash-without-checkpoint', 'clean-without-checkpoint');
const commands = [
  fc.array(arbMessage, { minLength: 1, maxLength: 4 }).map((s) => new AppendMessages(s)),
  fc.array(arbMessage, { minLength: 1, maxLength: 4 }).map((s) => new AppendMessages(s)),
  fc.array(arbMessage, { minLength: 1, maxLength: 4 }).map((s) => new AppendMessages(s)),
  fc.integer({ min: 1, max: 6 }).map((n) => new Dispatch(n)),
  fc.constantFrom('control', 'noop').map((k) => new AppendOther(k as 'control' | 'noop')),
  fc.integer({ min: 1, max: 6 }).map((n) => new Dispatch(n)),
  fc.tuple(fc.constantFrom(...TOPICS), fc.nat(2), fc.nat(8), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 600 }), fc.option(fc.constantFrom('TagA', 'TagB'), { nil: undefined }))
    .map(([t, q, o, c, b, f]) => new Read(t, q, o, c, b, f)),
  fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...TOPICS)).map(([k, t]) => new QueryAndLookup(k, t)),
  mode.map((m) => new Restart(m)),
  fc.tuple(fc.integer({ min: 1, max: 4 }), mode).map(([k, m]) => new LoseTail(k, m)),
  fc.constant(new TruncateUncommitted()),
  fc.integer({ min: 1, max: 3 }).map((n) => new DeleteHeadSegments(n)),
  fc.integer({ min: 1, max: 3 }).map((n) => new DeleteHeadSegments(n)),
];

describe('message store model', () => {
  it('matches the model through appends, dispatch, reads, restarts, log cuts and head-segment deletion, and equals a rebuild from scratch', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60, size: 'large' }), fc.nat(3), fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }), (cmds, basePages, retention, replicaShare) => {
        const root = tempDir('model');
        roots.push(root);
        const log = new FakeLog(basePages * 4096, 1 << 20, retention ? { segmentBytes: SEGMENT_BYTES } : {});
        const real: Real = { root, log, controls: [], store: undefined as unknown as MessageStore };
        real.store = open(real);
        const model: Model = { entries: [], dispatched: 0, clock: 1_700_000_000_000, retention, firstIndex: 1 };
        try {
          fc.modelRun(() => ({ model, real }), cmds);
          real.store.close();
          const scratchRoot = tempDir('scratch');
          roots.push(scratchRoot);
          const scratch: Real = { root: scratchRoot, log, controls: [], store: MessageStore.open(scratchRoot, log, OPTIONS) };
          expect(scratch.store.recovery.queuesStartedAtLogStart ?? false).toBe(model.firstIndex > 1);
          scratch.store.dispatchUpTo(model.dispatched);
          checkAllReads(model, scratch);
          scratch.store.close();
          expectSameFiles(filesUnder(root, 'consumequeue'), filesUnder(scratchRoot, 'consumequeue'), 'rebuilt from scratch');
          if (model.firstIndex === 1) {
            expectSameFiles(filesUnder(root, 'index'), filesUnder(scratchRoot, 'index'), 'rebuilt from scratch');
            return;
          }
          // A replica that missed the deleted head, having dispatched any part of what it held
          // below the leader's start entry (Raft resets only a follower whose commit is below it).
          const held = Math.floor(replicaShare * (model.firstIndex - 1));
          const replicaRoot = tempDir('replica');
          roots.push(replicaRoot);
          const replica = resetReplica(model, log, basePages * 4096, held, Math.floor(replicaShare * Math.min(held, model.firstIndex - 2)), replicaRoot);
          checkAllReads(model, replica);
          replica.store.close();
          expectSameFiles(filesUnder(root, 'consumequeue'), filesUnder(replicaRoot, 'consumequeue'), 'reset replica');
        } finally {
          try {
            real.store.close();
          } catch {
            // already closed
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
