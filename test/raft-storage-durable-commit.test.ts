// The hard state's commit index must never be durable above the durable log: after a power loss
// under async flush, recovery would otherwise find stale or missing entries under a commit that
// covers them. These tests read the `hardstate` file itself, which is what survives a power loss.
import { afterEach, describe, expect, it } from 'vitest';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import { readHardState } from '../raft/storage/state-files.js';
import { TempDirs, makeEntries, openLog } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const small = () => 100;

/** Resolves once a background sync started now has completed (or at once when none could start). */
function backgroundSync(log: ReturnType<typeof openLog>): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = log.syncInBackground((err) => (err ? reject(err) : resolve()));
    if (!started) reject(new Error('a background sync is already running'));
  });
}

describe('MmapLogStorage durable commit', () => {
  it('writes a term change with a commit no higher than the durable log index when entries are not synced', () => {
    const dir = dirs.make();
    const log = openLog(dir, { commitPersistIntervalMs: 0 });
    log.append(makeEntries(1, 10, 1, small));
    expect(log.durableIndex()).toBe(0);
    log.setHardState({ term: 2, vote: '', commit: 10 });
    expect(readHardState(realFileLayer, dir)).toEqual({ term: 2, vote: '', commit: 0 });
    expect(log.hardState().commit).toBe(10);
    log.sync();
    expect(log.durableIndex()).toBe(10);
    expect(readHardState(realFileLayer, dir)!.commit).toBe(10);
    log.close();
  });

  it('clamps the background commit write to what was durable when it started, not what its parallel data sync makes durable', async () => {
    const dir = dirs.make();
    const log = openLog(dir, { commitPersistIntervalMs: 0 });
    log.append(makeEntries(1, 5, 1, small));
    log.sync();
    log.append(makeEntries(6, 5, 1, small));
    log.setHardState({ term: 1, vote: '', commit: 10 });
    await backgroundSync(log);
    expect(log.durableIndex()).toBe(10);
    expect(readHardState(realFileLayer, dir)!.commit).toBe(5);
    await backgroundSync(log);
    expect(readHardState(realFileLayer, dir)!.commit).toBe(10);
    log.close();
  });

  it('lowers the durable index when a truncation removes synced entries, and clamps the next commit write to it', () => {
    const dir = dirs.make();
    const log = openLog(dir, { commitPersistIntervalMs: 0 });
    log.append(makeEntries(1, 10, 1, small));
    log.sync();
    log.append(makeEntries(6, 3, 2, small, 1));
    expect(log.durableIndex()).toBe(5);
    log.setHardState({ term: 3, vote: '', commit: 8 });
    expect(readHardState(realFileLayer, dir)!.commit).toBe(5);
    log.close();
    expect(readHardState(realFileLayer, dir)!.commit).toBe(8);
  });

  it('keeps the commit already on disk when the durable index dips below it after a truncation', () => {
    const dir = dirs.make();
    const log = openLog(dir, { commitPersistIntervalMs: 0 });
    log.append(makeEntries(1, 10, 1, small));
    log.setHardState({ term: 1, vote: '', commit: 4 });
    log.sync();
    expect(readHardState(realFileLayer, dir)!.commit).toBe(4);
    log.append(makeEntries(6, 3, 2, small, 1));
    log.setHardState({ term: 2, vote: '', commit: 4 });
    expect(readHardState(realFileLayer, dir)!.commit).toBe(4);
    log.close();
  });

  it('with the test-only unsafe option writes the commit past the durable log, as before the fix', () => {
    const dir = dirs.make();
    const log = openLog(dir, { commitPersistIntervalMs: 0, unsafeTestCommitAheadOfDurable: true });
    log.append(makeEntries(1, 10, 1, small));
    log.setHardState({ term: 2, vote: '', commit: 10 });
    expect(readHardState(realFileLayer, dir)!.commit).toBeGreaterThan(log.durableIndex());
    log.close();
  });
});
