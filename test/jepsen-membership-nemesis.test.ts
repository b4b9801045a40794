// The membership nemesis really changes the group: each start adds a fresh node (told one
// member's address), promotes it and removes a voter, in the order its op says; the stop retires
// what was removed; a change refused for a passing reason is retried; a leftover learner is
// removed first. The group is an in-memory stand-in (real processes: the jepsen-like run).
import { describe, expect, it } from 'vitest';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { NemesisOp } from '../jepsen-like/history/types.js';
import { MembershipNemesis, type MemberChangeKind, type MembershipControl } from '../jepsen-like/nemesis/membership-nemesis.js';
import type { NemesisContext } from '../jepsen-like/nemesis/nemesis.js';
import { NEMESIS_NAMES } from '../jepsen-like/nemesis/registry.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';

class FakeGroup implements MembershipControl {
  voters = ['n0', 'n1', 'n2'];
  learners: string[] = [];
  readonly log: string[] = [];
  readonly retired: string[] = [];
  next = 3;
  /** Refuse the next n changes as a busy leader would. */
  refusals = 0;
  async members(): Promise<{ voters: string[]; learners: string[] }> {
    return { voters: [...this.voters], learners: [...this.learners] };
  }
  async startNode(): Promise<{ id: string; raftAddr: string }> {
    const id = `n${this.next++}`;
    this.log.push(`start ${id}`);
    return { id, raftAddr: `127.0.0.1:${1000 + this.next}` };
  }
  async change(kind: MemberChangeKind, nodeId: string, address?: string): Promise<void> {
    if (this.refusals > 0) {
      this.refusals--;
      throw Object.assign(new Error('change-in-progress'), { code: 'ERR_CLIENT_BROKER_RESPONSE' });
    }
    this.log.push(`${kind} ${nodeId}${address !== undefined ? ` at ${address}` : ''}`);
    if (kind === 'add-learner') this.learners.push(nodeId);
    if (kind === 'promote') {
      this.learners = this.learners.filter((x) => x !== nodeId);
      this.voters.push(nodeId);
    }
    if (kind === 'remove') {
      this.voters = this.voters.filter((x) => x !== nodeId);
      this.learners = this.learners.filter((x) => x !== nodeId);
    }
  }
  async retireNode(nodeId: string): Promise<void> {
    this.retired.push(nodeId);
  }
}

function context(group: FakeGroup, seed: number, leader = 'n0'): { ctx: NemesisContext; history: HistoryBuilder } {
  const history = new HistoryBuilder();
  // The membership nemesis touches neither links nor processes directly.
  const ctx = { mesh: undefined, nodes: undefined, leaderOf: async () => leader, history, rng: new SeededRandom(seed), membership: group } as unknown as NemesisContext;
  return { ctx, history };
}

const starts = (h: HistoryBuilder): Record<string, unknown>[] =>
  h.history().filter((op): op is NemesisOp => op.f === 'nemesis' && op.value.kind === 'start').map((op) => op.value.detail as Record<string, unknown>);

describe('membership nemesis', () => {
  it('is registered under the name membership', () => {
    expect(NEMESIS_NAMES).toContain('membership');
  });

  it('replaces a voter: a fresh node joins, is promoted, and the victim is removed, then retired at the stop', async () => {
    const group = new FakeGroup();
    const { ctx, history } = context(group, 5);
    const nemesis = new MembershipNemesis(['replace']);
    expect(await nemesis.start(ctx)).toBe(true);
    const detail = starts(history)[0]!;
    const victim = detail['victim'] as string;
    expect(group.log).toEqual(['start n3', 'add-learner n3 at 127.0.0.1:1004', 'promote n3', `remove ${victim}`]);
    expect(group.voters.sort()).toEqual(['n0', 'n1', 'n2', 'n3'].filter((x) => x !== victim));
    expect(group.retired).toEqual([]);
    await nemesis.stop(ctx);
    expect(group.retired).toEqual([victim]);
    expect(detail['votersAfter']).toHaveLength(3);
  });

  it('removes first when its op says so', async () => {
    const group = new FakeGroup();
    const { ctx } = context(group, 9);
    const nemesis = new MembershipNemesis(['remove-first']);
    await nemesis.start(ctx);
    const removed = group.log[0]!.split(' ')[1]!;
    expect(group.log[0]).toBe(`remove ${removed}`);
    expect(group.log[1]).toBe('start n3');
    expect(group.log.slice(2)).toEqual(['add-learner n3 at 127.0.0.1:1004', 'promote n3']);
    await nemesis.stop(ctx);
    expect(group.retired).toEqual([removed]);
  });

  it('retries a change refused for a passing reason and removes a learner left by an earlier start first', async () => {
    const group = new FakeGroup();
    group.learners = ['n7'];
    group.refusals = 2;
    const { ctx } = context(group, 3);
    const nemesis = new MembershipNemesis(['replace']);
    await nemesis.start(ctx);
    expect(group.log[0]).toBe('remove n7');
    expect(group.learners).toEqual([]);
    expect(group.voters).toHaveLength(3);
    expect(group.voters).toContain('n3');
    await nemesis.stop(ctx);
    expect(group.retired[0]).toBe('n7');
    expect(group.retired).toHaveLength(2);
  });

  it('does nothing without a membership control (a run that cannot change members)', async () => {
    const group = new FakeGroup();
    const { ctx } = context(group, 1);
    delete (ctx as { membership?: unknown }).membership;
    expect(await new MembershipNemesis().start(ctx)).toBe(false);
  });
});
