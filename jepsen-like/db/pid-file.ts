// The record of every process a harness started, kept in its run folder (`pids.jsonl`, one
// event per line, written synchronously). If the harness itself is SIGKILLed, its exit hooks do
// not run; a later run reads the file and kills what is left. PIDs are reused by the OS, so a
// process is killed only when its start time (field 22 of /proc/<pid>/stat) still matches the
// one recorded: a recycled PID belongs to someone else and is left alone.
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

/** The kernel's start time of a process in clock ticks, or null when it does not exist (or no /proc). */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
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

/**
 * Signals a process's group (the harness starts each process as a group leader, so helpers it
 * forks go too), falling back to the process alone. Returns false when it no longer exists.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}
