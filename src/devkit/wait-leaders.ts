// The one wait-for-leader of the dev-cluster kit (`rmq cluster up`, LocalCluster, the demo):
// waits until every broker group of a cluster has a ready Raft leader that the NameServer routes
// as its master (brokerId 0), the moment clients can produce. Reads only what any client can ask
// (cluster info from the NameServer, RAFT_STATUS from the broker), through the client SDK.
import type { ConnectionOptions } from 'node:tls';
import { Admin } from '../client/index.js';
import { DevkitError } from './devkit-errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AclCredentials } from '../protocol/acl-signature.js';
import type { ClusterFile } from './cluster-file.js';

export interface GroupLeader {
  brokerName: string;
  nodeId: string;
  brokerAddr: string;
  term: number;
}

const POLL_INTERVAL_MS = 100;

/**
 * What the wait reads of a cluster: where its NameServer is, its groups and their nodes' client
 * addresses (with front doors every node registers a door of its own), its folder (for messages).
 */
export type LeaderWaitTarget = Pick<ClusterFile, 'dir' | 'frontDoors'> & {
  namesrv: Pick<ClusterFile['namesrv'], 'addr'>;
  groups: readonly { brokerName: string; nodes: readonly { id: string; brokerAddr: string }[] }[];
};

/**
 * The leader of every group, or a DevkitError after timeoutMs. `failure()` is asked on every round
 * and ends the wait at once when it returns a reason (a process died during startup).
 */
export async function waitForLeaders(
  file: LeaderWaitTarget,
  timeoutMs: number,
  failure: () => string | undefined = () => undefined,
  credentials?: AclCredentials,
  tls?: ConnectionOptions,
): Promise<GroupLeader[]> {
  // With ACL on RAFT_STATUS is administration: signed with an admin account of the cluster's rules.
  const admin = new Admin({ namesrvAddr: file.namesrv.addr, requestTimeoutMs: 1000, ...(credentials !== undefined ? { credentials } : {}), ...(tls !== undefined ? { tls } : {}) });
  await admin.start();
  try {
    const deadline = Date.now() + timeoutMs;
    const found = new Map<string, GroupLeader>();
    while (Date.now() < deadline) {
      const reason = failure();
      if (reason !== undefined) throw new DevkitError(reason, 'ERR_DEVKIT_START_FAILED');
      const info = await admin.clusterInfo().catch(() => undefined);
      for (const g of file.groups) {
        if (found.has(g.brokerName)) continue;
        // Front doors: the group is ready once every node's door is registered and one node leads.
        const doors = g.nodes.map((n) => info?.brokerAddrTable[`${g.brokerName}-${n.id}`]?.brokerAddrs['0']);
        const candidates = file.frontDoors === true ? (doors.every((a) => a !== undefined) ? g.nodes.map((n) => n.brokerAddr) : []) : [info?.brokerAddrTable[g.brokerName]?.brokerAddrs['0']];
        for (const addr of candidates) {
          if (addr === undefined || found.has(g.brokerName)) continue;
          const s = await admin.raftStatus(addr).catch(() => undefined);
          if (s?.role === 'LEADER' && (s as { leaderReady?: boolean }).leaderReady !== false) found.set(g.brokerName, { brokerName: g.brokerName, nodeId: s.nodeId, brokerAddr: addr, term: s.term });
        }
      }
      if (found.size === file.groups.length) return file.groups.map((g) => found.get(g.brokerName)!);
      await sleep(POLL_INTERVAL_MS);
    }
    const missing = file.groups.filter((g) => !found.has(g.brokerName)).map((g) => g.brokerName);
    throw new DevkitError(
      `no ready leader registered with the NameServer within ${timeoutMs} ms for ${missing.join(', ')}; see the node logs in ${file.dir} (raise --timeout on a slow machine)`,
      'ERR_DEVKIT_NO_LEADER',
    );
  } finally {
    await admin.shutdown();
  }
}
