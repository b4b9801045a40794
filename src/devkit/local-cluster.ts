// A local cluster that lives and dies with the process that starts it (tests, `rmq bench
// --local`): one NameServer and one Raft broker group (3 nodes by default; `groups` for more) on 127.0.0.1, laid out
// like `rmq cluster up` lays out a group (cluster-layout.ts: ports, conf files, data folders,
// cluster.json), run under the supervisor (ProcessControl: logs in `<dir>/logs`, a pid file,
// every child killed by PID on stop() and when this process exits). Kill/restart of single nodes
// supports failover tests; the leader wait is the kit's one (wait-leaders.ts).
import type { AclCredentials } from '../protocol/acl-signature.js';
import { ProcessControl } from '../../raft/tools/process/process-control.js';
import { Admin } from '../client/index.js';
import { BROKER_NODE_FLAGS, brokerEnv } from '../broker/node-flags.js';
import { writeClusterFile, type ClusterFile } from './cluster-file.js';
import { writeLayout } from './cluster-layout.js';
import { DevkitError } from './devkit-errors.js';
import { brokerScript, namesrvScript } from './processes.js';
import { waitForLeaders } from './wait-leaders.js';
import { waitForNamesrv } from './wait-namesrv.js';

export interface LocalClusterOptions {
  dir: string;
  /** First port of a free block of portCount(groups, nodes) ports (see cluster-layout.ts). */
  basePort: number;
  nodes?: number;
  /** Broker groups (broker-a, broker-b, ...; default 1). With more than one, node ids are "<brokerName>-<nodeId>". */
  groups?: number;
  flush?: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  clusterName?: string;
  /** Extra broker.conf lines (key=value) for every node. */
  extraConf?: Record<string, string>;
  /** RMQ_LOG_LEVEL of the children (default "info"); logs go to `<dir>/logs/<name>.log`. */
  logLevel?: string;
  /** Compiled dist/ root; defaults to this checkout's dist/. */
  distDir?: string;
  /** Node flags for the broker children (e.g. --cpu-prof). */
  execArgv?: string[];
  /** ACL credentials of an admin account, for the cluster's own status requests when ACL is on. */
  credentials?: AclCredentials;
  /** Give every node a RocketMQ 5 gRPC endpoint. */
  grpc?: boolean;
}

export interface LocalNode {
  /** The Raft id (n0..) with one group; "<brokerName>-<Raft id>" with several. */
  id: string;
  brokerName: string;
  pid: number | undefined;
  brokerAddr: string;
  raftAddr: string;
  dataDir: string;
  confPath: string;
  /** host:port of the node's gRPC endpoint, when the cluster has them. */
  grpcAddr?: string;
  /** host:port of the node's /metrics (metricsPort), when it has one. */
  metricsAddr?: string;
}

export interface LeaderInfo {
  id: string;
  brokerAddr: string;
  term: number;
}

export interface LocalCluster {
  namesrvAddr: string;
  nodes: LocalNode[];
  /** Raft status of one node (RAFT_STATUS), or undefined when it does not answer. */
  status(id: string): Promise<Record<string, unknown> | undefined>;
  /** Waits until every group has a ready leader the NameServer routes as brokerId 0; returns the first group's. */
  waitForLeader(timeoutMs: number): Promise<LeaderInfo>;
  /** Sends `signal` (default SIGKILL) and waits for the exit; SIGSTOP/SIGCONT return at once. */
  killNode(id: string, signal?: NodeJS.Signals): Promise<void>;
  restartNode(id: string): Promise<void>;
  stop(): Promise<void>;
}

/** A broker that exits with status 1 this soon after launch is relaunched, at most this often. */
const EARLY_EXIT_MS = 5_000;
const MAX_LAUNCH_ATTEMPTS = 5;
const RELAUNCH_DELAY_MS = 300;
const NAMESRV_START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 8_000;
const NAMESRV = 'namesrv';

