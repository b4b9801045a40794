// A run cleans up after crashed runs in the folders beside its own, and only after runs: a folder
// with the same pid file but no harness.json (a `rmq cluster up` folder, another tool's test) is
// left alone, while a crashed run's leftover process (its harness gone) is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HARNESS_FILE, killStaleRuns } from '../jepsen-like/run/stale-runs.js';
import { PID_FILE_NAME, PidFile } from '../raft/tools/process/pid-file.js';
import { isAlive } from '../raft/tools/process/process-identity.js';
import { until } from './helpers/poll.js';

const children: ChildProcess[] = [];
const roots: string[] = [];

function idleChild(): ChildProcess {
  // Its own process group, as the kit starts brokers, so the group kill reaches only it.
  const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore', detached: true });
  children.push(c);
  return c;
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.pid !== undefined && isAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('cleaning up after crashed jepsen-like runs', () => {
  it('kills what a crashed run left but never touches a folder that is not a jepsen-like run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stale-runs-'));
    roots.push(root);
    const crashedRun = join(root, 'crashed-run');
    const otherCluster = join(root, 'some-local-cluster');
    mkdirSync(crashedRun);
    mkdirSync(otherCluster);
    const leftOver = idleChild();
    const bystander = idleChild();
    await until('both children started', 5_000, () => leftOver.pid !== undefined && bystander.pid !== undefined);
    new PidFile(join(crashedRun, PID_FILE_NAME)).recordStart('n0', leftOver.pid!);
    // The crashed run's harness is gone: a pid that no longer runs this start time.
    writeFileSync(join(crashedRun, HARNESS_FILE), JSON.stringify({ pid: 999_999_999, startTicks: '1' }) + '\n');
    // A cluster started by `rmq cluster up --dir` or a test: a pid file but no harness file.
    new PidFile(join(otherCluster, PID_FILE_NAME)).recordStart('n0', bystander.pid!);

    const found = killStaleRuns(root);

    expect(found.map((f) => f.pid)).toEqual([leftOver.pid]);
    await until('the crashed run\'s process is gone', 5_000, () => !isAlive(leftOver.pid!));
    expect(isAlive(bystander.pid!)).toBe(true);
  });
});
