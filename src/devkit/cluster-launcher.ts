// `rmq cluster up/down` as functions (`npm start`, the demo and tests use them too): launch a NameServer and
// the broker groups as detached processes, record them in cluster.json, wait until every group
// has a ready leader registered with the NameServer; stop them by PID; restart a single node.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DevkitError } from './devkit-errors.js';
import { pollWithin } from '../common/poll.js';
import { clusterFilePath, readClusterFile, writeClusterFile, type ClusterFile, type ClusterNodeInfo } from './cluster-file.js';
import { portCount, writeLayout } from './cluster-layout.js';
import { clusterAdminCredentials, namesrvSecurityArgs, writeClusterSecurity } from './cluster-security.js';
import { clusterClientTls, namesrvTlsArgs, writeClusterTls } from './cluster-tls.js';
import { findFreeBlock, takenPorts } from '../../raft/tools/free-ports.js';
import { brokerScript, isOurProcess, launchDetached, namesrvScript, stopProcesses, tailOf, type Launched, type StopResult } from './processes.js';
import { waitForLeaders, type GroupLeader } from './wait-leaders.js';
import { waitForNamesrv } from './wait-namesrv.js';
import { BROKER_NODE_FLAGS, brokerEnv } from '../broker/node-flags.js';

export interface ClusterUpOptions {
  dir: string;
  groups: number;
  nodes: number;
  basePort?: number;
  flushDiskType: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  clusterName: string;
  autoCreateTopicEnable: boolean;
  extraConf: Record<string, string>;
  /** A Raft peer secret per group (default true). */
  peerSecret?: boolean;
  /** plain_acl.yml every broker enforces (aclEnable=true); the launcher signs with its first admin account. */
  aclFile?: string;
  /** Front doors (docs/operations.md, "Front doors"): every node is a broker name of its own. */
  frontDoors?: boolean;
  /** TLS on every port but metrics and gRPC, with a test CA made by openssl (cluster-tls.ts). */
  tls?: boolean;
  timeoutMs: number;
  /** RMQ_LOG_LEVEL of the children (default info). */
  logLevel?: string;
  /** Human-readable (pino-pretty) logs in the children's log files; kept in cluster.json for restarts. */
  logPretty?: boolean;
  say?: (line: string) => void;
}

export interface ClusterUpResult {
  file: ClusterFile;
  leaders: GroupLeader[];
  /** True when an existing cluster.json was reused (a restart over the same data). */
  restarted: boolean;
}

const NAMESRV_START_TIMEOUT_MS = 10_000;
/** How long killNode waits for a signalled node to be gone before it returns anyway. */
const STOP_WAIT_MS = 10_000;

export interface ClusterProcess {
  /** "namesrv" or "<brokerName>/<id>". */
  name: string;
  pid: number;
  /** What its command line contains: a broker's conf path; the NameServer's script and port. */
  markers: string[];
}

/** Every process of a cluster file, brokers first. */
export function clusterProcesses(file: ClusterFile): ClusterProcess[] {
  const out: ClusterProcess[] = [];
  for (const g of file.groups) for (const n of g.nodes) out.push({ name: `${g.brokerName}/${n.id}`, pid: n.pid, markers: brokerMarkers(n) });
  out.push({ name: 'namesrv', pid: file.namesrv.pid, markers: namesrvMarkers(file) });
  return out;
}

const brokerMarkers = (n: ClusterNodeInfo): string[] => [n.confPath];
const namesrvMarkers = (file: ClusterFile): string[] => [join('namesrv', 'main.js'), file.namesrv.addr.slice(file.namesrv.addr.lastIndexOf(':') + 1)];

export function isRunning(p: ClusterProcess): boolean {
  return isOurProcess(p.pid, p.markers);
}

