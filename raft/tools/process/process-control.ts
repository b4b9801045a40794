// The supervisor of every launcher whose processes live and die with it (the jepsen-like db, the
// dev-cluster kit's LocalCluster, the Raft demo): starts, kills, restarts, pauses and resumes OS
// processes by PID, and guarantees they all die with the launcher: stopAll() SIGKILLs every one,
// exit hooks do the same if the launcher exits or is interrupted, and the pid file lets a later
// run clean up after a launcher that was itself SIGKILLed. Each process is a process-group leader (detached), so a signal reaches any
// helper it forks, and its stdout and stderr go to `<runDir>/logs/<name>.log` across restarts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { registerExitHook } from './exit-hooks.js';
import { PID_FILE_NAME, PidFile } from './pid-file.js';
import { ProcessError } from './process-errors.js';
import { signalGroup } from './process-identity.js';

export interface ProcessSpec {
  /** Unique within the run: the log file and every call use it. */
  name: string;
  command: string;
  args: readonly string[];
  /** Added to the harness's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Open an IPC channel (the child is a Node program that talks with process.send). */
  ipc?: boolean;
}

export type ProcessStatus = 'running' | 'paused' | 'exited';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessInfo {
  name: string;
  pid: number;
  status: ProcessStatus;
  /** How many times it was started (restarts + 1). */
  starts: number;
  lastExit: ExitInfo | undefined;
}

const DEFAULT_EXIT_WAIT_MS = 10_000;
const MAX_PROCESSES = 256;

interface Managed {
  spec: ProcessSpec;
  child: ChildProcess;
  pid: number;
  status: ProcessStatus;
  starts: number;
  exited: Promise<ExitInfo>;
  lastExit: ExitInfo | undefined;
  /** A kill of this incarnation was asked for: its exit is expected. */
  killRequested: boolean;
}

/** A process that exited without anyone asking: a crash of the system under test. */
export interface UnexpectedExit extends ExitInfo {
  name: string;
  pid: number;
  /** The end of its log at the time, for the person reading the run. */
  logTail: string;
}

/** At most this many unexpected exits are kept (a crash loop must not grow the list without bound). */
const MAX_UNEXPECTED_EXITS = 100;

export class ProcessControl {
  private readonly procs = new Map<string, Managed>();
  private readonly pidFile: PidFile;
  private readonly unregisterExitHook: () => void;
  readonly logDir: string;
  private closed = false;
  private readonly unexpected: UnexpectedExit[] = [];

