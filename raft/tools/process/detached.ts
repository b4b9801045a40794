// Processes that outlive the launcher that started them (`rmq cluster up` returns while its
// cluster runs on): launched detached, in their own process group so a Ctrl-C in the terminal
// does not reach them, recognised again later by PID plus the identity check of
// process-identity.ts (a recycled PID is never signalled), and stopped with SIGTERM then SIGKILL
// after a grace period. Processes that live and die with their launcher use ProcessControl.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOurProcess } from './process-identity.js';
import { ProcessError } from './process-errors.js';

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
    if (child.pid === undefined) throw new ProcessError('ERR_PROCESS_SPAWN', `could not start ${script}`);
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    child.unref();
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

export type StopResult = 'SIGTERM' | 'SIGKILL' | 'not running';

/** A recorded process: its PID and what proves it is still ours (see isOurProcess). */
export interface RecordedProcess {
  pid: number;
  markers: readonly string[];
  startTicks?: string | null;
}

const ours = (p: RecordedProcess): boolean => isOurProcess(p.pid, p.markers, p.startTicks);

/**
 * SIGTERM to every process, SIGKILL to those still running after graceMs. Processes that are not
 * ours (see isOurProcess) are reported as not running and left alone.
 */
export async function stopProcesses(procs: readonly RecordedProcess[], graceMs: number): Promise<StopResult[]> {
  const results: StopResult[] = procs.map(() => 'not running');
  const live: number[] = [];
  procs.forEach((p, i) => {
    if (!ours(p)) return;
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
  while (live.some((i) => ours(procs[i]!)) && Date.now() < deadline) await sleep(50);
  for (const i of live) {
    const p = procs[i]!;
    if (!ours(p)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      results[i] = 'SIGKILL';
    } catch {
      // exited in between
    }
  }
  // SIGKILL is not instant: wait (bounded) until the kernel has removed them.
  const killDeadline = Date.now() + 5000;
  while (live.some((i) => ours(procs[i]!)) && Date.now() < killDeadline) await sleep(20);
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
