// The one way the dev-cluster kit finds a group's leader. One-shot queries (routedLeaderNow: as a
// client sees it, through the NameServer; nodeLeaderNow: asking the nodes themselves) serve the
// rolling restart and the demo; waitForLeaders (`rmq cluster up`, LocalCluster, the demo) polls
// them and waits until every broker group of a cluster has a ready Raft leader that the NameServer routes
// as its master (brokerId 0), the moment clients can produce. Reads only what any client can ask
// (cluster info from the NameServer, RAFT_STATUS from the broker), through the client SDK.
import type { ConnectionOptions } from 'node:tls';
import { Admin, type RaftStatus } from '../client/index.js';
import { mapPollError, pollUntil } from '../common/poll.js';
import { DevkitError } from './devkit-errors.js';
import type { AclCredentials } from '../protocol/acl-signature.js';
import type { ClusterFile } from './cluster-file.js';

export interface GroupLeader {
  brokerName: string;
  nodeId: string;
  brokerAddr: string;
  term: number;
}

/** A leader as one query found it: where it answers, and the status it gave. */
export interface LeaderNow {
  nodeId: string;
  brokerAddr: string;
  term: number;
  status: RaftStatus;
}

/** Which leader a one-shot query accepts. */
export interface LeaderQuery {
  /** A node id that does not count (the one just killed or handed away from). */
  not?: string;
  /** Accept a leader that has not yet applied its own term's entry (leaderReady false); default: ready only. */
  anyReadiness?: boolean;
}

const POLL_INTERVAL_MS = 100;

/** A status that says it leads, with the query's conditions. */
function leads(s: RaftStatus | undefined, q: LeaderQuery): s is RaftStatus {
  return s?.role === 'LEADER' && s.nodeId !== q.not && (q.anyReadiness === true || (s as { leaderReady?: boolean }).leaderReady !== false);
}

/**
 * The group's leader as a client sees it, now: the NameServer's master (brokerId 0) of
 * `brokerName`, when its RAFT_STATUS says it leads. Undefined when there is none (yet).
 */
export async function routedLeaderNow(admin: Admin, brokerName: string, q: LeaderQuery = {}): Promise<LeaderNow | undefined> {
  const info = await admin.clusterInfo().catch(() => undefined);
  const addr = info?.brokerAddrTable[brokerName]?.brokerAddrs['0'];
  return addr === undefined ? undefined : nodeLeaderNow(admin, [{ brokerAddr: addr }], q);
}

/** The leader among `nodes`, now, asking each node's RAFT_STATUS directly (no NameServer); undefined when none leads. */
export async function nodeLeaderNow(admin: Admin, nodes: readonly { brokerAddr: string }[], q: LeaderQuery = {}): Promise<LeaderNow | undefined> {
  for (const n of nodes) {
    const s = await admin.raftStatus(n.brokerAddr).catch(() => undefined);
    if (leads(s, q)) return { nodeId: s.nodeId, brokerAddr: n.brokerAddr, term: s.term, status: s };
  }
  return undefined;
}

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
  const found = new Map<string, GroupLeader>();
  // Front doors: a group is ready once every node's door is registered and one node leads.
  const doorsRegistered = async (g: LeaderWaitTarget['groups'][number]): Promise<boolean> => {
    const info = await admin.clusterInfo().catch(() => undefined);
    return g.nodes.every((n) => info?.brokerAddrTable[`${g.brokerName}-${n.id}`]?.brokerAddrs['0'] !== undefined);
  };
  const round = async (): Promise<GroupLeader[] | undefined> => {
    for (const g of file.groups) {
      if (found.has(g.brokerName)) continue;
      const leader = file.frontDoors === true ? ((await doorsRegistered(g)) ? await nodeLeaderNow(admin, g.nodes) : undefined) : await routedLeaderNow(admin, g.brokerName);
      if (leader !== undefined) found.set(g.brokerName, { brokerName: g.brokerName, nodeId: leader.nodeId, brokerAddr: leader.brokerAddr, term: leader.term });
    }
    return found.size === file.groups.length ? file.groups.map((g) => found.get(g.brokerName)!) : undefined;
  };
  try {
    return await pollUntil('a ready leader of every group', timeoutMs, round, { intervalMs: POLL_INTERVAL_MS, failure }).catch(
      mapPollError((err) => {
        if (err.code === 'ERR_COMMON_POLL_FAILED') return new DevkitError(err.message, 'ERR_DEVKIT_START_FAILED');
        const missing = file.groups.filter((g) => !found.has(g.brokerName)).map((g) => g.brokerName);
        return new DevkitError(
          `no ready leader registered with the NameServer within ${timeoutMs} ms for ${missing.join(', ')}; see the node logs in ${file.dir} (raise --timeout on a slow machine)`,
          'ERR_DEVKIT_NO_LEADER',
        );
      }),
    );
  } finally {
    await admin.shutdown();
  }
}
