// Shared pieces of the end-to-end jepsen-like tests: short runs over the real compiled broker
// (dist/, built by `npm test`), each in its own temporary parent folder (so the stale-process
// sweep of one run never touches another test's run), and checks that every process is gone.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../raft/tools/process/process-identity.js';
import { assertDistBuilt } from '../jepsen-like/run/launchers.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from '../jepsen-like/run/run-options.js';
import { runTest, type RunOutcome } from '../jepsen-like/run/run-test.js';
import { verdictTable } from '../jepsen-like/cli.js';

export function assertBrokerBuilt(): void {
  assertDistBuilt();
}

const parents: string[] = [];

export function removeRunFolders(): void {
  for (const p of parents.splice(0)) rmSync(p, { recursive: true, force: true });
}

/** A short run: 3 nodes, 4 queues, faults of 3 s separated by 3 s of health, each kind in turn. */
export async function shortRun(label: string, overrides: Partial<RunOptions>): Promise<RunOutcome> {
  const parent = mkdtempSync(join(tmpdir(), `jepsen-${label}-`));
  parents.push(parent);
  return runTest({
    ...DEFAULT_RUN_OPTIONS,
    out: join(parent, 'run'),
    seed: 20_261_124,
    logLevel: 'warn',
    schedule: 'cycle',
    intervalS: 3,
    quietS: 2,
    recoveryS: 2,
    ratePerSec: 30,
    producers: 3,
    consumers: 2,
    rebalanceS: 4,
    hardDeadlineS: 150,
    ...overrides,
  });
}

/** The verdict lines, to make a failed expectation readable. */
export function describeRun(o: RunOutcome): string {
  return verdictTable(o).join('\n');
}

/** PIDs the run started that still exist (it must leave none). */
export function survivors(runDir: string): number[] {
  const file = join(runDir, 'pids.jsonl');
  if (!existsSync(file)) return [];
  const started = new Set<number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const e = JSON.parse(line) as { event: string; pid: number };
    if (e.event === 'start') started.add(e.pid);
  }
  return [...started].filter(isAlive);
}
