// Cleans up after earlier runs that crashed: every run folder next to ours whose harness is gone
// may have left broker processes behind; their pid files say which, and the start-time check in
// killStaleProcesses leaves recycled PIDs alone. A folder whose harness still runs (another run
// in progress, e.g. a parallel test) is left alone: its harness.json names a live process. A
// folder without harness.json is not a run's (e.g. a `rmq cluster up` folder or another tool's
// test, which keep the same pid file): it is never touched.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killStaleProcesses, PID_FILE_NAME, type StaleProcess } from '../../raft/tools/process/pid-file.js';
import { processStartTicks } from '../../raft/tools/process/process-identity.js';

export const HARNESS_FILE = 'harness.json';
const MAX_FOLDERS = 10_000;

interface HarnessLine {
  pid: number;
  startTicks: string | null;
}

/** Records this harness process in the run folder, so other runs know the folder is live. */
export function writeHarnessFile(runDir: string): void {
  const line: HarnessLine = { pid: process.pid, startTicks: processStartTicks(process.pid) };
  writeFileSync(join(runDir, HARNESS_FILE), JSON.stringify(line) + '\n');
}

function harnessAlive(runDir: string): boolean {
  const file = join(runDir, HARNESS_FILE);
  if (!existsSync(file)) return false;
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as HarnessLine;
    if (h.pid === process.pid) return false;
    const ticks = processStartTicks(h.pid);
    return ticks !== null && ticks === h.startTicks;
  } catch {
    return false;
  }
}

/** Kills what crashed runs under `runsRoot` left running; returns what it found. */
export function killStaleRuns(runsRoot: string): StaleProcess[] {
  if (!existsSync(runsRoot)) return [];
  const found: StaleProcess[] = [];
  for (const name of readdirSync(runsRoot).slice(0, MAX_FOLDERS)) {
    const dir = join(runsRoot, name);
    const pids = join(dir, PID_FILE_NAME);
    try {
      if (!existsSync(pids) || !statSync(pids).isFile() || !existsSync(join(dir, HARNESS_FILE)) || harnessAlive(dir)) continue;
    } catch {
      continue;
    }
    found.push(...killStaleProcesses(pids));
  }
  return found;
}
