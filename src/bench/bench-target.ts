// The cluster a benchmark runs against: one it starts itself (`--local`: a NameServer and one
// 3-node Raft group, or `--groups N` of them, as child processes under a temporary folder) or an
// existing one (`-n`).
// It also reads what the run did to the cluster: peak RSS of each local broker process (VmHWM,
// reset per phase through clear_refs) and the Raft term/leader before and after, so a leader
// change during a run is reported rather than hidden in the figures.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portCount } from '../devkit/cluster-layout.js';
import { startLocalCluster, type LocalCluster } from '../devkit/local-cluster.js';
import { Admin } from '../client/index.js';
import { findFreeBlock } from '../../raft/tools/free-ports.js';
import { BenchSetupError } from './bench-errors.js';

/** Nodes per local group; the port block is portCount(groups, 3) (cluster-layout.ts). */
const LOCAL_NODES = 3;
const LEADER_WAIT_MS = 60_000;
const STATUS_TIMEOUT_MS = 2_000;

export interface TargetOptions {
  local: boolean;
  namesrvAddr?: string | undefined;
  flush: 'async' | 'sync';
  /** Broker groups of a local cluster (default 1), each with its own three processes and leader. */
  groups?: number | undefined;
  /** Node flags for local brokers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (RMQ_BROKER_NODE_OPTIONS). */
  brokerNodeOptions?: string | undefined;
  /** Keep the local data folder (and profiles inside it) after the run. */
  keepData?: boolean | undefined;
  /** Extra broker.conf lines for local brokers. */
  brokerConf?: Record<string, string> | undefined;
  /** Another build's dist/ for the local servers (RMQ_BENCH_DIST_DIR), to compare two builds. */
  distDir?: string | undefined;
  /** Local brokers serve the gRPC endpoint (--protocol grpc). */
  grpc?: boolean | undefined;
  /** An existing cluster's gRPC endpoint (host:port), passed through. */
  grpcEndpoint?: string | undefined;
}

export interface RaftSnapshot {
  /** Highest term any node reports; with several local groups, the sum of each group's highest term. */
  term: number | null;
  /** The leader's node id; with several local groups "<brokerName>/<id>" of each, comma-separated. */
  leader: string | null;
}

export interface BrokerRss {
  node: string;
  pid: number;
  peakRssMb: number | null;
  /** Current RSS split: anonymous memory (heap, buffers) vs mapped files (the mmap'd log, page cache). */
  anonRssMb: number | null;
  fileRssMb: number | null;
}

export interface BenchTarget {
  namesrvAddr: string;
  /** Where local data lives (undefined for an existing cluster). */
  dataDir: string | undefined;
  /** The gRPC endpoint to publish to: the local leader's, or the one given; undefined without. */
  grpcEndpoint: string | undefined;
  raftSnapshot(): Promise<RaftSnapshot>;
  /** Starts a new peak-RSS window for every local broker (no-op for an existing cluster). */
  resetPeakRss(): void;
  /** Peak RSS of every local broker since the last reset ([] for an existing cluster). */
  peakRss(): BrokerRss[];
  /** CPU seconds (user + system) each local broker has used so far ({} for an existing cluster). */
  cpuSeconds(): Record<string, number | null>;
  /** Minor page faults each local broker has taken so far ({} for an existing cluster). */
  minorFaults(): Record<string, number | null>;
  /** host:port of each local broker's /metrics ({} for an existing cluster). */
  metricsAddrs(): Record<string, string>;
  close(): Promise<void>;
}

export async function openTarget(o: TargetOptions): Promise<BenchTarget> {
  if (o.local) return openLocal(o);
  if (o.namesrvAddr === undefined || o.namesrvAddr === '') throw new BenchSetupError('give --local to start a cluster, or -n <namesrv> (or NAMESRV_ADDR) for an existing one');
  return openExisting(o.namesrvAddr, o.grpcEndpoint);
}

