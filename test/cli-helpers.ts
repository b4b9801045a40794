// Runs the compiled `rmq` CLI (dist/src/cli/main.js) as a user would, with a time limit that
// kills the process by PID, and collects exit status, stdout and stderr.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { distPath } from '../raft/tools/process/dist-dir.js';

export { distPath };
import { isAlive } from '../raft/tools/process/process-identity.js';
import { until } from './helpers/poll.js';

export { isAlive };

export const root = new URL('..', import.meta.url).pathname;
export const rmqMain = distPath('src', 'cli', 'main.js');
export const startMain = distPath('src', 'cli', 'start.js');

/** Builds dist/ once when a test file runs without `npm test` having built it (or lacks one of `also`). */
export function ensureBuilt(...also: string[]): void {
  if (![rmqMain, startMain, ...also].every((f) => existsSync(f))) spawnSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'ignore' });
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const live = new Set<number>();

/** Kills (SIGKILL) every CLI process a test started and that still runs. */
export function killLiveRuns(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/**
 * `onStderr` sees each stderr chunk as it arrives (a test of output that must not wait for the
 * end); `envOverrides` win over the defaults (e.g. RMQ_LOG_LEVEL=info for the processes a
 * `cluster up` launches, which inherit it).
 */
export function run(script: string, args: readonly string[], timeoutMs = 60_000, onStderr?: (chunk: string) => void, envOverrides: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    // NAMESRV_ADDR from the environment would hide a missing -n.
    const env: NodeJS.ProcessEnv = { ...process.env, RMQ_LOG_LEVEL: 'silent', ...envOverrides };
    delete env['NAMESRV_ADDR'];
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (child.pid !== undefined) live.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      stderr += text;
      onStderr?.(text);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) live.delete(child.pid);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

export const rmq = (args: readonly string[], timeoutMs?: number, onStderr?: (chunk: string) => void): Promise<RunResult> => run(rmqMain, args, timeoutMs, onStderr);

/** Waits (bounded) until none of `pids` is alive; returns those still alive at `timeoutMs`. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  await until('the processes to exit', timeoutMs, () => !pids.some(isAlive), 50).catch(() => undefined);
  return pids.filter(isAlive);
}

export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
