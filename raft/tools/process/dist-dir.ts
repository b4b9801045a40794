// The one resolver of the compiled tree: every launcher (the dev-cluster kit, the jepsen-like
// harness, the Raft demo) starts its processes from dist/ of this checkout, whether the caller
// runs compiled (dist/raft/tools/process/dist-dir.js) or from sources under vitest
// (raft/tools/process/dist-dir.ts, whose dist/ is <root>/dist).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessError } from './process-errors.js';

export function distDir(): string {
  const here = fileURLToPath(import.meta.url);
  const up = join(dirname(here), '..', '..', '..');
  return here.endsWith('.js') ? up : join(up, 'dist');
}

/** A path under dist/, e.g. distPath('src', 'broker', 'main.js'). */
export function distPath(...parts: string[]): string {
  return join(distDir(), ...parts);
}

/** Throws ERR_PROCESS_NOT_BUILT naming the first missing file, with what to do about it. */
export function assertBuilt(...files: string[]): void {
  for (const file of files) {
    if (!existsSync(file)) throw new ProcessError('ERR_PROCESS_NOT_BUILT', `${file} is missing; build first (npx tsc -p . or npm run build)`);
  }
}
