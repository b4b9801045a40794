// The one port plan of the dev-cluster kit: where every process of a local cluster of G groups of
// N nodes listens, and, when the cluster runs behind TCP proxies (the jepsen-like harness), where
// each proxy listens. Fixed ports (not port 0) because each node's peer string must name its
// peers' (or their proxies') ports before any node starts. From `basePort`:
//   the NameServer                         basePort
//   node i of group g, clients             basePort + 1 + g*N + i
//                      Raft                basePort + 1 + G*N + g*N + i
//                      gRPC                basePort + 1 + 2*G*N + g*N + i
//                      metrics             basePort + 1 + 3*G*N + g*N + i
//   the NameServer's metrics               basePort + 1 + 4*G*N
//   with front doors, node i's door e       D0 + (g*N + i)*N + e            (D0 = basePort + 2 + 4*G*N)
//   with proxies (P0: after the doors):
//     clients → node i                     P0 + g*N + i
//     node i → the NameServer              P0 + G*N + g*N + i
//     node `from` → node `to` (Raft)        P0 + 2*G*N + (g*N + from)*N + to
//     clients → node i's door e (doors)     P0 + 2*G*N + G*N*N + (g*N + i)*N + e
import assert from 'node:assert/strict';

export interface PortPlanOptions {
  basePort: number;
  groups: number;
  /** Node slots per group (a harness may plan more than it starts, to add nodes later). */
  nodes: number;
  frontDoors?: boolean;
  proxies?: boolean;
}

export interface ClusterPortPlan {
  readonly basePort: number;
  readonly groups: number;
  readonly nodes: number;
  readonly frontDoors: boolean;
  readonly proxies: boolean;
  /** How many consecutive ports from basePort the plan uses. */
  readonly portCount: number;
  readonly namesrvPort: number;
  readonly namesrvMetricsPort: number;
  brokerPort(group: number, node: number): number;
  raftPort(group: number, node: number): number;
  grpcPort(group: number, node: number): number;
  metricsPort(group: number, node: number): number;
  /** The port node `node` serves front door `door` on (front doors only). */
  doorPort(group: number, node: number, door: number): number;
  /** The proxy the clients dial to reach a node's broker port (proxies only). */
  clientProxyPort(group: number, node: number): number;
  /** The proxy a node dials to reach the NameServer (proxies only). */
  namesrvProxyPort(group: number, node: number): number;
  /** The proxy `from` dials to reach `to`'s Raft port, both of group `group` (proxies only). */
  raftProxyPort(group: number, from: number, to: number): number;
  /** The proxy the clients dial to reach a node's door (front doors and proxies only). */
  doorProxyPort(group: number, node: number, door: number): number;
  /** The one-group view jepsen-like's db and tests use. */
  group(group: number): PortPlan;
  /** Every port of the plan, for collision checks. */
  allPorts(): number[];
}

/** One group of a cluster plan, with node positions inside the group. */
export interface PortPlan {
  readonly cluster: ClusterPortPlan;
  readonly groupIndex: number;
  namesrvPort: number;
  raftPort(node: number): number;
  brokerPort(node: number): number;
  /** The proxy node `node` dials to reach the NameServer. */
  namesrvProxyPort(node: number): number;
  /** The proxy `from` dials to reach `to`'s Raft port. */
  raftProxyPort(from: number, to: number): number;
  /** The proxy the workload's clients dial to reach node `node`'s broker port. */
  clientProxyPort(node: number): number;
  /** Every port of the whole plan, for collision checks. */
  allPorts(): number[];
}

export function portCount(groups: number, nodes: number, frontDoors = false, proxies = false): number {
  const gn = groups * nodes;
  return 2 + 4 * gn + (frontDoors ? gn * nodes : 0) + (proxies ? 2 * gn + gn * nodes + (frontDoors ? gn * nodes : 0) : 0);
}

