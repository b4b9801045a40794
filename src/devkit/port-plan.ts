// Where every process and proxy of a test cluster listens. Fixed ports (not port 0) because each
// node's peer string must name its peers' proxy ports before any node starts. The default plan
// spaces broker ports four apart so a broker that also opens listenPort-2 (RocketMQ's VIP
// channel) or listenPort+1 (its HA port) does not collide with its neighbour.
import assert from 'node:assert/strict';

export interface PortPlan {
  namesrvPort: number;
  raftPort(node: number): number;
  brokerPort(node: number): number;
  /** The proxy node `node` dials to reach the NameServer. */
  namesrvProxyPort(node: number): number;
  /** The proxy `from` dials to reach `to`'s Raft port. */
  raftProxyPort(from: number, to: number): number;
  /** The proxy the workload's clients dial to reach node `node`'s broker port. */
  clientProxyPort(node: number): number;
  /** Every port the plan uses, for collision checks. */
  allPorts(): number[];
}

export const MAX_PLANNED_NODES = 7;
export const PORT_PLAN_SPAN = 128;

/** A plan inside [basePort, basePort + PORT_PLAN_SPAN) for up to 7 nodes. */
export function defaultPortPlan(basePort: number, nodeCount: number): PortPlan {
  assert(nodeCount >= 1 && nodeCount <= MAX_PLANNED_NODES, `the default port plan holds 1..${MAX_PLANNED_NODES} nodes, not ${nodeCount}`);
  assert(Number.isInteger(basePort) && basePort >= 1024 && basePort + PORT_PLAN_SPAN <= 65536, `bad basePort ${basePort}`);
  const checkNode = (i: number): void => assert(Number.isInteger(i) && i >= 0 && i < nodeCount, `node index ${i} out of range`);
  const plan: PortPlan = {
    namesrvPort: basePort,
    raftPort: (i) => (checkNode(i), basePort + 10 + i),
    brokerPort: (i) => (checkNode(i), basePort + 22 + 4 * i),
    namesrvProxyPort: (i) => (checkNode(i), basePort + 50 + i),
    raftProxyPort: (from, to) => {
      checkNode(from);
      checkNode(to);
      assert(from !== to, 'no proxy from a node to itself');
      return basePort + 60 + from * nodeCount + to;
    },
    clientProxyPort: (i) => (checkNode(i), basePort + 1 + i),
    allPorts: () => {
      const ports = [basePort];
      for (let i = 0; i < nodeCount; i++) {
        ports.push(plan.raftPort(i), plan.brokerPort(i), plan.namesrvProxyPort(i), plan.clientProxyPort(i));
        for (let j = 0; j < nodeCount; j++) if (i !== j) ports.push(plan.raftProxyPort(i, j));
      }
      return ports;
    },
  };
  return plan;
}
