// Runs a Raft group of node processes (dist/raft/tools/node-process/main.js) on 127.0.0.1 and talks to them
// over IPC: start, SIGKILL and restart nodes, find the leader, run a pipelined load on it,
// keep the union of acknowledged sequence ranges, and check that every live node applied the
// same log and every acknowledged sequence. Shared by the process test, bench:raft and `rmq demo
// raft`. The processes run under the dev tools' one supervisor (ProcessControl: logs in
// `<dir>/logs/<id>.log`, a pid file, every child killed by PID on close() and when this process
// exits); only the IPC conversation is this file's own.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CodedError } from '../../coded-error.js';
import { assertBuilt, distPath } from '../process/dist-dir.js';
import { ProcessControl } from '../process/process-control.js';
import type { CheckResult, LoadResult, LoadSpec, NodeEvent, NodeReport, ParentRequest } from '../node-process/control-protocol.js';
import { AckedRanges } from './acked-ranges.js';

export interface LocalClusterOptions {
  /** Data root; node i uses `<dir>/<id>`. */
  dir: string;
  basePort: number;
  size?: number;
  flush?: 'sync' | 'async';
  /** Extra command-line arguments for every node (e.g. --segment-bytes). */
  nodeArgs?: string[];
  /** Path of the compiled node entry; defaults to dist/raft/tools/node-process/main.js of this checkout. */
  nodeScript?: string;
  logLevel?: string;
  /** Node flags for the children (e.g. --cpu-prof). */
  execArgv?: string[];
}

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export type ClusterErrorCode =
  | 'ERR_DEMO_ALREADY_RUNNING'
  | 'ERR_DEMO_NOT_BUILT'
  | 'ERR_DEMO_START_TIMEOUT'
  | 'ERR_DEMO_NODE_EXITED'
  | 'ERR_DEMO_NODE_DOWN'
  | 'ERR_DEMO_REQUEST_TIMEOUT'
  | 'ERR_DEMO_NO_LEADER'
  | 'ERR_DEMO_DIVERGED'
  | 'ERR_DEMO_UNKNOWN_NODE'
  /** A node's own error, relayed over IPC with the node's code. */
  | (string & {});

export class ClusterError extends CodedError<ClusterErrorCode> {}

/** One node process and its request/reply bookkeeping. */
class NodeProcess {
  child: ChildProcess | null = null;
  alive = false;
  pid: number | undefined;
  readonly waiters = new Map<number, Waiter>();
  role: { role: string; leader: string; term: number } = { role: 'follower', leader: '', term: 0 };
  exited: Promise<void> = Promise.resolve();
  constructor(readonly id: string) {}
}

export function defaultNodeScript(): string {
  return distPath('raft', 'tools', 'node-process', 'main.js');
}

export class LocalCluster {
  readonly ids: string[];
  readonly peers: string;
  readonly acked = new AckedRanges();
  private readonly nodes = new Map<string, NodeProcess>();
  private nextRid = 1;
  private readonly processes: ProcessControl;
  /** Called for every role event (for progress lines). */
  onRole: ((id: string, role: string, leader: string, term: number) => void) | null = null;

  constructor(private readonly o: LocalClusterOptions) {
    const size = o.size ?? 3;
    this.ids = Array.from({ length: size }, (_, i) => `n${i}`);
    this.peers = this.ids.map((id, i) => `${id}-127.0.0.1:${o.basePort + i}`).join(';');
    for (const id of this.ids) this.nodes.set(id, new NodeProcess(id));
    mkdirSync(o.dir, { recursive: true });
    this.processes = new ProcessControl(o.dir);
  }

  /** Starts every node and waits until each reports it is listening. */
  async start(timeoutMs = 10_000): Promise<void> {
    await Promise.all(this.ids.map((id) => this.startNode(id, timeoutMs)));
  }

