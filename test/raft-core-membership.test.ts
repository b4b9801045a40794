// Membership changes in the pure core, driven by hand: learners, promotion within a lag bound,
// one change at a time after the leader's first commit in its term, removing the leader, a
// learner caught up past a deleted head, and the configuration surviving a restart.
import { describe, expect, it } from 'vitest';
import { MessageType } from '../raft/core/messages.js';
import { ManualCluster } from '../raft/sim/manual-cluster.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function threeWithLeader(core = {}): ManualCluster {
  const c = new ManualCluster({ core });
  c.elect('n0');
  c.tick('n0');
  c.deliverAll();
  return c;
}

/** Proposes a change on the leader, then lets replication and the commit broadcast settle. */
function change(c: ManualCluster, leader: string, kind: 'add-learner' | 'promote' | 'remove', node: string) {
  const res = c.raft(leader).proposeMembership({ kind, node });
  c.deliverAll();
  c.tickAll();
  c.deliverAll();
  return res;
}

describe('membership changes in the core', () => {
  it('adds a learner that catches up, never campaigns and never counts toward a commit', () => {
    const c = threeWithLeader();
    c.raft('n0').propose([bytes('a'), bytes('b')]);
    c.deliverAll();
    c.addNode('n3', ['n0', 'n1', 'n2']);
    expect(change(c, 'n0', 'add-learner', 'n3')).toMatchObject({ ok: true });
    expect(c.raft('n0').membership()).toMatchObject({ voters: ['n0', 'n1', 'n2'], learners: ['n3'], pending: false });
    expect(c.node('n3').storage.lastIndex()).toBe(c.node('n0').storage.lastIndex());
    expect(c.raft('n3').status().learners).toEqual(['n3']);
    // Cut off, the learner stays a follower at its term: it never campaigns.
    c.isolate('n3');
    const term = c.raft('n3').status().term;
    c.tick('n3', 100);
    expect(c.raft('n3').status()).toMatchObject({ role: 'follower', term });
    // With both other voters cut off, the learner's acknowledgement commits nothing.
    c.heal();
    c.isolate('n1');
    c.isolate('n2');
    for (const id of ['n0', 'n3']) for (const other of ['n0', 'n3']) c.cut.delete(`${id}>${other}`);
    const commit = c.raft('n0').status().commit;
    c.raft('n0').propose([bytes('c')]);
    c.deliverAll();
    expect(c.node('n3').storage.lastIndex()).toBe(c.node('n0').storage.lastIndex());
    expect(c.raft('n0').status().commit).toBe(commit);
    expect(c.checker.violations).toEqual([]);
  });

  it('refuses a change before the leader commits in its term and while another is in flight', () => {
    const c = new ManualCluster();
    c.addNode('n3', ['n0', 'n1', 'n2']);
    c.addNode('n4', ['n0', 'n1', 'n2']);
    for (let i = 0; i < 40 && c.raft('n0').status().role === 'follower'; i++) c.tick('n0');
    // Every AppResp is lost: n0 wins, but its no-op (the first entry of its term) cannot commit.
    c.deliverAll((m) => (m.type === MessageType.AppResp ? undefined : m));
    expect(c.raft('n0').status()).toMatchObject({ role: 'leader', commit: 0 });
    expect(c.raft('n0').proposeMembership({ kind: 'add-learner', node: 'n3' })).toMatchObject({ ok: false, code: 'change-in-progress' });
    c.tick('n0');
    c.deliverAll();
    expect(c.raft('n0').proposeMembership({ kind: 'add-learner', node: 'n3' })).toMatchObject({ ok: true });
    expect(c.raft('n0').proposeMembership({ kind: 'add-learner', node: 'n4' })).toMatchObject({ ok: false, code: 'change-in-progress' });
    expect(c.raft('n0').proposeMembership({ kind: 'promote', node: 'n1' })).toMatchObject({ ok: false, code: 'change-in-progress' });
    c.deliverAll();
    expect(c.raft('n0').proposeMembership({ kind: 'promote', node: 'n1' })).toMatchObject({ ok: false, code: 'invalid-change' });
    expect(c.raft('n1').proposeMembership({ kind: 'remove', node: 'n2' })).toMatchObject({ ok: false, code: 'not-leader', leaderHint: 'n0' });
  });

  it('promotes a learner only within the lag bound, and then counts it as a voter', () => {
    const c = threeWithLeader({ maxPromoteLagEntries: 3 });
    c.addNode('n3', ['n0', 'n1', 'n2']);
    expect(change(c, 'n0', 'add-learner', 'n3')).toMatchObject({ ok: true });
    c.isolate('n3');
    for (let i = 0; i < 5; i++) c.raft('n0').propose([bytes(`x${i}`)]);
    c.deliverAll();
    expect(c.raft('n0').proposeMembership({ kind: 'promote', node: 'n3' })).toMatchObject({ ok: false, code: 'learner-behind' });
    c.heal();
    c.tick('n0');
    c.deliverAll();
    expect(change(c, 'n0', 'promote', 'n3')).toMatchObject({ ok: true });
    expect(c.raft('n0').membership()).toMatchObject({ voters: ['n0', 'n1', 'n2', 'n3'], learners: [] });
    // Four voters: two acknowledgements (n0 and one other) no longer commit.
    c.isolate('n2');
    c.isolate('n3');
    for (const a of ['n0', 'n1']) for (const b of ['n0', 'n1']) c.cut.delete(`${a}>${b}`);
    const commit = c.raft('n0').status().commit;
    c.raft('n0').propose([bytes('y')]);
    c.deliverAll();
    expect(c.raft('n0').status().commit).toBe(commit);
    expect(c.checker.violations).toEqual([]);
  });

  it('removes the leader: it steps down once the change commits and never campaigns again', () => {
    const c = threeWithLeader();
    c.addNode('n3', ['n0', 'n1', 'n2']);
    change(c, 'n0', 'add-learner', 'n3');
    change(c, 'n0', 'promote', 'n3');
    expect(change(c, 'n0', 'remove', 'n0')).toMatchObject({ ok: true });
    expect(c.raft('n0').status().role).toBe('follower');
    // The others learned the change from the removed leader's last commit broadcast.
    for (const id of ['n1', 'n2', 'n3']) expect(c.raft(id).membership().voters).toEqual(['n1', 'n2', 'n3']);
    // The remaining voters elect one of themselves once their lease on n0 runs out.
    for (let i = 0; i < 200 && !['n1', 'n2', 'n3'].includes(c.leaderOf()[0] ?? ''); i++) {
      c.tickAll();
      c.deliverAll();
    }
    const leader = c.leaderOf()[0]!;
    expect(['n1', 'n2', 'n3']).toContain(leader);
    const term = c.raft('n0').status().term;
    c.isolate('n0');
    c.tick('n0', 100);
    expect(c.raft('n0').status()).toMatchObject({ role: 'follower', term });
    c.heal();
    c.raft(leader).propose([bytes('after')]);
    c.deliverAll();
    c.tick(leader);
    c.deliverAll();
    expect(c.raft(leader).status().commit).toBe(c.node(leader).storage.lastIndex());
    expect(c.checker.violations).toEqual([]);
  });

  it('refuses proposals on a removed leader from the moment its removal commits', () => {
    const c = threeWithLeader();
    c.addNode('n3', ['n0', 'n1', 'n2']);
    change(c, 'n0', 'add-learner', 'n3');
    change(c, 'n0', 'promote', 'n3');
    expect(c.raft('n0').proposeMembership({ kind: 'remove', node: 'n0' })).toMatchObject({ ok: true });
    // Replicate the change, then hand the acknowledgements to n0 without letting it run a Ready.
    for (const m of c.take()) c.deliver(m);
    const acks = c.take().filter((m) => m.to === 'n0');
    for (const m of acks) c.node('n0').deliver(m);
    expect(c.raft('n0').membership().voters).toEqual(['n1', 'n2', 'n3']);
    // Still leader until its next flush, but an entry appended now would be of a non-member.
    expect(c.raft('n0').propose([bytes('late')])).toMatchObject({ ok: false, code: 'not-leader' });
    c.flush();
    expect(c.raft('n0').status().role).toBe('follower');
  });

  it('catches a learner up past a deleted head through a Reset that carries the configuration', () => {
    const c = threeWithLeader();
    c.addNode('n4', ['n0', 'n1', 'n2']);
    c.isolate('n4');
    c.addNode('n3', ['n0', 'n1', 'n2']);
    change(c, 'n0', 'add-learner', 'n3');
    for (let i = 0; i < 10; i++) c.raft('n0').propose([bytes(`p${i}`)]);
    c.deliverAll();
    c.tickAll();
    c.deliverAll();
    // n4 joins late, after the leader deleted its head (and with it the Config entry adding n3).
    const leaderStore = c.node('n0').storage;
    leaderStore.deleteHead(leaderStore.lastIndex() - 2);
    c.heal();
    expect(change(c, 'n0', 'add-learner', 'n4')).toMatchObject({ ok: true });
    c.tickAll(2);
    c.deliverAll();
    expect(c.resets.some((r) => r.node === 'n4')).toBe(true);
    expect(c.raft('n4').membership()).toMatchObject({ voters: ['n0', 'n1', 'n2'], learners: ['n3', 'n4'] });
    expect(c.node('n4').storage.lastIndex()).toBe(leaderStore.lastIndex());
  });

  it('keeps the configuration across a restart even when the bootstrap peers are stale', () => {
    const c = threeWithLeader();
    c.addNode('n3', ['n0', 'n1', 'n2']);
    change(c, 'n0', 'add-learner', 'n3');
    change(c, 'n0', 'promote', 'n3');
    for (const id of ['n3', 'n1']) {
      const n = c.node(id);
      n.crash('process-kill', 0);
      n.start();
      expect(n.raft!.membership()).toMatchObject({ voters: ['n0', 'n1', 'n2', 'n3'], learners: [] });
    }
  });
});
