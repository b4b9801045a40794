// A run cleans up after crashed runs in the folders beside its own, and only after runs: a folder
// with the same pid file but no harness.json (a `rmq cluster up` folder, another tool's test) is
// left alone, while a crashed run's leftover process (its harness gone) is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HARNESS_FILE, killStaleRuns } from '../jepsen-like/run/stale-runs.js';
import { PidFile, PID_FILE_NAME } from '../raft/tools/process/pid-file.js';
import { isAlive } from '../raft/tools/process/process-identity.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.pid !== undefined && isAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A process that idles for at most 60 s, in its own process group (as launched nodes are). */
function idle(): number {
  const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { detached: true, stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !isAlive(pid);
}

describe('killStaleRuns', () => {
  it('kills what a crashed run left and never touches a folder that is not a run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stale-runs-'));
    dirs.push(root);
    const crashed = join(root, 'crashed-run');
    const other = join(root, 'cluster-up-folder');
    mkdirSync(crashed);
    mkdirSync(other);
    const left = idle();
    const foreign = idle();
    new PidFile(join(crashed, PID_FILE_NAME)).recordStart('n0', left);
    // The harness of the crashed run: a PID that no longer runs this harness.
    writeFileSync(join(crashed, HARNESS_FILE), JSON.stringify({ pid: 1, startTicks: 'gone' }) + '\n');
    new PidFile(join(other, PID_FILE_NAME)).recordStart('n0', foreign);
    const found = killStaleRuns(root);
    expect(found.map((f) => [f.pid, f.killed])).toEqual([[left, true]]);
    expect(await gone(left)).toBe(true);
    expect(isAlive(foreign)).toBe(true);
  });
});
