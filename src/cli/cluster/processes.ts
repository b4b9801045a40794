// OS processes of a local cluster: launched detached (they outlive the CLI that started them, in
// their own process group so a Ctrl-C in the terminal does not reach them), recognised again by
// PID plus their command line (a recycled PID is never signalled), and stopped with SIGTERM then
// SIGKILL after a grace period.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../sleep.js';

/** dist/ of this checkout (the CLI runs from dist/src/cli/cluster/). */
export function distDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'src')}`) ? join(here, '..', '..', '..') : join(here, '..', '..', '..', 'dist');
}

export const namesrvScript = (): string => join(distDir(), 'src', 'namesrv', 'main.js');
export const brokerScript = (): string => join(distDir(), 'src', 'broker', 'main.js');

export interface Launched {
  pid: number;
  /** Resolves with the exit code (or signal name) if the process ends while we still run. */
  exited: Promise<number | string>;
}

/** Starts `node ...nodeFlags script ...args` detached, stdout and stderr appended to logPath. */
export function launchDetached(script: string, args: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env, nodeFlags: readonly string[] = []): Launched {
  const fd = openSync(logPath, 'a');
  try {
    const child = spawn(process.execPath, [...nodeFlags, script, ...args], { detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new Error(`could not start ${script}`);
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    child.unref();
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone; EPERM: it exists but belongs to another user, so it is not ours either way.
    return false;
  }
}

/**
 * True when `pid` runs and every marker (a conf path, a script name, a port) appears in one of
 * its arguments. Where /proc is missing (macOS), liveness alone decides.
 */
export function isOurProcess(pid: number, markers: readonly string[]): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return false;
  const proc = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    const cmdline = readFileSync(proc, 'utf8');
    // A zombie (exited, not yet reaped by its parent) has an empty command line.
    const args = cmdline.split('\0');
    return cmdline.length > 0 && markers.every((m) => args.some((a) => a.includes(m)));
  } catch {
    return false;
  }
}

export type StopResult = 'SIGTERM' | 'SIGKILL' | 'not running';

/**
 * SIGTERM to every process, SIGKILL to those still running after graceMs. Processes that are not
 * ours (see isOurProcess) are reported as not running and left alone.
 */
export async function stopProcesses(procs: readonly { pid: number; markers: readonly string[] }[], graceMs: number): Promise<StopResult[]> {
  const results: StopResult[] = procs.map(() => 'not running');
  const live: number[] = [];
  procs.forEach((p, i) => {
    if (!isOurProcess(p.pid, p.markers)) return;
    try {
      // A paused (SIGSTOP) process would not act on SIGTERM.
      process.kill(p.pid, 'SIGCONT');
      process.kill(p.pid, 'SIGTERM');
      results[i] = 'SIGTERM';
      live.push(i);
    } catch {
      // exited in between
    }
  });
  const deadline = Date.now() + graceMs;
  while (live.some((i) => isOurProcess(procs[i]!.pid, procs[i]!.markers)) && Date.now() < deadline) await sleep(50);
  for (const i of live) {
    const p = procs[i]!;
    if (!isOurProcess(p.pid, p.markers)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      results[i] = 'SIGKILL';
    } catch {
      // exited in between
    }
  }
  // SIGKILL is not instant: wait (bounded) until the kernel has removed them.
  const killDeadline = Date.now() + 5000;
  while (live.some((i) => isOurProcess(procs[i]!.pid, procs[i]!.markers)) && Date.now() < killDeadline) await sleep(20);
  return results;
}

/** The last lines of a log, for an error message that explains why a process died. */
export function tailOf(path: string, lines = 5): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
