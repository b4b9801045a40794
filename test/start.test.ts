// `npm start -- --once` (node dist/src/cli/start.js --once, stdin not a terminal): brings up a
// NameServer and a 3-node group, kills the leader under traffic, restarts it, and exits 0 only
// when every acknowledged message was consumed, printing the failover summary; every process it
// started is gone afterwards and its data folder removed.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killLiveRuns, killPids, run, startMain, waitGone } from './cli-helpers.js';

let pids: number[] = [];

afterAll(() => {
  killLiveRuns();
  killPids(pids);
});

describe('npm start -- --once', () => {
  it('survives a leader SIGKILL, prints the failover summary and exits 0 with nothing lost', async () => {
    ensureBuilt();
    const r = await run(startMain, ['--once', '--timeout', '100', '--kill-after', '3', '--rate', '500'], 120_000);
    // Every "pid N" the demo printed: the NameServer, the brokers and the restarted node.
    pids = [...r.stdout.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // npm start serves the dashboard and prints where.
    expect(r.stdout).toMatch(/dashboard on http:\/\/127\.0\.0\.1:\d+\//);
    expect(r.stdout).toMatch(/SIGKILL leader n\d \(term \d+\)/);
    expect(r.stdout).toMatch(/new leader n\d \(term \d+\) registered with the NameServer \d+ ms after the kill/);
    expect(r.stdout).toMatch(/sends interrupted for \d+ ms/);
    expect(r.stdout).toMatch(/restarted n\d \(pid \d+\)/);
    expect(r.stdout).toContain('acknowledged but never consumed: none');
    expect(r.stdout).toContain('OK: nothing acknowledged was lost');
    const acked = Number(/(\d+) messages acknowledged/.exec(r.stdout)?.[1]);
    const consumed = Number(/(\d+) distinct messages consumed/.exec(r.stdout)?.[1]);
    expect(acked).toBeGreaterThan(0);
    expect(consumed).toBeGreaterThanOrEqual(acked);
    // Not a terminal: plain progress lines, no spinner control codes.
    expect(r.stdout).not.toContain('\x1b[');
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(await waitGone(pids, 5000)).toEqual([]);
    const dataDir = /data folder (\S+)/.exec(r.stdout)?.[1];
    expect(dataDir).toBeDefined();
    expect(existsSync(dataDir!)).toBe(false);
  }, 150_000);
});
