// `rmq admin clusterList`: per broker group, every node with its Raft role, term and indexes.
// Registered nodes come from the NameServer; members that are not registered (down, or not yet
// registered) are found through the peers list of any node that answered, so a dead node shows
// up as UNREACHABLE instead of disappearing. The member set (voters and learners) is the one the
// NameServer holds from the registrations (the newest configuration any node registered), or the
// leader's when the NameServer has none; every member shows up, and each node says what it is.
import type { Admin, RaftStatus } from '../../client/index.js';
import type { RaftMembersInfo } from '../../protocol/route-data.js';

/** What a node is in its group's configuration in force. */
export type MemberKind = 'voter' | 'learner' | 'not a member';

export interface ClusterListNode {
  nodeId: string | null;
  /** NameServer brokerId (0 = master = Raft leader); null when the node is not registered. */
  brokerId: number | null;
  addr: string | null;
  raftAddr: string | null;
  role: string;
  term: number | null;
  leader: string | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  lastIndex: number | null;
  /** Null when the group's member set is unknown (brokers without membership changes). */
  member: MemberKind | null;
  error?: string;
}

export interface ClusterListGroup {
  clusterName: string;
  brokerName: string;
  /** nodeId of the leader with the highest term, null when no node says it leads. */
  leader: string | null;
  term: number | null;
  /** The configuration in force (null when unknown) and the index of its Config entry (0: the bootstrap peers). */
  voters: string[] | null;
  learners: string[] | null;
  membershipIndex: number | null;
  nodes: ClusterListNode[];
}

type FullStatus = RaftStatus & { raftAddr?: string };

function row(brokerId: number | null, addr: string | null, s: FullStatus | undefined, error: string | undefined, nodeId: string | null = null, raftAddr: string | null = null): ClusterListNode {
  return {
    nodeId: s?.nodeId ?? nodeId,
    brokerId,
    addr,
    raftAddr: s?.raftAddr ?? raftAddr,
    role: s?.role ?? 'UNREACHABLE',
    term: s?.term ?? null,
    leader: s?.leader ?? null,
    commitIndex: s?.commitIndex ?? null,
    appliedIndex: s?.appliedIndex ?? null,
    lastIndex: s?.lastIndex ?? null,
    member: null,
    ...(error === undefined ? {} : { error }),
  };
}

export async function clusterList(admin: Admin, clusterName?: string): Promise<ClusterListGroup[]> {
  const [registered, info] = await Promise.all([admin.clusterRaftStatus(), Promise.resolve().then(() => admin.clusterInfo()).catch(() => undefined)]);
  const groups = new Map<string, ClusterListGroup>();
  const statuses = new Map<string, FullStatus[]>();
  for (const n of registered) {
    if (clusterName !== undefined && n.clusterName !== clusterName) continue;
    let g = groups.get(n.brokerName);
    if (g === undefined) groups.set(n.brokerName, (g = { clusterName: n.clusterName, brokerName: n.brokerName, leader: null, term: null, voters: null, learners: null, membershipIndex: null, nodes: [] }));
    g.nodes.push(row(n.brokerId, n.addr, n.status, n.error));
    if (n.status !== undefined) statuses.set(n.brokerName, [...(statuses.get(n.brokerName) ?? []), n.status]);
  }
  for (const g of groups.values()) {
    const members = info?.brokerAddrTable[g.brokerName]?.raftMembers;
    // A registered node that does not answer is named by the id it registered with.
    for (const n of g.nodes) if (n.nodeId === null && n.addr !== null && members?.nodes[n.addr] !== undefined) n.nodeId = members.nodes[n.addr]!;
    const known = new Set(g.nodes.map((n) => n.nodeId).filter((id) => id !== null));
    const missing = new Map<string, { raftAddr?: string; brokerAddr?: string }>();
    for (const s of statuses.get(g.brokerName) ?? []) {
      for (const p of s.peers ?? []) {
        if (known.has(p.nodeId) || missing.has(p.nodeId)) continue;
        // A registered node that did not answer: the peers list names it.
        const silent = g.nodes.find((n) => n.nodeId === null && n.addr !== null && n.addr === p.brokerAddr);
        if (silent !== undefined) {
          silent.nodeId = p.nodeId;
          silent.raftAddr = p.raftAddr ?? null;
          known.add(p.nodeId);
        } else missing.set(p.nodeId, p);
      }
    }
    // A registered node that does not answer and never led is named by no peer address: when one
    // such row and one such peer remain, they are the same node (else it would be listed twice).
    const unnamed = g.nodes.filter((n) => n.nodeId === null);
    const addressless = [...missing].filter(([, p]) => p.brokerAddr === undefined);
    if (unnamed.length === 1 && addressless.length === 1) {
      const [nodeId, p] = addressless[0]!;
      unnamed[0]!.nodeId = nodeId;
      unnamed[0]!.raftAddr = p.raftAddr ?? null;
      missing.delete(nodeId);
    }
    await Promise.all(
      [...missing].map(async ([nodeId, p]) => {
        let s: FullStatus | undefined;
        let error: string | undefined = p.brokerAddr === undefined ? 'not registered with the NameServer and its client address is unknown' : undefined;
        if (p.brokerAddr !== undefined) {
          try {
            s = await admin.raftStatus(p.brokerAddr);
          } catch (err) {
            error = `not registered with the NameServer; ${(err as Error).message}`;
          }
        }
        g.nodes.push(row(null, p.brokerAddr ?? null, s, error, nodeId, p.raftAddr ?? null));
      }),
    );
    markMembers(g, members, statuses.get(g.brokerName) ?? []);
    g.nodes.sort((a, b) => String(a.nodeId ?? a.addr).localeCompare(String(b.nodeId ?? b.addr)));
    const leaders = g.nodes.filter((n) => n.role === 'LEADER').sort((a, b) => (b.term ?? 0) - (a.term ?? 0));
    g.leader = leaders[0]?.nodeId ?? null;
    g.term = Math.max(...g.nodes.map((n) => n.term ?? -1));
    if (g.term < 0) g.term = null;
  }
  return [...groups.values()].sort((a, b) => (a.clusterName === b.clusterName ? a.brokerName.localeCompare(b.brokerName) : a.clusterName.localeCompare(b.clusterName)));
}

/**
 * Sets the group's member set (the NameServer's, else the leader's answer), adds a row for each
 * member no row names (it neither registered nor answered), and says per node what it is.
 */
function markMembers(g: ClusterListGroup, fromNamesrv: RaftMembersInfo | undefined, statuses: readonly FullStatus[]): void {
  const leader = statuses.filter((s) => s.role === 'LEADER' && s.voters !== undefined).sort((a, b) => b.term - a.term)[0];
  const set = fromNamesrv ?? (leader?.voters !== undefined ? { index: null, voters: leader.voters, learners: leader.learners ?? [] } : undefined);
  if (set === undefined) return;
  g.voters = [...set.voters];
  g.learners = [...set.learners];
  g.membershipIndex = set.index;
  for (const id of [...set.voters, ...set.learners]) {
    if (!g.nodes.some((n) => n.nodeId === id)) g.nodes.push({ ...row(null, null, undefined, 'a member that is not registered with the NameServer and was not found through its peers', id), member: null });
  }
  for (const n of g.nodes) {
    if (n.nodeId === null) continue;
    n.member = set.voters.includes(n.nodeId) ? 'voter' : set.learners.includes(n.nodeId) ? 'learner' : 'not a member';
  }
}
