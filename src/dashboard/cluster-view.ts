// What the dashboard shows of the clusters: every broker group with every node the group knows
// (registered with the NameServer or named as a peer by a node that answers), each node's Raft
// view and liveness, read through the SDK's Admin. A node that stops answering stays listed as
// down, once, under its Raft id: it is remembered from earlier reads.
import type { Admin, RaftStatus } from '../client/index.js';

export interface NodeView {
  nodeId: string;
  brokerAddr: string;
  metricsAddr?: string;
  /** 'up' when it answered RAFT_STATUS just now. */
  liveness: 'up' | 'down';
  role: string;
  term?: number;
  commitIndex?: number;
  appliedIndex?: number;
  /** On the leader's word: entries this node lacks (leader last index minus its match index). */
  lagEntries?: number;
  error?: string;
}

export interface GroupView {
  clusterName: string;
  brokerName: string;
  leader: string | null;
  term: number | null;
  nodes: NodeView[];
}

interface KnownNode {
  brokerAddr: string;
  metricsAddr?: string;
}

export class ClusterView {
  /** brokerName → nodeId → where it was last seen; kept so a dead node shows as down. */
  private readonly known = new Map<string, Map<string, KnownNode>>();
  private readonly clusterOf = new Map<string, string>();

  constructor(private readonly admin: Admin) {}

  async read(): Promise<GroupView[]> {
    const info = await this.admin.clusterInfo();
    for (const [cluster, names] of Object.entries(info.clusterAddrTable)) for (const n of names) this.clusterOf.set(n, cluster);
    const addrsByGroup = new Map<string, Set<string>>();
    for (const bd of Object.values(info.brokerAddrTable)) addrsByGroup.set(bd.brokerName, new Set(Object.values(bd.brokerAddrs)));
    for (const name of this.known.keys()) if (!addrsByGroup.has(name)) addrsByGroup.set(name, new Set());
    const groups = await Promise.all([...addrsByGroup].map(([name, addrs]) => this.readGroup(name, addrs)));
    return groups.sort((a, b) => (a.brokerName < b.brokerName ? -1 : 1));
  }

  private async readGroup(brokerName: string, registered: Set<string>): Promise<GroupView> {
    const known = this.known.get(brokerName) ?? new Map<string, KnownNode>();
    this.known.set(brokerName, known);
    const addrs = new Set([...registered, ...[...known.values()].map((k) => k.brokerAddr)]);
    const byAddr = new Map<string, RaftStatus | Error>();
    await Promise.all([...addrs].map(async (a) => byAddr.set(a, await this.admin.raftStatus(a).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))))));
    // Peers a live node names (with their client address once they have led) join the list.
    for (const s of byAddr.values()) {
      if (s instanceof Error) continue;
      if (s.brokerAddr !== undefined) known.set(s.nodeId, { brokerAddr: s.brokerAddr, ...(s.metricsAddr !== undefined ? { metricsAddr: s.metricsAddr } : {}) });
      for (const p of s.peers) if (p.brokerAddr !== undefined && !known.has(p.nodeId)) known.set(p.nodeId, { brokerAddr: p.brokerAddr });
    }
    for (const [id, k] of known) {
      if (byAddr.has(k.brokerAddr)) continue;
      byAddr.set(k.brokerAddr, await this.admin.raftStatus(k.brokerAddr).catch((err: unknown) => (err instanceof Error ? err : new Error(`${id}: ${String(err)}`))));
    }
    const statuses = [...byAddr.values()].filter((s): s is RaftStatus => !(s instanceof Error));
    const leader = statuses.filter((s) => s.role === 'LEADER').sort((a, b) => b.term - a.term)[0];
    const nodes: NodeView[] = [...known].map(([nodeId, k]) => {
      const s = byAddr.get(k.brokerAddr);
      if (s === undefined || s instanceof Error || s.nodeId !== nodeId) {
        return { nodeId, brokerAddr: k.brokerAddr, ...(k.metricsAddr !== undefined ? { metricsAddr: k.metricsAddr } : {}), liveness: 'down', role: 'DOWN', ...(s instanceof Error ? { error: s.message } : {}) };
      }
      const match = leader?.peers.find((p) => p.nodeId === nodeId)?.matchIndex;
      const lagEntries = s.role === 'LEADER' ? 0 : leader !== undefined && match !== undefined ? Math.max(0, leader.lastIndex - match) : undefined;
      return {
        nodeId, brokerAddr: k.brokerAddr, ...(s.metricsAddr !== undefined ? { metricsAddr: s.metricsAddr } : {}),
        liveness: 'up', role: s.role, term: s.term, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex,
        ...(lagEntries !== undefined ? { lagEntries } : {}),
      };
    });
    nodes.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
    return { clusterName: this.clusterOf.get(brokerName) ?? '', brokerName, leader: leader?.nodeId ?? null, term: leader?.term ?? null, nodes };
  }
}
