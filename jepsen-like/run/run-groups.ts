// What a run over several Raft groups (or through front doors) needs beyond one group: the name
// the history gives each queue, and each group's context for its nemeses.
import type { ClusterDb } from '../db/cluster.js';
import { GroupNodes } from '../db/group-nodes.js';
import { queueKey, type QueueKey } from '../history/types.js';
import type { GroupScope } from '../nemesis/group-nemeses.js';
import type { AbuseContext } from '../nemesis/abuse-nemesis.js';
import type { NemesisContext } from '../nemesis/nemesis.js';
import type { ClusterProbe } from './cluster-probe.js';

/**
 * The history names each queue of a group (so sends, reads and replica digests agree): with
 * several groups qualified by its group, and through a front door by the group's queue id (door
 * d of D holds the group's queues d, d+D, ...; docs/operations.md).
 */
export function runQueueKeyOf(db: ClusterDb, frontDoors: boolean): (mq: { topic: string; brokerName: string; queueId: number }) => QueueKey {
  const several = db.groups.length > 1;
  const doors = new Map<string, { group: string; position: number; count: number }>();
  if (frontDoors) {
    for (const group of db.groups) {
      const ids = db.groupNodeIds(group);
      ids.forEach((id, position) => doors.set(`${group}-${id}`, { group, position, count: ids.length }));
    }
  }
  return (mq) => {
    const door = doors.get(mq.brokerName);
    const group = door?.group ?? mq.brokerName;
    const queueId = door === undefined ? mq.queueId : door.position + door.count * mq.queueId;
    return queueKey(mq.topic, queueId, several ? group : undefined);
  };
}

/**
 * Each group's context for the nemeses of a run over several groups: the run's context with the
 * group's nodes, part of the mesh, leader and leadership transfer (`transfer(g, name)`).
 */
export function groupScopes(
  db: ClusterDb,
  run: NemesisContext,
  probes: readonly ClusterProbe[],
  transfer: (g: number, name: string) => (nodeId: string) => Promise<void>,
): GroupScope[] {
  const { history: _history, rng: _rng, ...shared } = run;
  return db.groups.map((name, g) => {
    const ids = db.groupNodeIds(name);
    const probe = probes[g]!;
    return {
      name,
      ctx: { ...shared, mesh: db.mesh.view(ids), nodes: new GroupNodes(run.nodes, ids), leaderOf: () => probe.leaderOf(), transferLeader: transfer(g, name) },
    };
  });
}

/** Every process's addresses and PIDs, for the abuse nemesis. */
export function abuseContext(db: ClusterDb, namesrvAddr: string, rssBoundMiB: number | undefined, onRssOverBound: (finding: string) => void): AbuseContext {
  return {
    namesrvAddr,
    nodes: db.nodeIds.map((id) => ({ id, brokerAddr: `127.0.0.1:${db.node(id).brokerPort}`, raftAddr: `127.0.0.1:${db.node(id).raftPort}` })),
    pids: () => {
      const c = db.cluster();
      return { namesrv: c.namesrv.pid, ...Object.fromEntries(c.nodes.map((n) => [n.id, n.pid])) };
    },
    ...(rssBoundMiB !== undefined ? { rssBoundMiB } : {}),
    onRssOverBound,
  };
}
