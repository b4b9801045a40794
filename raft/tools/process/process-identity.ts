// Is the process behind a recorded PID still the one we started? PIDs are reused by the OS, so a
// live PID alone proves nothing: a process counts as ours only when its kernel start time (field
// 22 of /proc/<pid>/stat) matches the one recorded at spawn, or, where no start time was recorded
// (cluster.json of an older `cluster up`), when its command line holds every marker (a conf path,
// a script name, a port). Every launcher signals a recorded PID only after this check.
import { existsSync, readFileSync } from 'node:fs';

/**
 * True while the process exists and has not exited. A zombie (exited, not yet reaped by its
 * parent) still answers signal 0 but runs nothing, so it counts as dead.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone; EPERM: it exists but belongs to another user, so it is not ours either way.
    return false;
  }
  return processState(pid) !== 'Z';
}

/** Fields 3 onward of /proc/<pid>/stat (the state letter first), or null when it does not exist (or no /proc). */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are plain.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The scheduler state letter of a process (R, S, T for stopped, Z for zombie), or undefined when unknown. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** The kernel's start time of a process in clock ticks, or null when it does not exist (or no /proc). */
export function processStartTicks(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/**
 * True when `pid` runs and is the process recorded: same start time when `startTicks` is given,
 * and every marker in one of its arguments. Where /proc is missing (macOS), liveness alone decides.
 */
export function isOurProcess(pid: number, markers: readonly string[], startTicks?: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return false;
  if (!existsSync('/proc/self/cmdline')) return true;
  if (startTicks !== undefined && startTicks !== null && processStartTicks(pid) !== startTicks) return false;
  if (markers.length === 0) return true;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // A zombie (exited, not yet reaped by its parent) has an empty command line.
    const args = cmdline.split('\0');
    return cmdline.length > 0 && markers.every((m) => args.some((a) => a.includes(m)));
  } catch {
    return false;
  }
}

/**
 * Signals a process's group (launchers start each process as a group leader, so helpers it forks
 * go too), falling back to the process alone. Returns false when it no longer exists.
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
