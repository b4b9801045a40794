// The one broker.conf template of the dev tools: every local cluster (`rmq cluster up`, the
// LocalCluster of the tests and `rmq bench --local`, the jepsen-like db) writes its nodes' conf
// files through here, so a key the broker starts to need is added once.
import { writeFileSync } from 'node:fs';
import type { ClusterTlsFiles } from './cluster-tls.js';

/** Segments smaller than the 1 GiB default: a laptop cluster should not reserve 3 GiB at once. */
export const LOCAL_SEGMENT_BYTES = 64 * 1024 * 1024;

/** What a secured local cluster adds to every broker.conf (cluster-security.ts writes the files). */
export interface ClusterSecurityConf {
  /** namesrvRegistrationKey: brokers sign their NameServer registrations with it. */
  registrationKey: string;
  /** aclEnable=true with this plain_acl.yml. */
  aclFile?: string;
}

export interface RaftNodeConf {
  clusterName: string;
  brokerName: string;
  namesrvAddr: string;
  listenPort: number;
  storePathRootDir: string;
  flushDiskType: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  autoCreateTopicEnable: boolean;
  /** mappedFileSizeCommitLog (default LOCAL_SEGMENT_BYTES). */
  segmentSizeBytes?: number;
  /** dLegerPeers: `<id>-<host>:<port>;...` (the Raft group is the brokerName). */
  peers: string;
  selfId: string;
  /** The node's RocketMQ 5 gRPC endpoint, when it has one. */
  grpcListenPort?: number;
  /** The node's Prometheus endpoint (metricsPort; the broker's default when absent). */
  metricsPort?: number;
  /** dLegerPeerSecretFile: the group's Raft peer secret (docs/security.md). */
  peerSecretFile?: string;
  /** Front doors (docs/operations.md): `<brokerName>:<port>;...`, one door per node of the group. */
  frontDoorPorts?: string;
  /** The NameServer registration key and ACL rules of the cluster, when it has them. */
  security?: ClusterSecurityConf;
  /** TLS everywhere (client port, doors, Raft, registrations) with these files (cluster-tls.ts). */
  tls?: ClusterTlsFiles;
  /** More keys; they win over everything above. */
  extra?: Record<string, string>;
}

/** The broker.conf keys of a node of a local Raft broker group, in the order they are written. */
export function brokerConfEntries(c: RaftNodeConf): Record<string, string> {
  return {
    brokerClusterName: c.clusterName,
    brokerName: c.brokerName,
    namesrvAddr: c.namesrvAddr,
    listenPort: String(c.listenPort),
    brokerIP1: '127.0.0.1',
    storePathRootDir: c.storePathRootDir,
    flushDiskType: c.flushDiskType,
    autoCreateTopicEnable: String(c.autoCreateTopicEnable),
    mappedFileSizeCommitLog: String(c.segmentSizeBytes ?? LOCAL_SEGMENT_BYTES),
    enableDLegerCommitLog: 'true',
    dLegerGroup: c.brokerName,
    dLegerPeers: c.peers,
    dLegerSelfId: c.selfId,
    ...(c.peerSecretFile !== undefined ? { dLegerPeerSecretFile: c.peerSecretFile } : {}),
    ...(c.grpcListenPort !== undefined ? { grpcListenPort: String(c.grpcListenPort) } : {}),
    ...(c.security !== undefined ? { namesrvRegistrationKey: c.security.registrationKey } : {}),
    ...(c.security?.aclFile !== undefined ? { aclEnable: 'true', aclFile: c.security.aclFile } : {}),
    ...(c.tls !== undefined ? { tlsEnable: 'true', raftTlsEnable: 'true', namesrvTlsEnable: 'true', tlsCertPath: c.tls.certPath, tlsKeyPath: c.tls.keyPath, tlsCaPath: c.tls.caPath } : {}),
    ...(c.metricsPort !== undefined ? { metricsPort: String(c.metricsPort) } : {}),
    ...(c.frontDoorPorts !== undefined ? { frontDoorEnable: 'true', frontDoorPorts: c.frontDoorPorts } : {}),
    ...c.extra,
  };
}

/** The text of a broker.conf: an optional `# header` line, then one key=value a line. */
export function renderBrokerConf(entries: Record<string, string>, header?: string): string {
  return (header !== undefined ? `# ${header}\n` : '') + Object.entries(entries).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/**
 * Writes a node's broker.conf and returns the keys written. The file is readable by its owner
 * only: it may hold the NameServer registration key or an ACL secret (docs/security.md).
 */
export function writeBrokerConf(path: string, c: RaftNodeConf, header?: string): Record<string, string> {
  const entries = brokerConfEntries(c);
  writeFileSync(path, renderBrokerConf(entries, header), { mode: 0o600 });
  return entries;
}
