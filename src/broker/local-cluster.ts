// A local cluster as OS processes on 127.0.0.1: one NameServer and one Raft broker group (3
// nodes by default), each broker with its own broker.conf and data folder under `dir`. Used by
// tests, the CLI and the jepsen-like harness. Every child is stopped by its PID on stop() and
// when this process exits; kill/restart of single nodes supports failover tests.
//
// Ports: NameServer basePort; broker i listens on basePort + 1 + i (clients),
// basePort + 11 + i (Raft) and, with `grpc`, basePort + 21 + i (the RocketMQ 5 gRPC endpoint).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AclCredentials } from '../protocol/acl-signature.js';
import { RemotingClient } from '../protocol/remoting-client.js';
import { makeRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { decodeJsonBody, type ClusterInfo } from '../protocol/route-data.js';
import { RaftAdminCode } from './processors/raft-admin.js';
import { BROKER_NODE_FLAGS, brokerEnv } from './node-flags.js';

export interface LocalClusterOptions {
  dir: string;
  basePort: number;
  nodes?: number;
  flush?: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  brokerName?: string;
  clusterName?: string;
  /** Extra broker.conf lines (key=value) for every node. */
  extraConf?: Record<string, string>;
  /** RMQ_LOG_LEVEL of the children (default "info"); logs go to `<dir>/<name>.log`. */
  logLevel?: string;
  /** Compiled dist/ root; defaults to this checkout's dist/. */
  distDir?: string;
  /** Node flags for the broker children (e.g. --cpu-prof). */
  execArgv?: string[];
  /** ACL credentials of an admin account, for the cluster's own status requests when ACL is on. */
  credentials?: AclCredentials;
  /** Give every node a RocketMQ 5 gRPC endpoint (grpcListenPort = basePort + 21 + i). */
  grpc?: boolean;
}

export interface LocalNode {
  id: string;
  pid: number | undefined;
  brokerAddr: string;
  raftAddr: string;
  dataDir: string;
  confPath: string;
  /** host:port of the node's gRPC endpoint, when the cluster has them. */
  grpcAddr?: string;
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
  /** Waits until one node is a ready leader and the NameServer routes brokerId 0 to it. */
  waitForLeader(timeoutMs: number): Promise<LeaderInfo>;
  /** Sends `signal` (default SIGKILL) and waits for the exit; SIGSTOP/SIGCONT return at once. */
  killNode(id: string, signal?: NodeJS.Signals): Promise<void>;
  restartNode(id: string): Promise<void>;
  stop(): Promise<void>;
}

function defaultDistDir(): string {
  const here = fileURLToPath(import.meta.url);
  // Compiled: dist/src/broker/local-cluster.js; from sources (vitest): src/broker/local-cluster.ts.
  return here.endsWith('.js') ? join(dirname(here), '..', '..') : join(dirname(here), '..', '..', 'dist');
}

interface Child {
  proc: ChildProcess | undefined;
  exited: Promise<void>;
}

/** A broker that exits with status 1 this soon after launch is relaunched, at most this often. */
const EARLY_EXIT_MS = 5_000;
const MAX_LAUNCH_ATTEMPTS = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const count = o.nodes ?? 3;
  const dist = o.distDir ?? defaultDistDir();
  const brokerName = o.brokerName ?? 'broker-a';
  const namesrvAddr = `127.0.0.1:${o.basePort}`;
  const ids = Array.from({ length: count }, (_, i) => `n${i}`);
  const peers = ids.map((id, i) => `${id}-127.0.0.1:${o.basePort + 11 + i}`).join(';');
  mkdirSync(o.dir, { recursive: true });
  const env = { ...process.env, RMQ_LOG_LEVEL: o.logLevel ?? 'info' };
  const children = new Map<string, Child>();

  const nodes: LocalNode[] = ids.map((id, i) => {
    const dataDir = join(o.dir, id);
    mkdirSync(dataDir, { recursive: true });
    const confPath = join(o.dir, `${id}.conf`);
    const lines: Record<string, string> = {
      brokerClusterName: o.clusterName ?? 'DefaultCluster',
      brokerName,
      namesrvAddr,
      listenPort: String(o.basePort + 1 + i),
      brokerIP1: '127.0.0.1',
      storePathRootDir: dataDir,
      flushDiskType: o.flush ?? 'ASYNC_FLUSH',
      autoCreateTopicEnable: 'true',
      mappedFileSizeCommitLog: String(64 * 1024 * 1024),
      enableDLegerCommitLog: 'true',
      dLegerGroup: brokerName,
      dLegerPeers: peers,
      dLegerSelfId: id,
      ...(o.grpc === true ? { grpcListenPort: String(o.basePort + 21 + i) } : {}),
      ...o.extraConf,
    };
    writeFileSync(confPath, Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    const grpcAddr = o.grpc === true ? { grpcAddr: `127.0.0.1:${o.basePort + 21 + i}` } : {};
    return { id, pid: undefined, brokerAddr: `127.0.0.1:${o.basePort + 1 + i}`, raftAddr: `127.0.0.1:${o.basePort + 11 + i}`, dataDir, confPath, ...grpcAddr };
  });

  function launch(name: string, args: string[]): Child {
    const logFd = openSync(join(o.dir, `${name}.log`), 'a');
    const proc = spawn(process.execPath, args, { stdio: ['ignore', logFd, logFd], env: name === 'namesrv' ? env : brokerEnv(env) });
    closeSync(logFd);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const child = { proc, exited };
    children.set(name, child);
    return child;
  }

  const killAllSync = (): void => {
    for (const c of children.values()) {
      if (c.proc?.pid !== undefined && c.proc.exitCode === null && c.proc.signalCode === null) {
        try {
          process.kill(c.proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };
  process.on('exit', killAllSync);

  const client = new RemotingClient(o.credentials === undefined ? {} : { credentials: o.credentials });
  let stopping = false;

  async function status(id: string): Promise<Record<string, unknown> | undefined> {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    try {
      const resp = await client.invoke(node.brokerAddr, makeRequest(RaftAdminCode.RAFT_STATUS), 1000);
      if (resp.code !== ResponseCode.SUCCESS) return undefined;
      return decodeJsonBody<Record<string, unknown>>(resp.body, 'raft status');
    } catch {
      return undefined;
    }
  }

  async function waitForPort(addr: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const resp = await client.invoke(addr, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 500);
        if (resp) return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`${addr} did not answer within ${timeoutMs} ms`);
  }

  /**
   * The assigned ports lie in Linux's ephemeral range, so a peer's outgoing connection can hold
   * a port a broker is about to bind; such a node exits at once and is relaunched (bounded).
   */
  function startNode(node: LocalNode, attempt = 1): void {
    const child = launch(node.id, [...BROKER_NODE_FLAGS, ...(o.execArgv ?? []), join(dist, 'src', 'broker', 'main.js'), '-c', node.confPath]);
    node.pid = child.proc?.pid;
    const startedAt = Date.now();
    child.proc?.once('exit', (code) => {
      if (stopping || code !== 1 || Date.now() - startedAt > EARLY_EXIT_MS || attempt >= MAX_LAUNCH_ATTEMPTS) return;
      if (children.get(node.id) !== child) return;
      setTimeout(() => {
        if (!stopping && children.get(node.id) === child) startNode(node, attempt + 1);
      }, 300).unref();
    });
  }

  launch('namesrv', [join(dist, 'src', 'namesrv', 'main.js'), '--port', String(o.basePort), '--host', '127.0.0.1']);
  await waitForPort(namesrvAddr, 10_000);
  for (const n of nodes) startNode(n);

  async function waitForLeader(timeoutMs: number): Promise<LeaderInfo> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const n of nodes) {
        const child = children.get(n.id);
        if (!child?.proc || child.proc.exitCode !== null || child.proc.signalCode !== null) continue;
        const s = await status(n.id);
        if (!s || s['role'] !== 'LEADER' || s['leaderReady'] !== true) continue;
        // Clients route by the NameServer: wait until it names this node as brokerId 0.
        try {
          const resp = await client.invoke(namesrvAddr, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 1000);
          const info = decodeJsonBody<ClusterInfo>(resp.body, 'cluster info');
          if (info.brokerAddrTable[brokerName]?.brokerAddrs['0'] === n.brokerAddr) return { id: n.id, brokerAddr: n.brokerAddr, term: Number(s['term']) };
        } catch {
          // NameServer busy or restarting: poll again
        }
      }
      await sleep(100);
    }
    throw new Error(`no ready leader registered with the NameServer within ${timeoutMs} ms`);
  }

  async function killNode(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = children.get(id);
    if (!child?.proc || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
    child.proc.kill(signal);
    // Pause and resume (a GC-pause nemesis) do not end the process.
    if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') return;
    await child.exited;
    const node = nodes.find((n) => n.id === id);
    if (node) node.pid = undefined;
    client.closeConnection(node?.brokerAddr ?? '');
  }

  async function restartNode(id: string): Promise<void> {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    await killNode(id, 'SIGKILL');
    startNode(node);
  }

  async function stop(): Promise<void> {
    stopping = true;
    await client.close();
    const all = [...children.values()];
    for (const c of all) {
      if (!c.proc || c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
      c.proc.kill('SIGCONT'); // a paused node could not act on SIGTERM
      c.proc.kill('SIGTERM');
    }
    const graceful = Promise.all(all.map((c) => c.exited));
    const timedOut = await Promise.race([graceful.then(() => false), sleep(8000).then(() => true)]);
    if (timedOut) {
      killAllSync();
      await graceful;
    }
    process.off('exit', killAllSync);
  }

  return { namesrvAddr, nodes, status, waitForLeader, killNode, restartNode, stop };
}
