// The abuse nemesis's resident-memory bound: each process of the cluster is measured from
// /proc/<pid>/status (VmRSS) and reported when it passes the bound. Here the bound is set tiny
// and huge against a live process, so the check is seen to fire and to stay quiet.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { rssMiB, rssOverBound } from '../jepsen-like/nemesis/abuse-nemesis.js';

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
});

describe('the abuse nemesis RSS bound', () => {
  it('reports a live process over a tiny bound, and no process under a generous one or gone', async () => {
    // A child that holds about 64 MiB of touched memory until it is killed (bounded: 60 s).
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 1024 * 1024, 1); process.stdout.write("ready\\n"); setTimeout(() => b.length, 60_000);'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const rss = { n0: rssMiB(child.pid), gone: rssMiB(2 ** 22 + 12345) };
    expect(rss.n0).toBeGreaterThan(64);
    expect(rss.gone).toBeUndefined();

    const over = rssOverBound(rss, 1, 'during the test');
    expect(over).toHaveLength(1);
    expect(over[0]).toMatch(/^n0 used [\d.]+ MiB of resident memory during the test, over the bound of 1 MiB$/);
    expect(rssOverBound(rss, 64 * 1024, 'during the test')).toEqual([]);
  });
});
