// The test-only lazy file layer on real files: a log used through it and then dropped without a
// close (a SIGKILL) comes back after revertToDurable with exactly what it synced, or, with
// tearing, with a seeded prefix of the rest that recovery cuts at a whole entry.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fileLayerFromEnv, lazyFileLayer, LYING_FSYNC, lyingFsyncFileLayer, NEVER_SYNCED_SUFFIX, revertToDurable, SHADOW_SUFFIX } from '../raft/storage/lazy-fs.js';
import { MappedFile } from '../raft/storage/mapped-file.js';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import { assertHolds, makeEntries, openLog, TempDirs } from './raft-storage-helpers.js';
import { distPath, ensureBuilt } from './cli-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** Appends and syncs 1..syncedCount, appends up to 100 more unsynced, and drops the log unclosed. */
function crashLazily(dir: string, syncedCount: number): void {
  const log = openLog(dir, { fileLayer: lazyFileLayer });
  log.setHardState({ term: 2, vote: 'n1', commit: 0 });
  log.append(makeEntries(1, syncedCount, 2, (i) => 200 + ((i * 53) % 1200)));
  log.sync();
  log.append(makeEntries(syncedCount + 1, 100 - syncedCount, 2, () => 900));
  // No close: the process is killed with its page cache intact, which the revert then drops.
}

