// The one broker.conf template of the dev tools: every local cluster (`rmq cluster up`, the
// LocalCluster of the tests and `rmq bench --local`, the jepsen-like db) writes its nodes' conf
// files through here, so a key the broker starts to need is added once.
import { writeFileSync } from 'node:fs';

/** Segments smaller than the 1 GiB default: a laptop cluster should not reserve 3 GiB at once. */
export const LOCAL_SEGMENT_BYTES = 64 * 1024 * 1024;

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
    ...(c.grpcListenPort !== undefined ? { grpcListenPort: String(c.grpcListenPort) } : {}),
    ...c.extra,
  };
}

/** The text of a broker.conf: an optional `# header` line, then one key=value a line. */
export function renderBrokerConf(entries: Record<string, string>, header?: string): string {
  return (header !== undefined ? `# ${header}\n` : '') + Object.entries(entries).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/** Writes a node's broker.conf and returns the keys written. */
export function writeBrokerConf(path: string, c: RaftNodeConf, header?: string): Record<string, string> {
  const entries = brokerConfEntries(c);
  writeFileSync(path, renderBrokerConf(entries, header));
  return entries;
}
