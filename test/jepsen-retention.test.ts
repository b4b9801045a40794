// Retention in the jepsen-like harness: what retention deleted is counted apart from lost and
// skipped values (and only below the final retention floor: a real loss above it still fails
// the run), replicas compare their logs over the same range only, the probe asks every replica
// for the range they all still hold, and the retention nemesis isolates a follower, deletes the
// heads, moves leadership and heals exactly what it cut.
import { describe, expect, it } from 'vitest';
import { checkDivergence } from '../jepsen-like/checker/divergence.js';
import { checkLost } from '../jepsen-like/checker/lost.js';
import { checkReadOrder } from '../jepsen-like/checker/read-order.js';
import { retentionFloor } from '../jepsen-like/checker/retention-floor.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { ReplicaState } from '../jepsen-like/history/types.js';
import { commonRange, type ReplicaDigestBody } from '../jepsen-like/run/cluster-probe.js';
import { RetentionNemesis } from '../jepsen-like/nemesis/retention-nemesis.js';
import type { NemesisContext } from '../jepsen-like/nemesis/nemesis.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';
import type { DirectedLink } from '../jepsen-like/net/partition-shapes.js';

const Q0 = 'jepsen/0';

function builder(): HistoryBuilder & { tick(): HistoryBuilder } {
  const b = new HistoryBuilder() as HistoryBuilder & { tick(): HistoryBuilder };
  let t = 0;
  b.tick = () => b.at((t += 10));
  return b;
}

function replica(node: string, overrides: Partial<ReplicaState> = {}): ReplicaState {
  return { node, group: 'broker-a', commitIndex: 10, logHash: 'h', consumeQueueHashes: {}, ...overrides };
}

/** Values 0..5 acknowledged at offsets 0..5 of Q0; the consumer read only 4 and 5. */
function historyWithFloor(floor: number | undefined): HistoryBuilder & { tick(): HistoryBuilder } {
  const b = builder();
  for (let v = 0; v < 6; v++) {
    b.tick().invokeSend(0, { value: v, queue: Q0 });
    b.tick().completeSend(0, 'ok', { value: v, queue: Q0, offset: v });
  }
  b.tick().invokeRead(1, 'poll');
  b.tick().completeRead(1, 'poll', 'ok', [{ queue: Q0, offset: 0, value: 0 }]);
  b.tick().invokeRead(1, 'poll');
  b.tick().completeRead(1, 'poll', 'ok', [
    { queue: Q0, offset: 4, value: 4 },
    { queue: Q0, offset: 5, value: 5 },
  ]);
  const mins = floor === undefined ? undefined : { [Q0]: floor };
  b.tick().finalState([replica('n0', mins === undefined ? {} : { consumeQueueMinOffsets: { [Q0]: 0 } }), replica('n1', mins === undefined ? {} : { consumeQueueMinOffsets: mins })]);
  return b;
}

describe('the retention floor', () => {
  it('is, per queue, the highest min offset any replica reports in the final state', () => {
    const b = builder();
    b.tick().finalState([replica('n0', { consumeQueueMinOffsets: { [Q0]: 3, 'jepsen/1': 9 } }), replica('n1', { consumeQueueMinOffsets: { [Q0]: 7 } })]);
    expect([...retentionFloor(b.history())].sort()).toEqual([
      [Q0, 7],
      ['jepsen/1', 9],
    ]);
  });

  it('counts unread values below the floor as expired and jumps below it as not skipped', () => {
    const h = historyWithFloor(4).history();
    expect(checkLost(h)).toMatchObject({ valid: true, count: 0, expiredByRetention: 3 });
    expect(checkReadOrder(h).skipped).toMatchObject({ valid: true, count: 0, skippedExpired: 1 });
  });

  it('still reports the same values as lost and skipped when nothing was deleted', () => {
    const h = historyWithFloor(undefined).history();
    expect(checkLost(h)).toMatchObject({ valid: false, count: 3, expiredByRetention: 0 });
    expect(checkReadOrder(h).skipped).toMatchObject({ valid: false, count: 1, skippedExpired: 0 });
  });

  it('still reports a loss above the floor', () => {
    const h = historyWithFloor(2).history();
    expect(checkLost(h)).toMatchObject({ valid: false, count: 2, expiredByRetention: 1 });
    expect(checkReadOrder(h).skipped).toMatchObject({ valid: false, count: 1 });
  });
});

