// Shared pieces of the process-layer tests: the compiled stand-in node, liveness by PID, and a
// unique temporary run folder per test.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
export const ECHO_SERVER = join(root, 'dist/jepsen-like/db/testing/echo-server.js');
export const DIST_DB = join(root, 'dist/jepsen-like/db/index.js');

export function assertBuilt(): void {
  if (!existsSync(ECHO_SERVER) || !existsSync(DIST_DB)) throw new Error('run `npx tsc -p .` first: the process tests spawn dist/');
}

export function tempRunDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `jepsen-${label}-`));
}

/** True while a process with this PID exists (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it is dead for our purposes.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The scheduler state letter of a process (R, S, T for stopped, Z for zombie). */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
