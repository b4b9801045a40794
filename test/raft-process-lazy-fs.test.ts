// A power loss of a whole Raft group of OS processes: three nodes with RMQ_UNSAFE_TEST_LAZY_FS=1
// and sync flush take a load, all three are SIGKILLed while proposals are in flight, each data
// folder is reverted to what was synced (with seeded torn tails), and the restarted group must
// still hold every acknowledged entry, because an acknowledgement waited for a majority's sync.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { defaultNodeScript, LocalCluster } from '../raft/tools/demo/local-cluster.js';
import { LAZY_FS_ENV, revertToDurable } from '../raft/storage/lazy-fs.js';
import { until } from './helpers/poll.js';

const root = new URL('..', import.meta.url).pathname;
let dir = '';
let cluster: LocalCluster | null = null;
const saved = process.env[LAZY_FS_ENV];

afterAll(async () => {
  await cluster?.close().catch(() => cluster?.killAllSync());
  cluster?.killAllSync();
  if (saved === undefined) delete process.env[LAZY_FS_ENV];
  else process.env[LAZY_FS_ENV] = saved;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a Raft group of lazy processes through a power loss', () => {
  it('keeps every acknowledged entry after SIGKILL of all nodes and a revert to what was synced', async () => {
    if (!existsSync(defaultNodeScript())) spawnSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'ignore' });
    dir = mkdtempSync(join(tmpdir(), 'raft-lazy-fs-test-'));
    const basePort = await findFreeBlock(3);
    process.env[LAZY_FS_ENV] = '1';
    cluster = new LocalCluster({ dir, basePort, flush: 'sync', nodeArgs: ['--segment-bytes', String(1024 * 1024)] });
    await cluster.start();
    const leader = await cluster.waitForLeader();
    const spec = { count: 0, seconds: 20, window: 64, batchMax: 8, payloadBytes: 300 };
    const load = cluster.load(leader, { fromSeq: 0, ...spec }).catch(() => null);
    await until('2,000 acknowledged entries', 30_000, () => cluster!.acked.count() >= 2000);
    await Promise.all(cluster.ids.map((id) => cluster!.kill(id)));
    await load;
    const acked = cluster.acked.count();

    // The nodes ran lazily (they kept shadows), so the revert below has something to go by.
    for (const id of cluster.ids) expect(existsSync(join(dir, id, 'hardstate.durable'))).toBe(true);
    cluster.ids.forEach((id, i) => revertToDurable(join(dir, id), { seed: 17 + i, tear: true }));

    await cluster.start();
    await cluster.waitForLeader(20_000);
    const converged = await cluster.waitConverged(30_000);
    expect(converged.applied).toBeGreaterThanOrEqual(acked);
    const checks = await cluster.checkAcked();
    for (const id of cluster.ids) expect(checks[id]).toMatchObject({ checked: acked, missing: 0 });
    expect(readFileSync(cluster.logPath('n0'), 'utf8')).toContain(`${LAZY_FS_ENV}=1: THIS PROCESS KEEPS SHADOW COPIES`);
  }, 120_000);
});
