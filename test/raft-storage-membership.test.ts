// The mmap log keeps the committed membership configuration in its own small file: durable when
// setMembership returns, read back at open, kept by a reset, and a damaged file is refused. Its
// writes go through the storage's file layer, so the power-loss layers (the lazy one on real
// files, the simulated one) cover it: after a power loss the configuration is the last one saved,
// never one whose entry the log lost or that the saved hard state's commit runs ahead of.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMembership, encodeMembership } from '../raft/core/membership.js';
import { EntryType, type Entry } from '../raft/core/types.js';
import { Prng } from '../raft/sim/prng.js';
import { lazyFileLayer, revertToDurable, SHADOW_SUFFIX } from '../raft/storage/lazy-fs.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { SimFileLayer } from '../raft/storage/sim-file-layer.js';
import { encodeStartData } from '../raft/storage/state-files.js';
import { INDEX_ENTRIES, makeEntries, openLog, SEGMENT_BYTES, TempDirs } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe('mmap log membership file', () => {
  it('has none until one is saved, then reads it back after a reopen and a reset', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    expect(log.membership()).toBeUndefined();
    log.setMembership({ index: 7, voters: ['n0', 'n1', 'n3'], learners: ['n4'] });
    log.close();
    const again = openLog(dir);
    expect(again.membership()).toEqual({ index: 7, voters: ['n0', 'n1', 'n3'], learners: ['n4'] });
    again.reset({ index: 100, term: 3, data: encodeStartData(4096) });
    again.close();
    expect(openLog(dir).membership()).toEqual({ index: 7, voters: ['n0', 'n1', 'n3'], learners: ['n4'] });
  });

  it('refuses a damaged membership file with ERR_LOG_STATE_CORRUPT', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.setMembership({ index: 2, voters: ['n0'], learners: [] });
    log.close();
    writeFileSync(join(dir, 'membership'), Buffer.from('not a frame'));
    expect(() => openLog(dir)).toThrow(expect.objectContaining({ code: 'ERR_LOG_STATE_CORRUPT' }));
  });
});

/** A Config entry at `index` (term 2) making this configuration. */
function configEntry(index: number, voters: string[], learners: string[]): Entry {
  return { index, term: 2, type: EntryType.Config, payload: encodeMembership({ voters, learners }) };
}

/**
 * Appends 1..30 with Config entries at 10 (add n3 as a learner) and 20 (promote n3), saving each
 * configuration and then a hard state committing it, as RaftNode does; then unsynced entries with
 * a third change that is appended but never committed. The process then dies unclosed.
 */
function changeMembersThenCrash(log: MmapLogStorage): void {
  log.setHardState({ term: 2, vote: 'n0', commit: 0 });
  log.append([...makeEntries(1, 9, 2, () => 300), configEntry(10, ['n0', 'n1', 'n2'], ['n3'])]);
  log.sync();
  log.setMembership({ index: 10, voters: ['n0', 'n1', 'n2'], learners: ['n3'] });
  log.setHardState({ term: 2, vote: 'n0', commit: 10 });
  log.append([...makeEntries(11, 9, 2, () => 300), configEntry(20, ['n0', 'n1', 'n2', 'n3'], [])]);
  log.sync();
  log.setMembership({ index: 20, voters: ['n0', 'n1', 'n2', 'n3'], learners: [] });
  log.setHardState({ term: 2, vote: 'n0', commit: 20 });
  log.append([...makeEntries(21, 9, 2, () => 300), configEntry(30, ['n1', 'n2', 'n3'], [])]);
}

/**
 * The configuration saved is the last one committed, and the log still holds the Config entry
 * that made it, carrying exactly it (a commit-only hard state is written lazily, so the recovered
 * commit may be lower: recovery scans the log above the higher of the two, docs/raft.md).
 */
function expectConsistent(log: MmapLogStorage): void {
  const m = log.membership();
  expect(m).toEqual({ index: 20, voters: ['n0', 'n1', 'n2', 'n3'], learners: [] });
  expect(log.lastIndex()).toBeGreaterThanOrEqual(m!.index);
  const [entry] = log.entries(m!.index, m!.index + 1, 1 << 20);
  expect(entry!.type).toBe(EntryType.Config);
  expect(decodeMembership(entry!.payload, entry!.index)).toEqual(m);
  expect(log.hardState().commit).toBeLessThanOrEqual(log.lastIndex());
}

describe('membership file under power loss', () => {
  it('goes through the lazy file layer, and a power loss after changes leaves the last committed configuration with its entry', () => {
    const dir = dirs.make();
    changeMembersThenCrash(openLog(dir, { fileLayer: lazyFileLayer }));
    // The layer keeps a durable shadow of the membership file: the revert covers it.
    expect(existsSync(join(dir, `membership${SHADOW_SUFFIX}`))).toBe(true);
    for (const seed of [1, 2, 3]) {
      revertToDurable(dir, { seed, tear: true });
      const log = openLog(dir, { fileLayer: lazyFileLayer });
      expectConsistent(log);
      log.close();
    }
  });

  it('keeps the last committed configuration across simulated power losses with torn tails', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimFileLayer();
      const open = (): MmapLogStorage => MmapLogStorage.open('/n0/raft', { segmentBytes: SEGMENT_BYTES, indexSegmentEntries: INDEX_ENTRIES, recoveryZeroRunBytes: SEGMENT_BYTES, fileLayer: fs });
      changeMembersThenCrash(open());
      const rng = new Prng(seed);
      fs.powerLoss(() => rng.next());
      const log = open();
      expectConsistent(log);
      log.close();
    }
  });
});
