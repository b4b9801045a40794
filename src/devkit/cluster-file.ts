// The cluster.json contract: what `rmq cluster up` writes into its folder and what `cluster down`,
// `cluster status`, `npm start` and outside scripts (the jepsen-like harness) read. Its shape is
// an interface others depend on: docs/cli.md and docs/operations.md describe it; change it only
// by adding fields.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DevkitError } from './devkit-errors.js';

export const CLUSTER_FILE_NAME = 'cluster.json';
export const CLUSTER_FILE_VERSION = 1;

export interface ClusterNodeInfo {
  /** dLegerSelfId, n0.. */
  id: string;
  pid: number;
  /** host:port clients use (listenPort). */
  brokerAddr: string;
  /** host:port of the Raft transport (the node's dLegerPeers entry). */
  raftAddr: string;
  /** host:port of the node's RocketMQ 5 gRPC endpoint (grpcListenPort), when it has one. */
  grpcAddr?: string;
  /** host:port of the node's /metrics, /healthz and /readyz (metricsPort), when it has one. */
  metricsAddr?: string;
  dataDir: string;
  confPath: string;
  logPath: string;
}

export interface ClusterGroupInfo {
  brokerName: string;
  nodes: ClusterNodeInfo[];
}

export interface ClusterFile {
  version: number;
  clusterName: string;
  dir: string;
  flushDiskType: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  /** When this file was last written by `cluster up` (ISO 8601). */
  startedAt: string;
  namesrv: { pid: number; addr: string; logPath: string; metricsAddr?: string };
  groups: ClusterGroupInfo[];
  /** Every node's gRPC endpoint (host:port), for RocketMQ 5 clients; absent when none has one. */
  grpcEndpoints?: string[];
  /** Front doors: each node appears in routes as "<brokerName>-<nodeId>" (docs/operations.md). */
  frontDoors?: boolean;
  /** Started with --tls: every client needs TLS trusting this CA (rmq --tls-ca <it>). */
  tlsCaPath?: string;
  /** `cluster up --log-pretty`: every process logs pino-pretty's human layout instead of JSON lines. */
  logPretty?: boolean;
}

export function clusterFilePath(dir: string): string {
  return join(dir, CLUSTER_FILE_NAME);
}

/** Written to a temp file and renamed, so a reader never sees half a file. */
export function writeClusterFile(dir: string, file: ClusterFile): void {
  const path = clusterFilePath(dir);
  writeFileSync(`${path}.tmp`, JSON.stringify(file, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

export function readClusterFile(dir: string): ClusterFile {
  const path = clusterFilePath(dir);
  if (!existsSync(path)) throw new DevkitError(`no ${CLUSTER_FILE_NAME} in ${dir}; pass the --dir given to 'rmq cluster up'`, 'ERR_DEVKIT_NO_CLUSTER');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DevkitError(`${path} is not valid JSON (${(err as Error).message}); restore it or start a new cluster in another folder`, 'ERR_DEVKIT_BAD_CLUSTER_FILE');
  }
  const f = parsed as Partial<ClusterFile>;
  const ok =
    typeof f === 'object' &&
    f !== null &&
    typeof f.namesrv?.pid === 'number' &&
    typeof f.namesrv.addr === 'string' &&
    Array.isArray(f.groups) &&
    f.groups.every((g) => typeof g.brokerName === 'string' && Array.isArray(g.nodes) && g.nodes.every((n) => typeof n.pid === 'number' && typeof n.brokerAddr === 'string'));
  if (!ok) throw new DevkitError(`${path} lacks namesrv {pid, addr} or groups [{brokerName, nodes}]; it was not written by 'rmq cluster up'`, 'ERR_DEVKIT_BAD_CLUSTER_FILE');
  return f as ClusterFile;
}
