// The power-loss nemesis over a fake node control: under ASYNC_FLUSH it takes a minority (one
// of three), under SYNC_FLUSH any number; it restarts every node it took at stop, and does
// nothing when the db cannot drop unsynced writes.
import { describe, expect, it } from 'vitest';
import type { NodeControl, NodeStatus } from '../jepsen-like/db/node-control.js';
import type { NemesisContext } from '../jepsen-like/nemesis/nemesis.js';
import { PowerLossNemesis } from '../jepsen-like/nemesis/power-loss-nemesis.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';

function fakeNodes(withPowerLoss: boolean): NodeControl & { calls: string[] } {
  const states = new Map<string, NodeStatus>([
    ['n0', 'running'],
    ['n1', 'running'],
    ['n2', 'running'],
  ]);
  const calls: string[] = [];
  const nodes: NodeControl & { calls: string[] } = {
    calls,
    nodeIds: ['n0', 'n1', 'n2'],
    status: (id) => states.get(id)!,
    kill: async (id) => void states.set(id, 'exited'),
    restart: async (id) => {
      calls.push(`restart ${id}`);
      states.set(id, 'running');
    },
    pause: () => {},
    resume: () => {},
  };
  if (withPowerLoss) {
    nodes.powerLoss = async (id) => {
      calls.push(`power-loss ${id}`);
      states.set(id, 'exited');
      return { filesReverted: 1 };
    };
  }
  return nodes;
}

function context(nodes: NodeControl, flush: 'async' | 'sync', seed: number): NemesisContext {
  return { nodes, flush, rng: new SeededRandom(seed), history: { nemesis: () => {} }, leaderOf: async () => 'n0' } as unknown as NemesisContext;
}

describe('the power-loss nemesis', () => {
  it('takes exactly one node of three under ASYNC_FLUSH, whatever the seed, and restarts it', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const nodes = fakeNodes(true);
      const n = new PowerLossNemesis();
      expect(await n.start(context(nodes, 'async', seed))).toBe(true);
      const lost = nodes.calls.filter((c) => c.startsWith('power-loss'));
      expect(lost).toHaveLength(1);
      await n.stop(context(nodes, 'async', seed));
      expect(nodes.calls.filter((c) => c.startsWith('restart'))).toEqual([lost[0]!.replace('power-loss', 'restart')]);
    }
  });

  it('may take every node under SYNC_FLUSH', async () => {
    const counts = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const nodes = fakeNodes(true);
      const n = new PowerLossNemesis();
      await n.start(context(nodes, 'sync', seed));
      counts.add(nodes.calls.length);
      await n.stop(context(nodes, 'sync', seed));
      expect(nodes.nodeIds.every((id) => nodes.status(id) === 'running')).toBe(true);
    }
    expect([...counts].sort()).toEqual([1, 2, 3]);
  });

  it('does nothing when the db cannot drop unsynced writes', async () => {
    const nodes = fakeNodes(false);
    expect(await new PowerLossNemesis().start(context(nodes, 'sync', 1))).toBe(false);
    expect(nodes.calls).toEqual([]);
  });
});
