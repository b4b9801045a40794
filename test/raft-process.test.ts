// Three Raft nodes as OS processes over TCP on 127.0.0.1: 10,000 proposals, SIGKILL of the
// leader under load, a new leader that keeps committing, every acknowledged entry on every
// survivor, and the killed node restarting and catching up to the same log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFailoverScenario, type FailoverSummary } from '../raft/tools/demo/failover-scenario.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { defaultNodeScript, LocalCluster } from '../raft/tools/demo/local-cluster.js';

const root = new URL('..', import.meta.url).pathname;
let dir = '';
let cluster: LocalCluster | null = null;
let summary: FailoverSummary | null = null;

beforeAll(async () => {
  // npm test builds first; a bare vitest run builds here when the compiled node is missing.
  if (!existsSync(defaultNodeScript())) spawnSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'raft-process-test-'));
  const basePort = await findFreeBlock(3);
  cluster = new LocalCluster({ dir, basePort, flush: 'async', nodeArgs: ['--segment-bytes', String(32 * 1024 * 1024)] });
  summary = await runFailoverScenario(cluster, { dir, basePort, entries: 10_000, payloadBytes: 256, killAfterMs: 300 });
}, 60_000);

afterAll(async () => {
  await cluster?.close().catch(() => cluster?.killAllSync());
  cluster?.killAllSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a 3-node raft group of OS processes', () => {
  it('commits all 10,000 proposals before the kill', () => {
    expect(summary!.loads[0]!.acked).toBe(10_000);
  });

  it('elects a different leader soon after SIGKILL of the leader', () => {
    expect(summary!.secondLeader).not.toBe(summary!.firstLeader);
    // The target is 1 s (400-800 ms election timeout); bench:raft reports the real figure. Other
    // test files share the 2 cores here, so the test allows slack rather than flake.
    expect(summary!.failoverMs).toBeLessThan(2000);
  });

  it('keeps committing under the new leader', () => {
    expect(summary!.loads[1]!.acked).toBe(2000);
  });

  it('has every acknowledged entry on every survivor and on the restarted node', () => {
    expect(summary!.ackedEntries).toBeGreaterThanOrEqual(12_000);
    expect(Object.keys(summary!.missingBySurvivor)).toHaveLength(2);
    expect(Object.values(summary!.missingBySurvivor)).toEqual([0, 0]);
    expect(Object.keys(summary!.missingAfterRestart)).toHaveLength(3);
    expect(Object.values(summary!.missingAfterRestart)).toEqual([0, 0, 0]);
    expect(summary!.problems).toEqual([]);
  });

  it('brings the restarted node to the same applied index and hash as the survivors', async () => {
    const reports = await Promise.all(cluster!.ids.map((id) => cluster!.status(id)));
    expect(new Set(reports.map((r) => r.appliedHash)).size).toBe(1);
    expect(new Set(reports.map((r) => r.applied)).size).toBe(1);
    expect(reports[0]!.applied).toBeGreaterThanOrEqual(summary!.ackedEntries);
  });
});
