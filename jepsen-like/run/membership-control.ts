// The membership nemesis's hands during a run: the configuration in force read from the leader's
// RAFT_STATUS, fresh nodes started by the cluster db in its spare port slots, changes sent
// through the public admin client (RAFT_CHANGE_MEMBERS, as `rmq admin changeMembers` does), and
// removed nodes retired. Once the run is stopping no node is started.
import type { Admin } from '../../src/client/index.js';
import type { ClusterDb } from '../db/cluster.js';
import type { MemberChangeKind, MembershipControl } from '../nemesis/membership-nemesis.js';
import type { ClusterProbe } from './cluster-probe.js';
import { RunStoppingError } from './guarded-nodes.js';

const CHANGE_TIMEOUT_MS = 15_000;

export function membershipControl(db: ClusterDb, probe: ClusterProbe, group: string, admin: () => Admin | undefined, stopping: () => boolean): MembershipControl {
  return {
    async members() {
      const leader = await probe.leaderOf();
      const s = leader === undefined ? undefined : await probe.status(leader);
      if (s?.voters === undefined) return undefined;
      return { voters: s.voters, learners: s.learners ?? [] };
    },
    async startNode() {
      if (stopping()) throw new RunStoppingError('start of a new node refused: the run is stopping');
      // Each member's own Raft port, not a proxy: an added node's links are direct.
      const n = await db.addNode(db.nodeIds.map((id) => `${id}-127.0.0.1:${db.node(id).raftPort}`).join(';'));
      return n === undefined ? undefined : { id: n.id, raftAddr: `127.0.0.1:${n.raftPort}` };
    },
    async change(kind: MemberChangeKind, nodeId: string, address?: string) {
      const a = admin();
      if (a === undefined) throw new RunStoppingError('no admin client: the run is stopping');
      await a.changeMembers(group, kind, nodeId, address, CHANGE_TIMEOUT_MS);
    },
    retireNode: (nodeId) => db.retireNode(nodeId),
  };
}
