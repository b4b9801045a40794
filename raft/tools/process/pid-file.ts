// The record of every process a launcher started, kept in its run folder (`pids.jsonl`, one
// event per line, written synchronously). If the launcher itself is SIGKILLed, its exit hooks do
// not run; a later run reads the file and kills what is left, but only a process that
// process-identity.ts still finds ours (a recycled PID belongs to someone else and is left alone).
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTicks, signalGroup } from './process-identity.js';

export const PID_FILE_NAME = 'pids.jsonl';

interface StartLine {
  event: 'start';
  name: string;
  pid: number;
  startTicks: string | null;
}
interface ExitLine {
  event: 'exit';
  pid: number;
}

export class PidFile {
  constructor(readonly path: string) {}

  recordStart(name: string, pid: number): void {
    const line: StartLine = { event: 'start', name, pid, startTicks: processStartTicks(pid) };
    appendFileSync(this.path, JSON.stringify(line) + '\n');
  }

  recordExit(pid: number): void {
    const line: ExitLine = { event: 'exit', pid };
    appendFileSync(this.path, JSON.stringify(line) + '\n');
  }
}

export interface StaleProcess {
  name: string;
  pid: number;
  killed: boolean;
}

/**
 * Kills (SIGKILL, its whole process group) every process the pid file shows started and not
 * exited whose start time still matches. Returns what it found.
 */
export function killStaleProcesses(pidFilePath: string): StaleProcess[] {
  if (!existsSync(pidFilePath)) return [];
  const live = new Map<number, StartLine>();
  for (const text of readFileSync(pidFilePath, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    let line: StartLine | ExitLine;
    try {
      line = JSON.parse(text) as StartLine | ExitLine;
    } catch {
      continue; // a torn last line from a crash
    }
    if (line.event === 'start') live.set(line.pid, line);
    else live.delete(line.pid);
  }
  const found: StaleProcess[] = [];
  for (const entry of live.values()) {
    const ticks = processStartTicks(entry.pid);
    const same = ticks !== null && entry.startTicks !== null && ticks === entry.startTicks;
    if (same) signalGroup(entry.pid, 'SIGKILL');
    found.push({ name: entry.name, pid: entry.pid, killed: same });
  }
  return found;
}

/** Runs killStaleProcesses on every run folder directly under `runsRoot` (a harness's --out parent). */
export function killStaleProcessesUnder(runsRoot: string, maxFolders = 10_000): StaleProcess[] {
  if (!existsSync(runsRoot)) return [];
  const found: StaleProcess[] = [];
  for (const name of readdirSync(runsRoot).slice(0, maxFolders)) {
    const file = join(runsRoot, name, PID_FILE_NAME);
    if (existsSync(file) && statSync(file).isFile()) found.push(...killStaleProcesses(file));
  }
  return found;
}