describe('lazy file layer and revertToDurable', () => {
  it('brings a killed log back to exactly what it synced', () => {
    const dir = dirs.make();
    crashLazily(dir, 40);
    const report = revertToDurable(dir);
    expect(report.filesReverted).toBeGreaterThan(0);
    expect(report.bytesDropped).toBeGreaterThan(0);
    const log = openLog(dir, { fileLayer: lazyFileLayer });
    assertHolds(log, makeEntries(1, 40, 2, (i) => 200 + ((i * 53) % 1200)), 1);
    expect(log.hardState()).toEqual({ term: 2, vote: 'n1', commit: 0 });
    log.close();
  });

  it('does the same as a command for harnesses that drive processes', () => {
    const cli = distPath('raft', 'tools', 'revert-to-durable-cli.js');
    ensureBuilt(cli);
    const dir = dirs.make();
    crashLazily(dir, 25);
    const run = spawnSync(process.execPath, [cli, '--data-dir', dir], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { filesReverted: number; bytesDropped: number };
    expect(report.bytesDropped).toBeGreaterThan(0);
    assertHolds(openLog(dir, { fileLayer: lazyFileLayer }), makeEntries(1, 25, 2, (i) => 200 + ((i * 53) % 1200)), 1);
  });

  it('counts a background sync as a sync', async () => {
    const dir = dirs.make();
    const log = openLog(dir, { fileLayer: lazyFileLayer });
    const synced = makeEntries(1, 50, 1, () => 1000);
    log.append(synced);
    expect(await new Promise((resolve) => log.syncInBackground(resolve))).toBeNull();
    log.append(makeEntries(51, 20, 1, () => 1000));
    revertToDurable(dir);
    assertHolds(openLog(dir, { fileLayer: lazyFileLayer }), synced, 1);
  });

  it('keeps every byte of a log that was closed (close syncs), and a second revert changes nothing', () => {
    const dir = dirs.make();
    const log = openLog(dir, { fileLayer: lazyFileLayer });
    const entries = makeEntries(1, 70, 1, () => 1500);
    log.append(entries);
    log.close();
    expect(revertToDurable(dir)).toEqual({ filesReverted: 0, bytesDropped: 0 });
    assertHolds(openLog(dir), entries, 1);
  });

  it('with tearing keeps a seeded prefix of the unsynced entries, cut at a whole entry, the same for the same seed', () => {
    const outcomes: number[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 1]) {
      const dir = dirs.make();
      crashLazily(dir, 30);
      revertToDurable(dir, { seed, tear: true });
      const log = openLog(dir, { fileLayer: lazyFileLayer });
      const last = log.lastIndex();
      expect(last).toBeGreaterThanOrEqual(30);
      assertHolds(log, [...makeEntries(1, 30, 2, (i) => 200 + ((i * 53) % 1200)), ...makeEntries(31, 70, 2, () => 900)].slice(0, last), 1);
      log.close();
      outcomes.push(last);
    }
    expect(outcomes[6]).toBe(outcomes[0]);
    expect(outcomes.some((last) => last > 30)).toBe(true);
  });

  it('removes a file that was never synced, and leaves files it does not manage alone', () => {
    const dir = dirs.make();
    const created = MappedFile.open(join(dir, 'fresh'), 8192, lazyFileLayer);
    created.buffer.fill(1);
    writeFileSync(join(dir, 'other.json'), '{"a":1}');
    expect(existsSync(join(dir, 'fresh' + NEVER_SYNCED_SUFFIX))).toBe(true);
    expect(lazyFileLayer.readdir(dir).sort()).toEqual(['fresh', 'other.json']);
    revertToDurable(dir);
    expect(readdirSync(dir)).toEqual(['other.json']);
    expect(readFileSync(join(dir, 'other.json'), 'utf8')).toBe('{"a":1}');
  });

  it('brings back a created file never synced as zeros of its size when its directory was synced', () => {
    const dir = dirs.make();
    const created = MappedFile.open(join(dir, 'named'), 8192, lazyFileLayer);
    created.buffer.fill(3);
    lazyFileLayer.fsyncDir(dir);
    expect(revertToDurable(dir)).toEqual({ filesReverted: 1, bytesDropped: 8192 });
    expect(readFileSync(join(dir, 'named')).equals(Buffer.alloc(8192))).toBe(true);
  });

  it('follows renames and unlinks with the shadows', () => {
    const dir = dirs.make();
    lazyFileLayer.writeFileSynced(join(dir, 'a.tmp'), Buffer.from('one'));
    lazyFileLayer.rename(join(dir, 'a.tmp'), join(dir, 'a'));
    expect(readdirSync(dir).sort()).toEqual(['a', 'a' + SHADOW_SUFFIX]);
    lazyFileLayer.writeFileSynced(join(dir, 'b'), Buffer.from('two'));
    lazyFileLayer.unlink(join(dir, 'b'));
    expect(readdirSync(dir).sort()).toEqual(['a', 'a' + SHADOW_SUFFIX]);
    expect(revertToDurable(dir).filesReverted).toBe(0);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('one');
  });

  it('is chosen by RMQ_UNSAFE_TEST_LAZY_FS=1 with a loud warning, off when unset, and refuses other values', () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      expect(fileLayerFromEnv({})).toBe(realFileLayer);
      expect(fileLayerFromEnv({ RMQ_UNSAFE_TEST_LAZY_FS: '1' })).toBe(lazyFileLayer);
      expect(() => fileLayerFromEnv({ RMQ_UNSAFE_TEST_LAZY_FS: 'yes' })).toThrow(/not understood/);
      expect(fileLayerFromEnv({ RMQ_UNSAFE_TEST_LAZY_FS: LYING_FSYNC })).toBe(lyingFsyncFileLayer);
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).toMatch(/RMQ_UNSAFE_TEST_LAZY_FS=1: THIS PROCESS KEEPS SHADOW COPIES/);
    expect(writes.join('')).toMatch(/lying-fsync: THIS PROCESS'S LOG SYNCS MAKE NOTHING DURABLE/);
  });

  it('with the unsafe lying-fsync variant loses synced log entries at a power loss but keeps the hard state', () => {
    const dir = dirs.make();
    const log = openLog(dir, { fileLayer: lyingFsyncFileLayer });
    log.setHardState({ term: 3, vote: 'n2', commit: 0 });
    log.append(makeEntries(1, 30, 3, () => 500));
    log.sync();
    // Killed without a close, then the power goes: the synced entries were never durable.
    const report = revertToDurable(dir);
    expect(report.bytesDropped).toBeGreaterThan(0);
    const reopened = openLog(dir, { fileLayer: lazyFileLayer });
    expect(reopened.lastIndex()).toBeLessThan(30);
    expect(reopened.hardState()).toEqual({ term: 3, vote: 'n2', commit: 0 });
    reopened.close();
  });
});
