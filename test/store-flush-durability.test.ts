// The flush ordering rule under a power-loss model: the checkpoint never claims more than is
// durable. The store's `fileSync` seam is replaced by a model that makes a file's bytes durable
// only when a sync of it completes (with the bytes it had when that sync started), and a name
// durable only when its directory is synced; background syncs complete when the test says so,
// interleaved with dispatches, blocking flushes and more background flushes. At any point a
// "power loss" builds a store root from the durable bytes alone plus the newest checkpoint on
// disk (the worst case: a rename may be durable at once), reopens it over the (intact) log and
// requires the ConsumeQueues and IndexFiles, after catching up, to equal a rebuild from scratch.
// A checkpoint claiming an entry whose units were not durable leaves them missing: a mismatch.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { MappedFile } from '../raft/storage/mapped-file.js';
import { readCheckpoint } from '../src/store/checkpoint.js';
import { fileSync, type SyncCallback } from '../src/store/file-sync.js';
import { MessageStore } from '../src/store/message-store.js';
import { encodeMessageRecords } from '../src/common/message/message-record.js';
import { formatProperties } from '../src/common/message/message-properties.js';
import { FakeLog, message, removeDir, snapshotFiles, tempDir } from './store-helpers.js';

const OPTIONS = { unitsPerFile: 3, index: { slotCount: 7, maxEntries: 9, maxKeyBytes: 64 } };
const realFileSync = { ...fileSync };
const roots: string[] = [];
afterEach(() => {
  Object.assign(fileSync, realFileSync);
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

/** What survives a power loss: file bytes and directory listings as of their last completed sync. */
class PowerLossModel {
  private seq = 0;
  private readonly files = new Map<string, { seq: number; bytes: Buffer }>();
  private readonly dirs = new Map<string, { seq: number; names: Set<string> }>();
  /** Background syncs started and not yet completed, oldest first. */
  readonly pending: { commit: () => void; cb: SyncCallback }[] = [];

  constructor(private readonly storeRoot: string) {}

  install(): void {
    fileSync.file = (f: MappedFile) => this.snapshotFile(f.path)();
    fileSync.dir = (d: string) => this.snapshotDir(d)();
    fileSync.fileInBackground = (f: MappedFile, cb: SyncCallback) => this.pending.push({ commit: this.snapshotFile(f.path), cb });
    fileSync.dirInBackground = (d: string, cb: SyncCallback) => this.pending.push({ commit: this.snapshotDir(d), cb });
  }

  /** The bytes now; they become durable when the returned commit runs (never older over newer). */
  private snapshotFile(path: string): () => void {
    const seq = ++this.seq;
    const bytes = existsSync(path) ? readFileSync(path) : undefined;
    return () => {
      if (bytes && (this.files.get(path)?.seq ?? 0) < seq) this.files.set(path, { seq, bytes });
    };
  }

  private snapshotDir(dir: string): () => void {
    const seq = ++this.seq;
    const names = existsSync(dir) ? new Set(readdirSync(dir)) : undefined;
    return () => {
      if (names && (this.dirs.get(dir)?.seq ?? 0) < seq) this.dirs.set(dir, { seq, names });
    };
  }

  /** Completes the oldest pending background sync, successfully or with an I/O error. */
  complete(ok: boolean): boolean {
    const p = this.pending.shift();
    if (!p) return false;
    if (ok) p.commit();
    p.cb(ok ? null : Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    return true;
  }

  /** Whether `path` (under the store root) has a durable name all the way down. */
  private named(path: string): boolean {
    for (let p = path; p !== this.storeRoot; p = dirname(p)) {
      const listing = this.dirs.get(dirname(p));
      if (!listing?.names.has(p.slice(dirname(p).length + 1))) return false;
    }
    return true;
  }

  /** Builds the store root a power loss now would leave at `image`. */
  crashImage(image: string): void {
    for (const [path, { bytes }] of this.files) {
      if (!this.named(path)) continue;
      const target = join(image, relative(this.storeRoot, path));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, bytes);
    }
    const checkpoint = join(this.storeRoot, 'checkpoint');
    if (existsSync(checkpoint)) writeFileSync(join(image, 'checkpoint'), readFileSync(checkpoint));
    writeFileSync(join(image, 'abort'), '');
  }
}

type Op =
  | { kind: 'append'; batches: number[] }
  | { kind: 'background' }
  | { kind: 'complete'; ok: boolean; count: number }
  | { kind: 'turns'; count: number }
  | { kind: 'blocking' }
  | { kind: 'crash' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), batches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'background' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('complete' as const), ok: fc.integer({ min: 0, max: 9 }).map((v) => v < 8), count: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('turns' as const), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'blocking' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Completes pending syncs (successfully) and waits for the real fs calls of the checkpoint write
 * until `settled()`; bounded at 2,000 rounds of at most 2 ms.
 */
async function settle(model: PowerLossModel, settled: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !settled(); i++) if (!model.complete(true)) await sleep(2);
}

/** A power loss now, then recovery and catching up, must give what a rebuild from scratch gives. */
function expectPowerLossRecovers(model: PowerLossModel, log: FakeLog): void {
  const image = root('image');
  model.crashImage(image);
  const recovered = MessageStore.open(image, log, OPTIONS);
  recovered.dispatchUpTo(log.lastIndex());
  const scratchRoot = root('scratch');
  const scratch = MessageStore.open(scratchRoot, log, OPTIONS);
  scratch.dispatchUpTo(log.lastIndex());
  const got = storeFiles(image);
  const want = storeFiles(scratchRoot);
  recovered.close();
  scratch.close();
  expect(got).toEqual(want);
  removeDir(image);
  removeDir(scratchRoot);
}

describe('store flush durability (power-loss model)', () => {
  it('after a power loss at any point of blocking and background flushes, recovery rebuilds exactly what a clean run builds', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 30 }), async (ops) => {
        const log = new FakeLog(4096);
        const r = root('durable');
        const model = new PowerLossModel(r);
        model.install();
        const store = MessageStore.open(r, log, OPTIONS);
        const errors: (Error | null)[] = [];
        const check = (): void => expectPowerLossRecovers(model, log);
        try {
          for (const o of ops) {
            if (o.kind === 'append') {
              for (const count of o.batches) {
                const ms = Array.from({ length: count }, () => {
                  n++;
                  return message({ topic: `T${n % 3}`, queueId: n % 2, storeTimestamp: 1_700_000_000_000 + n * 300, properties: formatProperties({ TAGS: 'a', KEYS: `k${n % 5}`, UNIQ_KEY: `u${n}` }) });
                });
                log.appendPayload(encodeMessageRecords(ms));
              }
              store.dispatchUpTo(log.lastIndex());
            } else if (o.kind === 'background') {
              store.flushInBackground(0, (err) => errors.push(err));
            } else if (o.kind === 'complete') {
              for (let i = 0; i < o.count && model.complete(o.ok); i++);
              await turn();
            } else if (o.kind === 'turns') {
              for (let i = 0; i < o.count; i++) await turn();
            } else if (o.kind === 'blocking') {
              store.flush();
            } else {
              check();
            }
          }
          check();
          // Let everything in flight finish.
          await settle(model, () => model.pending.length === 0 && !store.backgroundFlushInProgress);
          expect(store.backgroundFlushInProgress).toBe(false);
          check();
          // Only the injected I/O errors are reported.
          for (const err of errors) if (err) expect(err.message).toMatch(/EIO/);
        } finally {
          store.close();
        }
      }),
      {
        numRuns: 60,
        // Found by CI: a failed sync of a queue's head file while its directory and a later file
        // were synced left the head's name without its bytes, so recovery rebuilt the queue one
        // file too far on (directories are now synced only after every file is).
        examples: [[[{ kind: 'append', batches: [1] }, { kind: 'append', batches: [4, 2, 2] }, { kind: 'append', batches: [3, 4, 3] }, { kind: 'background' }, { kind: 'complete', ok: false, count: 1 }, { kind: 'complete', ok: true, count: 1 }]]],
      },
    );
  });

  it('a background flush makes a checkpoint that claims exactly what it synced, and an overtaken one never publishes', async () => {
    const log = new FakeLog(4096);
    const r = root('claims');
    const model = new PowerLossModel(r);
    model.install();
    const store = MessageStore.open(r, log, OPTIONS);
    const append = (): void => {
      log.appendPayload(encodeMessageRecords([message({ topic: 'T', queueId: 0 })]));
      store.dispatchUpTo(log.lastIndex());
    };
    append();
    append();
    let result: Error | null | undefined;
    expect(store.flushInBackground(7, (err) => (result = err))).toBe(true);
    // At most one in flight.
    expect(store.flushInBackground(7)).toBe(false);
    // Dispatched after the flush took its files: not claimed by it.
    append();
    // Bounded: completes the syncs, then waits for the checkpoint write.
    await settle(model, () => result !== undefined);
    expect(result).toBeNull();
    expect(readCheckpoint(join(r, 'checkpoint'))).toMatchObject({ dispatchedIndex: 2, logFlushTimestampMs: 7 });
    expect(store.backgroundFlushCount).toBe(1);

    // A blocking flush while a background one is in flight covers it and wins.
    result = undefined;
    expect(store.flushInBackground(8, (err) => (result = err))).toBe(true);
    append();
    store.flush(9);
    expect(readCheckpoint(join(r, 'checkpoint'))).toMatchObject({ dispatchedIndex: 4, logFlushTimestampMs: 9 });
    // Its checkpoint claims what the background flush took but has not synced yet: it synced those too.
    expect(model.pending.length).toBeGreaterThan(0);
    expectPowerLossRecovers(model, log);
    await settle(model, () => result !== undefined);
    expect(result).toBeNull();
    expect(readCheckpoint(join(r, 'checkpoint'))).toMatchObject({ dispatchedIndex: 4, logFlushTimestampMs: 9 });
    expect(store.backgroundFlushCount).toBe(1);

    // Nothing new: a background flush writes no checkpoint.
    result = undefined;
    expect(store.flushInBackground(10, (err) => (result = err))).toBe(true);
    expect(model.pending).toHaveLength(0);
    await settle(model, () => result !== undefined);
    expect(result).toBeNull();
    expect(readCheckpoint(join(r, 'checkpoint'))).toMatchObject({ logFlushTimestampMs: 9 });
    store.close();
  });

  it('close() while a background flush is in flight leaves a clean, fully checkpointed store', async () => {
    const log = new FakeLog(4096);
    const r = root('close');
    const model = new PowerLossModel(r);
    model.install();
    const store = MessageStore.open(r, log, OPTIONS);
    for (let i = 0; i < 5; i++) log.appendPayload(encodeMessageRecords([message({ topic: 'T', queueId: i % 2 })]));
    store.dispatchUpTo(5);
    let result: Error | null | undefined;
    store.flushInBackground(1, (err) => (result = err));
    store.close();
    await settle(model, () => result !== undefined);
    expect(result).toBeNull();
    expect(existsSync(join(r, 'abort'))).toBe(false);
    const again = MessageStore.open(r, log, OPTIONS);
    expect(again.recovery).toMatchObject({ unclean: false, source: 'checkpoint', dispatchedIndex: 5 });
    again.close();
  });
});
