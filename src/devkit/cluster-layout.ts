// Where every process of a local cluster listens and keeps its files, and the broker.conf each
// node gets. Ports for G groups of N nodes from `basePort`: the NameServer on basePort, node i of
// group g serves clients on basePort + 1 + g*N + i and Raft on basePort + 1 + G*N + g*N + i;
// its gRPC endpoint takes basePort + 1 + 2*G*N + g*N + i and its metrics endpoint
// basePort + 1 + 3*G*N + g*N + i; the NameServer's metrics endpoint is the last port of the block;
// with front doors N door ports per node follow.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { protoRoot } from '../grpc/proto.js';
import type { ClusterFile, ClusterGroupInfo } from './cluster-file.js';
import { CLUSTER_FILE_VERSION } from './cluster-file.js';
import { writeBrokerConf, type ClusterSecurityConf } from './broker-conf.js';
import type { ClusterTlsFiles } from './cluster-tls.js';

export interface LayoutOptions {
  dir: string;
  basePort: number;
  groups: number;
  nodes: number;
  clusterName: string;
  flushDiskType: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  autoCreateTopicEnable: boolean;
  /** More broker.conf lines for every node; they win over the defaults. */
  extraConf: Record<string, string>;
  /** Give every node a gRPC endpoint; default: when the .proto files it loads are installed. */
  grpc?: boolean;
  /** Give each group its own Raft peer secret (a 0600 file beside the confs); default true. */
  peerSecret?: boolean;
  /** Front doors (docs/operations.md): every node is a broker name; N more ports per node. */
  frontDoors?: boolean;
  /** The registration key and ACL rules every node gets (cluster-security.ts). */
  security?: ClusterSecurityConf;
  /** TLS on every port but metrics and gRPC, with these files (cluster-tls.ts). */
  tls?: ClusterTlsFiles;
}

export function portCount(groups: number, nodes: number, frontDoors = false): number {
  return 2 + 4 * groups * nodes + (frontDoors ? groups * nodes * nodes : 0);
}

/** The gRPC endpoint needs rocketmq-client-nodejs (its .proto files); without it nodes get none. */
export function grpcAvailable(): boolean {
  try {
    protoRoot();
    return true;
  } catch {
    return false;
  }
}

export function brokerNameOf(group: number): string {
  return `broker-${String.fromCharCode(97 + group)}`;
}

/** Writes every node's broker.conf and returns the layout (pids still 0: nothing runs yet). */
export function writeLayout(o: LayoutOptions): ClusterFile {
  assert(Number.isInteger(o.groups) && o.groups >= 1 && o.groups <= 26, `groups ${o.groups} outside 1..26 (broker-a..broker-z)`);
  assert(Number.isInteger(o.nodes) && o.nodes >= 1, `nodes ${o.nodes} must be a positive integer`);
  assert(o.basePort > 0 && o.basePort + portCount(o.groups, o.nodes, o.frontDoors) - 1 <= 65535, `ports from ${o.basePort} do not fit below 65536`);
  mkdirSync(o.dir, { recursive: true });
  const namesrvAddr = `127.0.0.1:${o.basePort}`;
  const groups: ClusterGroupInfo[] = [];
  const grpc = o.grpc ?? grpcAvailable();
  const grpcEndpoints: string[] = [];
  for (let g = 0; g < o.groups; g++) {
    const brokerName = brokerNameOf(g);
    const ids = Array.from({ length: o.nodes }, (_, i) => `n${i}`);
    const raftPort = (i: number): number => o.basePort + 1 + o.groups * o.nodes + g * o.nodes + i;
    const grpcPort = (i: number): number => o.basePort + 1 + 2 * o.groups * o.nodes + g * o.nodes + i;
    const metricsPort = (i: number): number => o.basePort + 1 + 3 * o.groups * o.nodes + g * o.nodes + i;
    const peers = ids.map((id, i) => `${id}-127.0.0.1:${raftPort(i)}`).join(';');
    // One secret per group, so only that group's nodes can join its Raft mesh (docs/security.md).
    const ownSecret = 'dLegerPeerSecret' in o.extraConf || 'dLegerPeerSecretFile' in o.extraConf;
    let secretPath: string | undefined;
    if (o.peerSecret !== false && !ownSecret) {
      secretPath = join(o.dir, `${brokerName}.peer-secret`);
      writeFileSync(secretPath, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    }
    // After every other port: node i serves door e on one port of its own.
    const doorPort = (i: number, e: number): number => o.basePort + 2 + 4 * o.groups * o.nodes + (g * o.nodes + i) * o.nodes + e;
    const nodes = ids.map((id, i) => {
      const listenPort = o.basePort + 1 + g * o.nodes + i;
      const dataDir = join(o.dir, brokerName, id);
      mkdirSync(dataDir, { recursive: true });
      const confPath = join(o.dir, `${brokerName}-${id}.conf`);
      const conf = writeBrokerConf(
        confPath,
        {
          clusterName: o.clusterName,
          brokerName,
          namesrvAddr,
          listenPort,
          storePathRootDir: dataDir,
          flushDiskType: o.flushDiskType,
          autoCreateTopicEnable: o.autoCreateTopicEnable,
          peers,
          selfId: id,
          ...(secretPath !== undefined ? { peerSecretFile: secretPath } : {}),
          ...(grpc ? { grpcListenPort: grpcPort(i) } : {}),
          metricsPort: metricsPort(i),
          ...(o.security !== undefined ? { security: o.security } : {}),
          ...(o.tls !== undefined ? { tls: o.tls } : {}),
          ...(o.frontDoors === true ? { frontDoorPorts: ids.map((d, e) => `${d}:${doorPort(i, e)}`).join(';') } : {}),
          extra: o.extraConf,
        },
        `written by 'rmq cluster up'; node ${id} of ${brokerName}`,
      );
      const grpcAddr = grpc && conf['grpcListenPort'] !== '0' ? `127.0.0.1:${conf['grpcListenPort']}` : undefined;
      if (grpcAddr !== undefined) grpcEndpoints.push(grpcAddr);
      const metricsAddr = conf['metricsPort'] !== '0' ? `127.0.0.1:${conf['metricsPort']}` : undefined;
      return { id, pid: 0, brokerAddr: `127.0.0.1:${listenPort}`, raftAddr: `127.0.0.1:${raftPort(i)}`, ...(grpcAddr !== undefined ? { grpcAddr } : {}), ...(metricsAddr !== undefined ? { metricsAddr } : {}), dataDir, confPath, logPath: join(o.dir, `${brokerName}-${id}.log`) };
    });
    groups.push({ brokerName, nodes });
  }
  return {
    version: CLUSTER_FILE_VERSION,
    clusterName: o.clusterName,
    dir: o.dir,
    flushDiskType: o.flushDiskType,
    startedAt: new Date().toISOString(),
    namesrv: { pid: 0, addr: namesrvAddr, logPath: join(o.dir, 'namesrv.log'), metricsAddr: `127.0.0.1:${o.basePort + portCount(o.groups, o.nodes) - 1}` },
    groups,
    ...(grpcEndpoints.length > 0 ? { grpcEndpoints } : {}),
    ...(o.frontDoors === true ? { frontDoors: true } : {}),
    ...(o.tls !== undefined ? { tlsCaPath: o.tls.caPath } : {}),
  };
}