describe('the divergence checker under retention', () => {
  it('compares log hashes only between replicas that hashed the same range', () => {
    const b = builder();
    b.tick().finalState([replica('n0', { logHashFromIndex: 1, logHash: 'a' }), replica('n1', { logHashFromIndex: 50, logHash: 'b' }), replica('n2', { logHashFromIndex: 50, logHash: 'b' })]);
    expect(checkDivergence(b.history())).toMatchObject({ valid: true, notCompared: ['n0'] });
  });

  it('reports replicas that hashed the same range differently', () => {
    const b = builder();
    b.tick().finalState([replica('n1', { logHashFromIndex: 50, logHash: 'b' }), replica('n2', { logHashFromIndex: 50, logHash: 'c' })]);
    expect(checkDivergence(b.history())).toMatchObject({ valid: false, count: 1 });
  });
});

describe('the probe common range', () => {
  it('starts at the highest first index and, per queue, the highest min offset', () => {
    const d = (firstIndex: number, mins: Record<string, number>): ReplicaDigestBody => ({
      nodeId: 'x',
      firstIndex,
      upToIndex: 100,
      logSha256: '',
      dispatchedIndex: 100,
      consumeQueues: Object.fromEntries(Object.entries(mins).map(([k, m]) => [k, { minOffset: m, maxOffset: 50, sha256: '' }])),
    });
    expect(commonRange([d(1, { 'jepsen@0': 0, 'jepsen@1': 4 }), d(40, { 'jepsen@0': 12 }), d(7, { 'jepsen@1': 2 })])).toEqual({
      fromIndex: 40,
      queueFrom: { 'jepsen@0': 12, 'jepsen@1': 4 },
    });
  });
});

describe('the retention nemesis', () => {
  function fakeContext(): { ctx: NemesisContext; calls: string[]; blocked: Set<string> } {
    const calls: string[] = [];
    const blocked = new Set<string>();
    const key = (l: DirectedLink): string => `${l.from}->${l.to}`;
    let leader = 'n0';
    const ctx = {
      mesh: {
        nodeIds: ['n0', 'n1', 'n2'],
        block: (links: DirectedLink[]) => links.forEach((l) => blocked.add(key(l))),
        heal: (links: DirectedLink[]) => links.forEach((l) => blocked.delete(key(l))),
      },
      nodes: { nodeIds: ['n0', 'n1', 'n2'], status: () => 'running' },
      leaderOf: async () => leader,
      history: { nemesis: (kind: string, fault: string) => calls.push(`${kind} ${fault}`) },
      rng: new SeededRandom(7),
      deleteExpired: async (ids: readonly string[]) => {
        calls.push(`delete ${ids.join(',')} blocked=${blocked.size}`);
        return {};
      },
      transferLeader: async (id: string) => {
        calls.push(`transfer ${id}`);
        leader = id;
      },
    } as unknown as NemesisContext;
    return { ctx, calls, blocked };
  }

  it('isolates a follower, deletes heads on the others while it is cut off, moves leadership away, then heals', async () => {
    const { ctx, calls, blocked } = fakeContext();
    const n = new RetentionNemesis();
    expect(await n.start(ctx)).toBe(true);
    expect(blocked.size).toBe(4);
    const isolated = ['n1', 'n2'].find((id) => [...blocked].every((l) => l.includes(id)))!;
    const other = isolated === 'n1' ? 'n2' : 'n1';
    await n.stop(ctx);
    expect(blocked.size).toBe(0);
    expect(calls).toEqual(['start retention', `delete n0,${other} blocked=4`, `transfer ${other}`, 'stop retention']);
  });

  it('does nothing when the run cannot delete', async () => {
    const { ctx, blocked } = fakeContext();
    delete (ctx as { deleteExpired?: unknown }).deleteExpired;
    expect(await new RetentionNemesis().start(ctx)).toBe(false);
    expect(blocked.size).toBe(0);
  });
});