  constructor(readonly runDir: string) {
    this.logDir = join(runDir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
    this.pidFile = new PidFile(join(runDir, PID_FILE_NAME));
    this.unregisterExitHook = registerExitHook(() => this.killAllSync());
  }

  logPath(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  /** Starts a new process; its name must not be in use. Resolves with its PID once spawned. */
  async start(spec: ProcessSpec): Promise<number> {
    assert(!this.closed, 'process control used after close');
    assert(/^[A-Za-z0-9._-]+$/.test(spec.name), `process name must be a plain file name: ${spec.name}`);
    assert(!this.procs.has(spec.name), `process ${spec.name} already exists; use restart`);
    assert(this.procs.size < MAX_PROCESSES, `more than ${MAX_PROCESSES} processes in one run`);
    return this.spawnManaged(spec, 1);
  }

  /**
   * Starts an exited process again with the same command line; kills it first if it runs.
   * `env` adds to (and is kept for every later restart of) its environment.
   */
  async restart(name: string, env?: Record<string, string>): Promise<number> {
    const m = this.get(name);
    if (m.status !== 'exited') await this.kill(name);
    const spec = env === undefined ? m.spec : { ...m.spec, env: { ...m.spec.env, ...env } };
    return this.spawnManaged(spec, m.starts + 1);
  }

  /** Sends a signal (SIGKILL by default) and waits for the process to exit. No-op if it has exited. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = DEFAULT_EXIT_WAIT_MS): Promise<ExitInfo> {
    const m = this.get(name);
    if (m.status === 'exited') return m.lastExit!;
    m.killRequested = true;
    signalGroup(m.pid, signal);
    // A stopped process does not act on SIGTERM until it is continued.
    if (m.status === 'paused' && signal !== 'SIGKILL') signalGroup(m.pid, 'SIGCONT');
    return this.waitForExit(name, timeoutMs);
  }

  /** SIGSTOP: the process stays alive but does nothing (a long GC pause, a frozen VM). */
  pause(name: string): boolean {
    const m = this.get(name);
    if (m.status !== 'running') return false;
    signalGroup(m.pid, 'SIGSTOP');
    m.status = 'paused';
    return true;
  }

  /** SIGCONT after pause(). */
  resume(name: string): boolean {
    const m = this.get(name);
    if (m.status !== 'paused') return false;
    signalGroup(m.pid, 'SIGCONT');
    m.status = 'running';
    return true;
  }

  async waitForExit(name: string, timeoutMs = DEFAULT_EXIT_WAIT_MS): Promise<ExitInfo> {
    const m = this.get(name);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ProcessError('ERR_PROCESS_EXIT_TIMEOUT', `process ${name} (pid ${m.pid}) did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([m.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The current incarnation may stop by itself (a fault made it fail-stop): not a crash. */
  expectExit(name: string): void {
    this.get(name).killRequested = true;
  }

  /** Processes that exited although nobody killed them (crashes), oldest first. */
  unexpectedExits(): readonly UnexpectedExit[] {
    return this.unexpected;
  }

  /** Resolves when the current incarnation of the process exits. */
  exited(name: string): Promise<ExitInfo> {
    return this.get(name).exited;
  }

  /** The last `maxChars` of the process's log, for error messages. */
  logTail(name: string, maxChars = 800): string {
    try {
      const text = readFileSync(this.logPath(name), 'utf8');
      return text.slice(-maxChars);
    } catch {
      return '';
    }
  }

  /** The current incarnation's ChildProcess, for an IPC channel (ProcessSpec.ipc). */
  child(name: string): ChildProcess {
    return this.get(name).child;
  }

  pid(name: string): number {
    return this.get(name).pid;
  }

  status(name: string): ProcessStatus {
    return this.get(name).status;
  }

  has(name: string): boolean {
    return this.procs.has(name);
  }

  list(): ProcessInfo[] {
    return [...this.procs.values()].map((m) => ({ name: m.spec.name, pid: m.pid, status: m.status, starts: m.starts, lastExit: m.lastExit }));
  }

  /** SIGKILLs every process still alive (paused ones too) and waits for each to exit. */
  async stopAll(timeoutMs = DEFAULT_EXIT_WAIT_MS): Promise<void> {
    const alive = [...this.procs.values()].filter((m) => m.status !== 'exited');
    for (const m of alive) {
      m.killRequested = true;
      signalGroup(m.pid, 'SIGKILL');
    }
    await Promise.all(alive.map((m) => this.waitForExit(m.spec.name, timeoutMs)));
  }

  /** stopAll, then drops the exit hooks. The run folder (logs, pid file) stays. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.stopAll();
    } finally {
      this.closed = true;
      this.unregisterExitHook();
    }
  }

  private get(name: string): Managed {
    const m = this.procs.get(name);
    assert(m !== undefined, `unknown process ${name}`);
    return m;
  }

  /** SIGKILLs every live process without waiting (for exit hooks and last-resort cleanup). */
  killAllSync(): void {
    for (const m of this.procs.values()) {
      if (m.status === 'exited') continue;
      m.killRequested = true;
      signalGroup(m.pid, 'SIGKILL');
    }
  }

  private async spawnManaged(spec: ProcessSpec, starts: number): Promise<number> {
    const logFd = openSync(this.logPath(spec.name), 'a');
    let child: ChildProcess;
    try {
      writeSync(logFd, `--- start #${starts} at ${new Date().toISOString()}: ${spec.command} ${spec.args.join(' ')}\n`);
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd ?? this.runDir,
        env: { ...process.env, ...spec.env },
        stdio: spec.ipc === true ? ['ignore', logFd, logFd, 'ipc'] : ['ignore', logFd, logFd],
        detached: true,
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (err) {
      throw new ProcessError('ERR_PROCESS_SPAWN', `cannot start ${spec.name} (${spec.command}): ${(err as Error).message}`, { cause: err });
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(logFd);
    }
    const pid = child.pid;
    assert(pid !== undefined, `spawned ${spec.name} has no pid`);
    this.pidFile.recordStart(spec.name, pid);
    const m: Managed = {
      spec,
      child,
      pid,
      status: 'running',
      starts,
      lastExit: undefined,
      killRequested: false,
      exited: new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, signal) => {
          const info = { code, signal };
          m.status = 'exited';
          m.lastExit = info;
          if (!m.killRequested && !this.closed && this.unexpected.length < MAX_UNEXPECTED_EXITS) {
            this.unexpected.push({ name: spec.name, pid, ...info, logTail: this.logTail(spec.name) });
          }
          this.pidFile.recordExit(pid);
          resolve(info);
        });
      }),
    };
    // A detached child would otherwise keep the harness's event loop alive after it is done.
    child.unref();
    this.procs.set(spec.name, m);
    return pid;
  }
}