  async startNode(id: string, timeoutMs = 10_000): Promise<void> {
    const n = this.node(id);
    if (n.alive) throw new ClusterError('ERR_DEMO_ALREADY_RUNNING', `${id} is already running`);
    const script = this.o.nodeScript ?? defaultNodeScript();
    try {
      assertBuilt(script);
    } catch (err) {
      throw new ClusterError('ERR_DEMO_NOT_BUILT', (err as Error).message);
    }
    const dataDir = join(this.o.dir, id);
    mkdirSync(dataDir, { recursive: true });
    const args = ['--id', id, '--peers', this.peers, '--data-dir', dataDir, '--flush', this.o.flush ?? 'async', ...(this.o.nodeArgs ?? [])];
    const spec = {
      name: id,
      command: process.execPath,
      args: [...(this.o.execArgv ?? []), script, ...args],
      env: { LOG_LEVEL: this.o.logLevel ?? process.env.LOG_LEVEL ?? 'warn' },
      ipc: true,
    };
    if (this.processes.has(id)) await this.processes.restart(id);
    else await this.processes.start(spec);
    const child = this.processes.child(id);
    n.pid = this.processes.pid(id);
    n.child = child;
    n.alive = true;
    n.role = { role: 'follower', leader: '', term: 0 };
    n.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClusterError('ERR_DEMO_START_TIMEOUT', `${id} did not start within ${timeoutMs} ms`)), timeoutMs);
      child.on('message', (raw: unknown) => {
        const e = raw as NodeEvent;
        if (e.t === 'started') {
          clearTimeout(timer);
          resolve();
        }
        this.onEvent(n, e);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new ClusterError('ERR_DEMO_NODE_EXITED', `${id} exited (code ${code}, signal ${signal}) before it started`));
      });
    });
    child.once('exit', () => {
      if (n.child !== child) return;
      n.alive = false;
      n.child = null;
      for (const w of n.waiters.values()) {
        clearTimeout(w.timer);
        w.reject(new ClusterError('ERR_DEMO_NODE_EXITED', `${id} exited`));
      }
      n.waiters.clear();
    });
    await started;
  }

  /** SIGKILLs a node by PID and waits for it to be gone. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    if (!n.child || !n.alive) return;
    await this.processes.kill(id, 'SIGKILL');
    await n.exited;
  }

  isAlive(id: string): boolean {
    return this.node(id).alive;
  }

  liveIds(): string[] {
    return this.ids.filter((id) => this.node(id).alive);
  }

  request<R>(id: string, req: DistributiveOmit<ParentRequest, 'rid'>, timeoutMs = 10_000): Promise<R> {
    const n = this.node(id);
    const child = n.child;
    if (!child || !n.alive) return Promise.reject(new ClusterError('ERR_DEMO_NODE_DOWN', `${id} is not running`));
    const rid = this.nextRid++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        n.waiters.delete(rid);
        reject(new ClusterError('ERR_DEMO_REQUEST_TIMEOUT', `${id} did not answer ${req.t} within ${timeoutMs} ms`));
      }, timeoutMs);
      n.waiters.set(rid, { resolve: resolve as (v: unknown) => void, reject, timer });
      child.send({ ...req, rid });
    });
  }

  status(id: string): Promise<NodeReport> {
    return this.request<NodeReport>(id, { t: 'status' }, 5000);
  }

  /**
   * Waits until exactly one live node is leader and every other live node names it (some live
   * node may be excluded with `among`). Returns its id.
   */
  async waitForLeader(timeoutMs = 10_000, among: string[] = this.liveIds()): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reports = await Promise.all(among.map((id) => this.status(id).catch(() => null)));
      const leaders = reports.filter((r) => r?.role === 'leader');
      if (leaders.length === 1) {
        const l = leaders[0]!;
        const agreed = reports.every((r) => r !== null && (r.id === l.id || (r.leader === l.id && r.term === l.term)));
        if (agreed) return l.id;
      }
      if (Date.now() > deadline) throw new ClusterError('ERR_DEMO_NO_LEADER', `no agreed leader among ${among.join(',')} within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /** Resolves with the id of the first node to report itself leader in a term above `aboveTerm`. */
  nextLeaderEvent(aboveTerm: number, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const prev = this.onRole;
      const timer = setTimeout(() => {
        this.onRole = prev;
        reject(new ClusterError('ERR_DEMO_NO_LEADER', `no new leader within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onRole = (id, role, leader, term) => {
        prev?.(id, role, leader, term);
        if (role === 'leader' && term > aboveTerm) {
          clearTimeout(timer);
          this.onRole = prev;
          resolve(id);
        }
      };
    });
  }

  /** Runs a load on `id` (which must lead); acknowledged ranges accumulate in `acked`. */
  load(id: string, spec: LoadSpec, timeoutMs = 120_000): Promise<LoadResult> {
    return this.request<LoadResult>(id, { t: 'load', spec }, timeoutMs);
  }

  /**
   * Waits until every live node applied the same number of entries with the same hash and
   * none has a higher commit than it applied; returns that common state.
   */
  async waitConverged(timeoutMs = 20_000): Promise<{ applied: number; hash: number; reports: NodeReport[] }> {
    const deadline = Date.now() + timeoutMs;
    let last: NodeReport[] = [];
    for (;;) {
      last = await Promise.all(this.liveIds().map((id) => this.status(id)));
      const a = last[0]!;
      const same = last.every((r) => r.applied === a.applied && r.appliedHash === a.appliedHash && r.commit === r.applied);
      if (same && a.applied > 0) return { applied: a.applied, hash: a.appliedHash, reports: last };
      if (Date.now() > deadline) {
        throw new ClusterError('ERR_DEMO_DIVERGED', `nodes did not converge: ${last.map((r) => `${r.id} applied=${r.applied} commit=${r.commit} hash=${r.appliedHash}`).join('; ')}`);
      }
      await sleep(50);
    }
  }

  /** Asks every live node which acknowledged sequences it never applied. */
  async checkAcked(): Promise<Record<string, CheckResult>> {
    const ranges = this.acked.toArray();
    const out: Record<string, CheckResult> = {};
    for (const id of this.liveIds()) out[id] = await this.request<CheckResult>(id, { t: 'check', ranges }, 30_000);
    return out;
  }

  /** Closes every node (gracefully, then SIGKILL by PID after `graceMs`). */
  async close(graceMs = 3000): Promise<void> {
    await Promise.all(this.ids.map(async (id) => {
      const n = this.node(id);
      if (!n.child || !n.alive) return;
      this.request(id, { t: 'close' }, graceMs).catch(() => {});
      await this.processes.waitForExit(id, graceMs).catch(() => this.processes.kill(id, 'SIGKILL'));
      await n.exited;
    }));
    await this.processes.close();
  }

  /** Last resort on process exit: SIGKILL every child still running, by PID. */
  killAllSync(): void {
    this.processes.killAllSync();
  }

  /** Where a node's stdout and stderr go (every incarnation appends). */
  logPath(id: string): string {
    return this.processes.logPath(this.node(id).id);
  }

  pidOf(id: string): number | undefined {
    return this.node(id).pid;
  }

  private node(id: string): NodeProcess {
    const n = this.nodes.get(id);
    if (!n) throw new ClusterError('ERR_DEMO_UNKNOWN_NODE', `no node ${id} in ${this.ids.join(',')}`);
    return n;
  }

  private onEvent(n: NodeProcess, e: NodeEvent): void {
    switch (e.t) {
      case 'reply': {
        const w = n.waiters.get(e.rid);
        if (!w) return;
        n.waiters.delete(e.rid);
        clearTimeout(w.timer);
        if (e.ok) w.resolve(e.value);
        else w.reject(new ClusterError(e.code, `${n.id}: ${e.message}`));
        return;
      }
      case 'acked':
        for (let i = 0; i + 1 < e.ranges.length; i += 2) this.acked.add(e.ranges[i]!, e.ranges[i + 1]!);
        return;
      case 'role':
        n.role = { role: e.role, leader: e.leader, term: e.term };
        this.onRole?.(e.id, e.role, e.leader, e.term);
        return;
      case 'started':
        return;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
