// Shared pieces of the process-layer tests: the compiled stand-in node and a unique temporary run
// folder per test (liveness by PID is the kit's isAlive and processState).
import { existsSync, mkdtempSync } from 'node:fs';
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