export function clusterPortPlan(o: PortPlanOptions): ClusterPortPlan {
  const G = o.groups;
  const N = o.nodes;
  const frontDoors = o.frontDoors === true;
  const proxies = o.proxies === true;
  const count = portCount(G, N, frontDoors, proxies);
  assert(Number.isInteger(G) && G >= 1 && Number.isInteger(N) && N >= 1, `a plan needs ≥ 1 group of ≥ 1 node, not ${G} × ${N}`);
  assert(Number.isInteger(o.basePort) && o.basePort >= 1024 && o.basePort + count <= 65536, `ports from ${o.basePort} (${count} of them) do not fit in 1024..65535`);
  const base = o.basePort;
  const slot = (g: number, i: number): number => {
    assert(Number.isInteger(g) && g >= 0 && g < G, `group index ${g} out of range`);
    assert(Number.isInteger(i) && i >= 0 && i < N, `node index ${i} out of range`);
    return g * N + i;
  };
  const door0 = base + 2 + 4 * G * N;
  const proxy0 = door0 + (frontDoors ? G * N * N : 0);
  const needProxies = (): void => assert(proxies, 'this plan has no proxies');
  const needDoors = (): void => assert(frontDoors, 'this plan has no front doors');
  const checkDoor = (e: number): void => assert(Number.isInteger(e) && e >= 0 && e < N, `door ${e} out of range`);
  const plan: ClusterPortPlan = {
    basePort: base,
    groups: G,
    nodes: N,
    frontDoors,
    proxies,
    portCount: count,
    namesrvPort: base,
    namesrvMetricsPort: base + 1 + 4 * G * N,
    brokerPort: (g, i) => base + 1 + slot(g, i),
    raftPort: (g, i) => base + 1 + G * N + slot(g, i),
    grpcPort: (g, i) => base + 1 + 2 * G * N + slot(g, i),
    metricsPort: (g, i) => base + 1 + 3 * G * N + slot(g, i),
    doorPort: (g, i, e) => (needDoors(), checkDoor(e), door0 + slot(g, i) * N + e),
    clientProxyPort: (g, i) => (needProxies(), proxy0 + slot(g, i)),
    namesrvProxyPort: (g, i) => (needProxies(), proxy0 + G * N + slot(g, i)),
    raftProxyPort: (g, from, to) => {
      needProxies();
      slot(g, to);
      assert(from !== to, 'no proxy from a node to itself');
      return proxy0 + 2 * G * N + slot(g, from) * N + to;
    },
    doorProxyPort: (g, i, e) => (needProxies(), needDoors(), checkDoor(e), proxy0 + 2 * G * N + G * N * N + slot(g, i) * N + e),
    group: (g) => groupView(plan, g),
    allPorts: () => {
      const ports = [base, plan.namesrvMetricsPort];
      for (let g = 0; g < G; g++) {
        for (let i = 0; i < N; i++) {
          ports.push(plan.brokerPort(g, i), plan.raftPort(g, i), plan.grpcPort(g, i), plan.metricsPort(g, i));
          if (proxies) ports.push(plan.clientProxyPort(g, i), plan.namesrvProxyPort(g, i));
          for (let j = 0; j < N; j++) {
            if (frontDoors) ports.push(plan.doorPort(g, i, j));
            if (proxies && i !== j) ports.push(plan.raftProxyPort(g, i, j));
            if (proxies && frontDoors) ports.push(plan.doorProxyPort(g, i, j));
          }
        }
      }
      return ports;
    },
  };
  return plan;
}

function groupView(plan: ClusterPortPlan, g: number): PortPlan {
  assert(Number.isInteger(g) && g >= 0 && g < plan.groups, `group index ${g} out of range`);
  return {
    cluster: plan,
    groupIndex: g,
    namesrvPort: plan.namesrvPort,
    raftPort: (i) => plan.raftPort(g, i),
    brokerPort: (i) => plan.brokerPort(g, i),
    namesrvProxyPort: (i) => plan.namesrvProxyPort(g, i),
    raftProxyPort: (from, to) => plan.raftProxyPort(g, from, to),
    clientProxyPort: (i) => plan.clientProxyPort(g, i),
    allPorts: () => plan.allPorts(),
  };
}

export const MAX_PLANNED_NODES = 7;
/** A block that holds a one-group plan with proxies for up to MAX_PLANNED_NODES nodes. */
export const PORT_PLAN_SPAN = 128;

/** One group of up to 7 nodes behind proxies, inside [basePort, basePort + PORT_PLAN_SPAN). */
export function defaultPortPlan(basePort: number, nodeCount: number): PortPlan {
  assert(nodeCount >= 1 && nodeCount <= MAX_PLANNED_NODES, `the default port plan holds 1..${MAX_PLANNED_NODES} nodes, not ${nodeCount}`);
  return clusterPortPlan({ basePort, groups: 1, nodes: nodeCount, proxies: true }).group(0);
}