async function openLocal(o: TargetOptions): Promise<BenchTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'rmq-bench-'));
  const execArgv = (o.brokerNodeOptions ?? '').split(/\s+/).filter((s) => s !== '');
  let cluster: LocalCluster | undefined;
  let leaderId = '';
  try {
    const groups = o.groups ?? 1;
    const basePort = await findFreeBlock(portCount(groups, LOCAL_NODES));
    cluster = await startLocalCluster({
      dir,
      basePort,
      groups,
      nodes: LOCAL_NODES,
      flush: o.flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
      logLevel: 'warn',
      execArgv,
      ...(o.brokerConf !== undefined ? { extraConf: o.brokerConf } : {}),
      ...(o.distDir !== undefined && o.distDir !== '' ? { distDir: o.distDir } : {}),
      ...(o.grpc === true ? { grpc: true } : {}),
    });
    leaderId = (await cluster.waitForLeader(LEADER_WAIT_MS)).id;
  } catch (err) {
    await cluster?.stop().catch(() => undefined);
    if (o.keepData !== true) rmSync(dir, { recursive: true, force: true });
    throw new BenchSetupError(`the local cluster did not start (logs in ${dir} when --keep-data): ${(err as Error).message}`, { cause: err });
  }
  const c = cluster;
  return {
    namesrvAddr: c.namesrvAddr,
    dataDir: dir,
    // The leader's endpoint at start: a follower's would relay every send to it.
    grpcEndpoint: c.nodes.find((n) => n.id === leaderId)?.grpcAddr,
    async raftSnapshot() {
      const statuses = await Promise.all(c.nodes.map((n) => c.status(n.id)));
      const names = [...new Set(c.nodes.map((n) => n.brokerName))];
      if (names.length === 1) return snapshotOf(statuses);
      // Several groups: each group's term counts, so a leader change in any of them shows.
      const per = names.map((name) => ({ name, s: snapshotOf(statuses.filter((_, i) => c.nodes[i]!.brokerName === name)) }));
      const known = per.every((g) => g.s.term !== null);
      return { term: known ? per.reduce((sum, g) => sum + g.s.term!, 0) : null, leader: per.map((g) => `${g.name}/${g.s.leader ?? '?'}`).join(',') };
    },
    resetPeakRss() {
      for (const n of c.nodes) if (n.pid !== undefined) resetPeak(n.pid);
    },
    peakRss() {
      return c.nodes.filter((n) => n.pid !== undefined).map((n) => ({ node: n.id, pid: n.pid!, ...readRssMb(n.pid!) }));
    },
    cpuSeconds() {
      const out: Record<string, number | null> = {};
      for (const n of c.nodes) out[n.id] = n.pid === undefined ? null : readCpuSeconds(n.pid);
      return out;
    },
    minorFaults() {
      const out: Record<string, number | null> = {};
      for (const n of c.nodes) out[n.id] = n.pid === undefined ? null : readMinorFaults(n.pid);
      return out;
    },
    metricsAddrs() {
      const out: Record<string, string> = {};
      for (const n of c.nodes) if (n.metricsAddr !== undefined) out[n.id] = n.metricsAddr;
      return out;
    },
    async close() {
      await c.stop();
      if (o.keepData !== true) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openExisting(namesrvAddr: string, grpcEndpoint: string | undefined): Promise<BenchTarget> {
  const admin = new Admin({ namesrvAddr, requestTimeoutMs: STATUS_TIMEOUT_MS });
  await admin.start();
  return {
    namesrvAddr,
    dataDir: undefined,
    grpcEndpoint,
    async raftSnapshot() {
      // Registered nodes plus the peers the leader knows, so followers that did not register count too.
      const nodes = await admin.clusterRaftStatus().catch(() => []);
      const addrs = new Set<string>(nodes.map((n) => n.addr));
      for (const n of nodes) for (const p of n.status?.peers ?? []) if (p.brokerAddr !== undefined) addrs.add(p.brokerAddr);
      const statuses = await Promise.all([...addrs].map((a) => admin.raftStatus(a).catch(() => undefined)));
      return snapshotOf(statuses as (Record<string, unknown> | undefined)[]);
    },
    resetPeakRss() {},
    peakRss() {
      return [];
    },
    cpuSeconds() {
      return {};
    },
    minorFaults() {
      return {};
    },
    metricsAddrs() {
      return {};
    },
    async close() {
      await admin.shutdown();
    },
  };
}

function snapshotOf(statuses: readonly (Record<string, unknown> | undefined)[]): RaftSnapshot {
  let term: number | null = null;
  let leader: string | null = null;
  for (const s of statuses) {
    if (s === undefined) continue;
    const t = Number(s['term']);
    if (Number.isFinite(t) && (term === null || t > term)) term = t;
    if (s['role'] === 'LEADER') leader = String(s['nodeId']);
  }
  return { term, leader };
}

/** VmHWM, RssAnon and RssFile in MB (10^6 bytes, as the peers report); null when unknown. */
export function readRssMb(pid: number): { peakRssMb: number | null; anonRssMb: number | null; fileRssMb: number | null } {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // the process is gone
  }
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return m === null ? null : Math.round((Number(m[1]) * 1024) / 1e5) / 10;
  };
  return { peakRssMb: field('VmHWM'), anonRssMb: field('RssAnon'), fileRssMb: field('RssFile') };
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_S = 100;

/** utime + stime of a process in seconds, or null when it is gone. */
export function readCpuSeconds(pid: number): number | null {
  const fields = statFields(pid);
  return fields === null ? null : (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** minflt of a process (first touches of fresh anonymous or page-cache memory), or null when it is gone. */
export function readMinorFaults(pid: number): number | null {
  const fields = statFields(pid);
  return fields === null ? null : Number(fields[7]);
}

/** The fields of /proc/<pid>/stat from field 3 (state) on, or null when the process is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0); best effort. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted or not Linux: the peak then covers the process's whole life
  }
}