/** SIGKILLs every process of the cluster that is still ours, without waiting (for exit hooks). */
export function killClusterSync(file: ClusterFile): void {
  for (const p of clusterProcesses(file)) {
    try {
      if (isRunning(p)) process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function childEnv(logLevel: string | undefined, logPretty: boolean | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RMQ_LOG_LEVEL: logLevel ?? process.env['RMQ_LOG_LEVEL'] ?? 'info' };
  // The children's log format is the cluster's (cluster.json), not whatever this shell has.
  if (logPretty === true) env['RMQ_LOG_PRETTY'] = '1';
  else delete env['RMQ_LOG_PRETTY'];
  return env;
}

async function waitForNamesrvOf(file: ClusterFile, launched: Launched): Promise<void> {
  let exited: number | string | undefined;
  void launched.exited.then((c) => (exited = c));
  const log = file.namesrv.logPath;
  await waitForNamesrv(file.namesrv.addr, NAMESRV_START_TIMEOUT_MS, () => (exited !== undefined ? `the NameServer exited (${exited}) at start; its log ${log} ends with:\n${tailOf(log)}` : undefined), `; see ${log}`);
}

/** Starts one broker detached with its conf; `node.pid` gets its pid. */
export function launchBroker(file: ClusterFile, node: ClusterNodeInfo, logLevel: string | undefined): Launched {
  const launched = launchDetached(brokerScript(), ['-c', node.confPath], node.logPath, brokerEnv(childEnv(logLevel, file.logPretty)), BROKER_NODE_FLAGS);
  node.pid = launched.pid;
  return launched;
}

export async function clusterUp(o: ClusterUpOptions): Promise<ClusterUpResult> {
  const say = o.say ?? (() => {});
  let file: ClusterFile;
  let restarted = false;
  if (existsSync(clusterFilePath(o.dir))) {
    file = readClusterFile(o.dir);
    const running = clusterProcesses(file).filter(isRunning);
    if (running.length > 0) {
      throw new DevkitError(`a cluster is already running in ${o.dir} (${running.map((p) => `${p.name} pid ${p.pid}`).join(', ')}); stop it with 'rmq cluster down --dir ${o.dir}' or choose another --dir`, 'ERR_DEVKIT_CLUSTER_RUNNING');
    }
    restarted = true;
    say(`restarting the cluster recorded in ${clusterFilePath(o.dir)} over its data`);
  } else {
    const count = portCount(o.groups, o.nodes, o.frontDoors);
    let basePort = o.basePort;
    if (basePort === undefined) {
      basePort = await findFreeBlock(count);
    } else {
      if (basePort + count - 1 > 65535) throw new DevkitError(`--base-port ${basePort} leaves no room for ${count} ports; choose a base below ${65536 - count}`);
      const taken = await takenPorts(basePort, count);
      if (taken.length > 0) throw new DevkitError(`port(s) ${taken.slice(0, 5).join(', ')} of ${basePort}..${basePort + count - 1} are in use; choose another --base-port or omit it`, 'ERR_DEVKIT_PORT_IN_USE');
    }
    mkdirSync(o.dir, { recursive: true });
    const { tls: withTls, ...layout } = o;
    const tls = withTls === true ? writeClusterTls(o.dir) : undefined;
    file = writeLayout({ ...layout, basePort, security: writeClusterSecurity(o.dir, o.aclFile), ...(tls !== undefined ? { tls } : {}) });
    if (o.logPretty === true) file.logPretty = true;
  }

  const launched: { name: string; l: Launched; logPath: string }[] = [];
  try {
    const metricsArgs = file.namesrv.metricsAddr !== undefined ? ['--metrics-port', file.namesrv.metricsAddr.split(':')[1]!] : [];
    const ns = launchDetached(namesrvScript(), ['--port', file.namesrv.addr.split(':')[1]!, '--host', '127.0.0.1', ...metricsArgs, ...namesrvSecurityArgs(o.dir), ...namesrvTlsArgs(o.dir)], file.namesrv.logPath, childEnv(o.logLevel, file.logPretty));
    file.namesrv.pid = ns.pid;
    launched.push({ name: 'namesrv', l: ns, logPath: file.namesrv.logPath });
    // Recorded at once (and again below): whoever reads the file can stop what already runs.
    writeClusterFile(o.dir, file);
    await waitForNamesrvOf(file, ns);
    say(`NameServer pid ${ns.pid} listening on ${file.namesrv.addr}`);
    for (const g of file.groups) {
      for (const n of g.nodes) launched.push({ name: `${g.brokerName}/${n.id}`, l: launchBroker(file, n, o.logLevel), logPath: n.logPath });
      say(`${g.brokerName}: started ${g.nodes.map((n) => `${n.id} (pid ${n.pid}, ${n.brokerAddr}${n.grpcAddr !== undefined ? `, gRPC ${n.grpcAddr}` : ''})`).join(', ')}`);
    }
    file.startedAt = new Date().toISOString();
    // Written before waiting, so 'cluster down' can stop what was started even if the wait fails.
    writeClusterFile(o.dir, file);
    const died = new Map<string, number | string>();
    for (const x of launched) void x.l.exited.then((code) => died.set(x.name, code));
    const leaders = await waitForLeaders(file, o.timeoutMs, () => {
      const [name, code] = died.entries().next().value ?? [];
      if (name === undefined) return undefined;
      const log = launched.find((x) => x.name === name)?.logPath ?? '';
      return `${name} exited (${String(code)}) during startup; its log ${log} ends with:\n${tailOf(log)}`;
    }, clusterAdminCredentials(o.dir), clusterClientTls(o.dir));
    return { file, leaders, restarted };
  } catch (err) {
    const started = new Set(launched.map((x) => x.l.pid));
    await stopProcesses(clusterProcesses(file).filter((p) => started.has(p.pid)), 3000);
    throw err;
  }
}

export interface StoppedProcess {
  name: string;
  pid: number;
  result: StopResult;
}

/** Brokers first (they unregister from the NameServer as they stop), then the NameServer. */
export async function clusterDown(file: ClusterFile, graceMs: number): Promise<StoppedProcess[]> {
  const all = clusterProcesses(file);
  const brokers = all.filter((p) => p.name !== 'namesrv');
  const ns = all.filter((p) => p.name === 'namesrv');
  const nsOurs = ns.filter(isRunning);
  const brokerResults = await stopProcesses(brokers, graceMs);
  const nsResults = await stopProcesses(nsOurs.length > 0 ? nsOurs : [], graceMs);
  return [
    ...brokers.map((p, i) => ({ name: p.name, pid: p.pid, result: brokerResults[i]! })),
    ...ns.map((p) => ({ name: p.name, pid: p.pid, result: nsOurs.length > 0 ? nsResults[0]! : ('not running' as StopResult) })),
  ];
}

export function findNode(file: ClusterFile, brokerName: string, id: string): ClusterNodeInfo {
  const node = file.groups.find((g) => g.brokerName === brokerName)?.nodes.find((n) => n.id === id);
  if (node === undefined) throw new DevkitError(`no node ${brokerName}/${id} in ${clusterFilePath(file.dir)}`);
  return node;
}

/** Sends `signal` to one node (if it is ours) and, for SIGKILL/SIGTERM, waits until it is gone. */
export async function killNode(file: ClusterFile, brokerName: string, id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<boolean> {
  const node = findNode(file, brokerName, id);
  if (!isOurProcess(node.pid, brokerMarkers(node))) return false;
  process.kill(node.pid, signal);
  if (signal !== 'SIGKILL' && signal !== 'SIGTERM') return true;
  await pollWithin(STOP_WAIT_MS, () => (isOurProcess(node.pid, brokerMarkers(node)) ? undefined : true), { intervalMs: 10 });
  return true;
}

/** Starts a stopped node again with its conf and data; cluster.json gets the new pid. */
export function restartNode(file: ClusterFile, brokerName: string, id: string, logLevel?: string): number {
  const node = findNode(file, brokerName, id);
  if (isOurProcess(node.pid, brokerMarkers(node))) throw new DevkitError(`${brokerName}/${id} is still running (pid ${node.pid}); only a stopped node is started again (to restart a running one: 'rmq cluster restart --rolling')`);
  launchBroker(file, node, logLevel);
  writeClusterFile(file.dir, file);
  return node.pid;
}