export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const file: ClusterFile = writeLayout({
    dir: o.dir,
    basePort: o.basePort,
    groups: o.groups ?? 1,
    nodes: o.nodes ?? 3,
    clusterName: o.clusterName ?? 'DefaultCluster',
    flushDiskType: o.flush ?? 'ASYNC_FLUSH',
    autoCreateTopicEnable: true,
    extraConf: o.extraConf ?? {},
    grpc: o.grpc === true,
  });
  const env = { RMQ_LOG_LEVEL: o.logLevel ?? 'info' };
  const processes = new ProcessControl(o.dir);
  const admin = new Admin({ namesrvAddr: file.namesrv.addr, requestTimeoutMs: 1000, ...(o.credentials !== undefined ? { credentials: o.credentials } : {}) });
  await admin.start();
  let stopping = false;

  const several = file.groups.length > 1;
  const nodes: LocalNode[] = file.groups.flatMap((g) => g.nodes.map((n) => ({
    id: several ? `${g.brokerName}-${n.id}` : n.id,
    brokerName: g.brokerName,
    pid: undefined,
    brokerAddr: n.brokerAddr,
    raftAddr: n.raftAddr,
    dataDir: n.dataDir,
    confPath: n.confPath,
    ...(n.grpcAddr !== undefined ? { grpcAddr: n.grpcAddr } : {}),
    ...(n.metricsAddr !== undefined ? { metricsAddr: n.metricsAddr } : {}),
  })));
  const nodeOf = (id: string): LocalNode => {
    const node = nodes.find((n) => n.id === id);
    if (node === undefined) throw new DevkitError(`no node ${id} in ${nodes.map((n) => n.id).join(',')}`, 'ERR_DEVKIT_UNKNOWN_NODE');
    return node;
  };
  const recordPids = (): void => {
    file.namesrv.pid = processes.has(NAMESRV) ? processes.pid(NAMESRV) : 0;
    for (const g of file.groups) for (const n of g.nodes) n.pid = nodeOf(several ? `${g.brokerName}-${n.id}` : n.id).pid ?? 0;
    writeClusterFile(o.dir, file);
  };

  /**
   * A port of the block can still be taken by someone else between the free-block probe and the
   * bind; such a node exits at once with status 1 and is relaunched (bounded).
   */
  async function launchNode(node: LocalNode, attempt = 1): Promise<void> {
    if (processes.has(node.id)) await processes.restart(node.id);
    else await processes.start({ name: node.id, command: process.execPath, args: [...BROKER_NODE_FLAGS, ...(o.execArgv ?? []), brokerScript(o.distDir), '-c', node.confPath], env: brokerEnv(env) });
    const pid = processes.pid(node.id);
    node.pid = pid;
    recordPids();
    const startedAt = Date.now();
    void processes.exited(node.id).then((exit) => {
      if (stopping || exit.code !== 1 || Date.now() - startedAt > EARLY_EXIT_MS || attempt >= MAX_LAUNCH_ATTEMPTS) return;
      setTimeout(() => {
        if (!stopping && processes.pid(node.id) === pid && processes.status(node.id) === 'exited') void launchNode(node, attempt + 1).catch(() => {});
      }, RELAUNCH_DELAY_MS).unref();
    });
  }

  try {
    await processes.start({ name: NAMESRV, command: process.execPath, args: [namesrvScript(o.distDir), '--port', String(o.basePort), '--host', '127.0.0.1'], env });
    await waitForNamesrv(file.namesrv.addr, NAMESRV_START_TIMEOUT_MS, () => (processes.status(NAMESRV) === 'exited' ? `the NameServer exited at start; ${processes.logPath(NAMESRV)} ends with:\n${processes.logTail(NAMESRV)}` : undefined));
    for (const n of nodes) await launchNode(n);
  } catch (err) {
    await admin.shutdown();
    await processes.close();
    throw err;
  }

  async function status(id: string): Promise<Record<string, unknown> | undefined> {
    const node = nodeOf(id);
    try {
      return (await admin.raftStatus(node.brokerAddr)) as unknown as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  async function waitForLeader(timeoutMs: number): Promise<LeaderInfo> {
    const [leader] = await waitForLeaders(file, timeoutMs, () => undefined, o.credentials);
    return { id: leader!.nodeId, brokerAddr: leader!.brokerAddr, term: leader!.term };
  }

  async function killNode(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = nodeOf(id);
    if (!processes.has(id) || processes.status(id) === 'exited') return;
    // Pause and resume (a GC-pause nemesis) do not end the process.
    if (signal === 'SIGSTOP' || signal === 'SIGTSTP') return void processes.pause(id);
    if (signal === 'SIGCONT') return void processes.resume(id);
    await processes.kill(id, signal);
    node.pid = undefined;
    recordPids();
  }

  async function restartNode(id: string): Promise<void> {
    const node = nodeOf(id);
    await killNode(id, 'SIGKILL');
    await launchNode(node);
  }

  async function stop(): Promise<void> {
    stopping = true;
    await admin.shutdown();
    // Graceful first (brokers unregister and flush), SIGKILL for whoever outlives the grace.
    const names = [...nodes.map((n) => n.id), NAMESRV].filter((name) => processes.has(name) && processes.status(name) !== 'exited');
    await Promise.all(names.map((name) => processes.kill(name, 'SIGTERM', STOP_GRACE_MS).catch(() => undefined)));
    await processes.close();
  }

  return { namesrvAddr: file.namesrv.addr, nodes, status, waitForLeader, killNode, restartNode, stop };
}
