// Nemeses over several Raft groups (jepsen-like/nemesis/group-nemeses.ts): each fault hits one
// group, drawn with the seed, or every group at once; inside a group it sees only that group's
// nodes, links and leader; the history has one start and one stop per fault, saying which groups
// and what was done in each; the heal of the whole run undoes everything. Links are a real
// ProxyMesh of two 3-node groups; processes an in-memory NodeControl.
import { afterEach, describe, expect, it } from 'vitest';
import { GroupNodes } from '../jepsen-like/db/group-nodes.js';
import type { NodeControl, NodeStatus } from '../jepsen-like/db/node-control.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { NemesisOp } from '../jepsen-like/history/types.js';
import { overGroups, type GroupScope } from '../jepsen-like/nemesis/group-nemeses.js';
import { healAll } from '../jepsen-like/nemesis/heal-all.js';
import type { NemesisContext } from '../jepsen-like/nemesis/nemesis.js';
import { parseNemesisList } from '../jepsen-like/nemesis/registry.js';
import { ProxyMesh } from '../jepsen-like/net/proxy-mesh.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';
import { onFreePorts } from './jepsen-net-helpers.js';

class FakeNodes implements NodeControl {
  readonly states = new Map<string, NodeStatus>();
  constructor(readonly nodeIds: string[]) {
    for (const id of nodeIds) this.states.set(id, 'running');
  }
  status(id: string): NodeStatus {
    return this.states.get(id)!;
  }
  async kill(id: string): Promise<void> {
    this.states.set(id, 'exited');
  }
  async restart(id: string): Promise<void> {
    this.states.set(id, 'running');
  }
  pause(id: string): void {
    this.states.set(id, 'paused');
  }
  resume(id: string): void {
    this.states.set(id, 'running');
  }
}

let mesh: ProxyMesh | undefined;
afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
});

const GROUPS: Record<string, string[]> = { 'broker-a': ['a0', 'a1', 'a2'], 'broker-b': ['b0', 'b1', 'b2'] };
const LEADERS: Record<string, string> = { 'broker-a': 'a1', 'broker-b': 'b2' };

async function setup(seed: number): Promise<{ run: NemesisContext; scopes: GroupScope[]; nodes: FakeNodes; history: HistoryBuilder }> {
  const ids = Object.values(GROUPS).flat();
  const groupOf = (id: string): string => Object.keys(GROUPS).find((g) => GROUPS[g]!.includes(id))!;
  mesh = await onFreePorts(40, (base) =>
    ProxyMesh.create({ nodes: ids.map((id, i) => ({ id, port: base + i, group: groupOf(id) })), proxyPort: (from, to) => base + 6 + from * 6 + to, seed: 3 }),
  );
  const nodes = new FakeNodes(ids);
  const history = new HistoryBuilder();
  const run: NemesisContext = { mesh, nodes, leaderOf: async () => LEADERS['broker-a'], history, rng: new SeededRandom(seed) };
  const scopes: GroupScope[] = Object.entries(GROUPS).map(([name, members]) => ({
    name,
    ctx: { mesh: mesh!.view(members), nodes: new GroupNodes(nodes, members), leaderOf: async () => LEADERS[name] },
  }));
  return { run, scopes, nodes, history };
}

const nemesisOps = (h: HistoryBuilder): NemesisOp['value'][] => h.history().filter((op): op is NemesisOp => op.f === 'nemesis').map((op) => op.value);

describe('nemeses over several groups', () => {
  it('kill-leader kills the leader of one group or of every group, each time drawn with the seed, and restarts it', async () => {
    const { run, scopes, nodes, history } = await setup(21);
    const [killLeader] = overGroups(() => parseNemesisList('kill-leader'), scopes);
    const hit = new Set<string>();
    for (let i = 0; i < 12; i++) {
      expect(await killLeader!.start(run)).toBe(true);
      const killed = [...nodes.states].filter(([, s]) => s === 'exited').map(([id]) => id).sort();
      hit.add(killed.join(','));
      for (const id of killed) expect(Object.values(LEADERS)).toContain(id);
      await killLeader!.stop(run);
      expect([...nodes.states.values()].every((s) => s === 'running')).toBe(true);
    }
    expect(hit).toEqual(new Set(['a1', 'b2', 'a1,b2']));
    const ops = nemesisOps(history);
    expect(ops).toHaveLength(24);
    expect(ops.every((op) => op.fault === 'kill-leader')).toBe(true);
    const first = ops[0]!.detail as { groups: Record<string, { nodes: string[] }> };
    for (const [group, detail] of Object.entries(first.groups)) expect(detail.nodes).toEqual([LEADERS[group]]);
  });

  it('partitions stay inside a group, and the heal of the run reopens every link of every group', async () => {
    const { run, scopes } = await setup(5);
    const nemeses = overGroups(() => parseNemesisList('partition-random-halves,partition-isolate-leader'), scopes);
    for (const n of nemeses) {
      expect(await n.start(run)).toBe(true);
      const cut = mesh!.blockedLinks();
      expect(cut.length).toBeGreaterThan(0);
      // Every cut link joins two nodes of one group (a0..a2 or b0..b2).
      for (const l of cut) expect(l.from[0]).toBe(l.to[0]);
    }
    const heal = await healAll(run, nemeses);
    expect(heal.nemesesStopped.sort()).toEqual(['partition-isolate-leader', 'partition-random-halves']);
    expect(mesh!.blockedLinks()).toEqual([]);
  });
});
