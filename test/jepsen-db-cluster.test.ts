// The cluster db starts a NameServer and three nodes (stand-in echo servers here) with their own
// folders, broker.conf and peer strings through proxies, controls nodes by id, and leaves no
// process behind at teardown. Ports: random free blocks (a 3-node plan uses 68 ports).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterDb } from '../jepsen-like/db/cluster.js';
import { clusterPortPlan, defaultPortPlan, portCount, PORT_PLAN_SPAN, type ClusterPortPlan, type PortPlan } from '../src/devkit/port-plan.js';
import { assertBuilt, ECHO_SERVER, tempRunDir } from './jepsen-db-helpers.js';
import { isAlive } from '../raft/tools/process/process-identity.js';
import { dial, eventually, onFreePorts } from './jepsen-net-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE = await findFreeBlock(PORT_PLAN_SPAN);
let db: ClusterDb | undefined;
let dir: string | undefined;
beforeAll(assertBuilt);
afterEach(async () => {
  await db?.teardown();
  db = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

let base = BASE;
async function standInCluster(): Promise<ClusterDb> {
  dir = tempRunDir('cluster');
  db = await onFreePorts(70, (b) => {
    base = b;
    return setupAt(b, dir!);
  });
  return db;
}

function setupAt(b: number, runDir: string, ports: PortPlan | ClusterPortPlan = defaultPortPlan(b, 3)): Promise<ClusterDb> {
  return ClusterDb.setup({
    ...('group' in ports && ports.frontDoors ? { frontDoors: true } : {}),
    runDir,
    ports,
    seed: 5,
    launchNamesrv: ({ port }) => ({ command: process.execPath, args: [ECHO_SERVER, '--port', String(port)] }),
    launchNode: (n) => ({
      command: process.execPath,
      args: [ECHO_SERVER, '--port', String(n.raftPort), '--port', String(n.brokerPort)],
      confText: `brokerName=${n.group}\nlistenPort=${n.brokerPort}\nnamesrvAddr=${n.namesrvAddr}\ndLegerSelfId=${n.id}\ndLegerPeers=${n.peers}\n${n.frontDoorPorts !== undefined ? `frontDoorPorts=${n.frontDoorPorts}\n` : ''}`,
      readyPorts: [n.raftPort, n.brokerPort],
    }),
  });
}

async function roundTrip(port: number, text: string, timeoutMs = 2000): Promise<boolean> {
  const c = await dial(port).catch(() => undefined);
  if (c === undefined) return false;
  try {
    c.socket.write(text);
    return await eventually(() => c.received() === text, timeoutMs);
  } finally {
    c.socket.resetAndDestroy();
  }
}

describe('ClusterDb', () => {
  it('plans ports that never collide and fit in the span', () => {
    for (let n = 1; n <= 7; n++) {
      const ports = defaultPortPlan(BASE, n).allPorts();
      expect(new Set(ports).size).toBe(ports.length);
      for (const p of ports) expect(p - BASE).toBeLessThan(PORT_PLAN_SPAN);
    }
    // The tests space 3-node clusters 70 ports apart.
    expect(Math.max(...defaultPortPlan(BASE, 3).allPorts()) - BASE).toBeLessThan(70);
  });

  it('starts a namesrv and three nodes with their broker.conf, peers through proxies, and a cluster description', async () => {
    const d = await standInCluster();
    const c = d.cluster();
    expect(c.nodes.map((n) => n.id)).toEqual(['n0', 'n1', 'n2']);
    for (const n of c.nodes) expect(isAlive(n.pid!)).toBe(true);
    expect(isAlive(c.namesrv.pid!)).toBe(true);

    const conf = readFileSync(c.nodes[1]!.confPath, 'utf8');
    const plan = defaultPortPlan(base, 3);
    expect(conf).toContain(`dLegerPeers=n0-127.0.0.1:${plan.raftProxyPort(1, 0)};n1-127.0.0.1:${plan.raftPort(1)};n2-127.0.0.1:${plan.raftProxyPort(1, 2)}`);
    expect(conf).toContain(`namesrvAddr=127.0.0.1:${plan.namesrvProxyPort(1)}`);
    // The proxy n1→n0 really leads to n0's Raft port, and n1→namesrv to the NameServer.
    expect(await roundTrip(plan.raftProxyPort(1, 0), 'raft')).toBe(true);
    expect(await roundTrip(plan.namesrvProxyPort(1), 'ns')).toBe(true);
    const described = JSON.parse(readFileSync(join(dir!, 'cluster.json'), 'utf8')) as { peers: Record<string, string> };
    expect(described.peers['n1']).toBe(d.mesh.peersFor('n1'));
  });

  it('plans two groups with doors and proxies on ports that never collide, and lays out rmq cluster up as before', () => {
    const plan = clusterPortPlan({ basePort: BASE, groups: 2, nodes: 3, frontDoors: true, proxies: true });
    const ports = plan.allPorts();
    expect(new Set(ports).size).toBe(ports.length);
    expect(Math.max(...ports) - BASE).toBe(plan.portCount - 1);
    // The layout of `rmq cluster up` (no proxies): clients, then Raft, gRPC, metrics, the NameServer's metrics.
    const up = clusterPortPlan({ basePort: BASE, groups: 2, nodes: 3 });
    expect([up.brokerPort(1, 0), up.raftPort(0, 0), up.grpcPort(0, 0), up.metricsPort(0, 0), up.namesrvMetricsPort]).toEqual([BASE + 4, BASE + 7, BASE + 13, BASE + 19, BASE + 25]);
    expect(() => up.clientProxyPort(0, 0)).toThrow(/no proxies/);
  });

  it('starts two groups whose Raft links stay inside each group, and gives each group its part of the mesh, door proxies included', async () => {
    dir = tempRunDir('cluster-groups');
    let plan: ClusterPortPlan | undefined;
    db = await onFreePorts(portCount(2, 3, true, true), (b) => {
      plan = clusterPortPlan({ basePort: b, groups: 2, nodes: 3, frontDoors: true, proxies: true });
      return setupAt(b, dir!, plan);
    });
    const d = db;
    expect(d.groups).toEqual(['broker-a', 'broker-b']);
    expect(d.groupNodeIds('broker-b')).toEqual(['b0', 'b1', 'b2']);
    const conf = readFileSync(d.node('b1').confPath, 'utf8');
    expect(conf).toContain('brokerName=broker-b');
    expect(conf).toContain(`dLegerPeers=b0-127.0.0.1:${plan!.raftProxyPort(1, 1, 0)};b1-127.0.0.1:${plan!.raftPort(1, 1)};b2-127.0.0.1:${plan!.raftProxyPort(1, 1, 2)}`);
    expect(await roundTrip(plan!.raftProxyPort(1, 1, 0), 'raft b1->b0')).toBe(true);
    // No Raft link joins the groups; a group's view cuts and heals only its own links.
    expect(d.mesh.raftLinks().filter((l) => l.from[0] !== l.to[0])).toEqual([]);
    const b = d.mesh.view(d.groupNodeIds('broker-b'));
    expect(b.raftLinks()).toHaveLength(6);
    d.mesh.block([{ from: 'a0', to: 'a1' }]);
    b.block(b.raftLinks());
    b.heal();
    expect(d.mesh.blockedLinks()).toEqual([{ from: 'a0', to: 'a1' }]);
    expect(d.clientDialAddress(`127.0.0.1:${plan!.brokerPort(1, 2)}`)).toBe(`127.0.0.1:${plan!.clientProxyPort(1, 2)}`);
    // Front doors: each door port of a node has a client proxy, and belongs to that node's group.
    expect(conf).toContain(`frontDoorPorts=b0:${plan!.doorPort(1, 1, 0)};b1:${plan!.doorPort(1, 1, 1)};b2:${plan!.doorPort(1, 1, 2)}`);
    expect(d.clientDialAddress(`127.0.0.1:${plan!.doorPort(1, 1, 2)}`)).toBe(`127.0.0.1:${plan!.doorProxyPort(1, 1, 2)}`);
    expect(b.links().filter((l) => l.from === 'clients').map((l) => l.to)).toContain('b1/door2');
    expect(d.mesh.view(d.groupNodeIds('broker-a')).links().some((l) => l.to.startsWith('b'))).toBe(false);
  });

  it('kills, restarts, pauses and resumes a node by id, and teardown leaves no process', async () => {
    const d = await standInCluster();
    const plan = defaultPortPlan(base, 3);
    const before = d.cluster().nodes[2]!.pid!;
    await d.kill('n2');
    expect(d.status('n2')).toBe('exited');
    expect(isAlive(before)).toBe(false);
    expect(d.cluster().nodes[2]!.pid).toBeUndefined();
    await d.restart('n2');
    const after = d.cluster().nodes[2]!.pid!;
    expect(after).not.toBe(before);
    expect(await roundTrip(plan.brokerPort(2), 'back')).toBe(true);

    d.pause('n0');
    expect(d.status('n0')).toBe('paused');
    expect(await roundTrip(plan.brokerPort(0), 'frozen', 300)).toBe(false);
    d.resume('n0');
    expect(await roundTrip(plan.brokerPort(0), 'thawed')).toBe(true);

    d.pause('n1');
    const pids = [d.cluster().namesrv.pid!, ...d.cluster().nodes.map((n) => n.pid!)];
    await d.teardown();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    await expect(dial(plan.raftProxyPort(0, 1))).rejects.toThrow();
  });

  it('reports a node that never listens as ERR_JEPSEN_NODE_NOT_READY and cleans up what it started', async () => {
    dir = tempRunDir('cluster-bad');
    const plan = defaultPortPlan(BASE, 3);
    let namesrvPid: number | undefined;
    const attempt = ClusterDb.setup({
      runDir: dir,
      ports: plan,
      seed: 1,
      // Long enough for the echo NameServer to listen on a loaded machine; the nodes never do.
      readyTimeoutMs: 5000,
      launchNamesrv: ({ port }) => ({ command: process.execPath, args: [ECHO_SERVER, '--port', String(port)] }),
      // Listens on the wrong port: the db waits on the broker port in vain.
      launchNode: (n) => ({ command: process.execPath, args: [ECHO_SERVER, '--port', String(n.raftPort)] }),
    });
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_JEPSEN_NODE_NOT_READY' });
    const pids = readFileSync(join(dir, 'pids.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"start"'))
      .map((l) => (JSON.parse(l) as { pid: number }).pid);
    namesrvPid = pids[0];
    expect(pids.length).toBe(4);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(namesrvPid).toBeDefined();
    await expect(dial(plan.raftProxyPort(0, 1))).rejects.toThrow();
  });
});
