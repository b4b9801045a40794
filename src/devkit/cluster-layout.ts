// Where every process of a local cluster listens and keeps its files, and the broker.conf each
// node gets. The ports come from the kit's one plan (port-plan.ts: G groups of N nodes from
// `basePort`, front doors and proxies optional).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { protoRoot } from '../grpc/proto.js';
import type { ClusterFile, ClusterGroupInfo } from './cluster-file.js';
import { CLUSTER_FILE_VERSION } from './cluster-file.js';
import { writeBrokerConf, type ClusterSecurityConf } from './broker-conf.js';
import { clusterPortPlan, portCount } from './port-plan.js';

export { portCount };
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
  const plan = clusterPortPlan({ basePort: o.basePort, groups: o.groups, nodes: o.nodes, frontDoors: o.frontDoors === true });
  mkdirSync(o.dir, { recursive: true });
  const namesrvAddr = `127.0.0.1:${o.basePort}`;
  const groups: ClusterGroupInfo[] = [];
  const grpc = o.grpc ?? grpcAvailable();
  const grpcEndpoints: string[] = [];
  for (let g = 0; g < o.groups; g++) {
    const brokerName = brokerNameOf(g);
    const ids = Array.from({ length: o.nodes }, (_, i) => `n${i}`);
    const raftPort = (i: number): number => plan.raftPort(g, i);
    const grpcPort = (i: number): number => plan.grpcPort(g, i);
    const metricsPort = (i: number): number => plan.metricsPort(g, i);
    const peers = ids.map((id, i) => `${id}-127.0.0.1:${raftPort(i)}`).join(';');
    // One secret per group, so only that group's nodes can join its Raft mesh (docs/security.md).
    const ownSecret = 'dLegerPeerSecret' in o.extraConf || 'dLegerPeerSecretFile' in o.extraConf;
    let secretPath: string | undefined;
    if (o.peerSecret !== false && !ownSecret) {
      secretPath = join(o.dir, `${brokerName}.peer-secret`);
      writeFileSync(secretPath, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    }
    // Node i serves door e on one port of its own.
    const doorPort = (i: number, e: number): number => plan.doorPort(g, i, e);
    const nodes = ids.map((id, i) => {
      const listenPort = plan.brokerPort(g, i);
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
    namesrv: { pid: 0, addr: namesrvAddr, logPath: join(o.dir, 'namesrv.log'), metricsAddr: `127.0.0.1:${plan.namesrvMetricsPort}` },
    groups,
    ...(grpcEndpoints.length > 0 ? { grpcEndpoints } : {}),
    ...(o.frontDoors === true ? { frontDoors: true } : {}),
    ...(o.tls !== undefined ? { tlsCaPath: o.tls.caPath } : {}),
  };
}
