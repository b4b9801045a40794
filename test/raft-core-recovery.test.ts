// The recovering state of the core (recovery-guard.ts): a node restarted after a power loss under
// async flush may have lost entries it acknowledged and may hold a stale tail. It must refuse
// votes and pre-votes, never campaign, take no commit from heartbeats and apply nothing past its
// durable commit until a leader's App has brought it up to the leader's commit; then it behaves
// like any follower.
import { describe, expect, it } from 'vitest';
import { MessageType, type Message, type Ready } from '../raft/core/messages.js';
import { Raft } from '../raft/core/raft.js';
import type { Entry } from '../raft/core/types.js';
import { ManualCluster, describeMessage } from '../raft/sim/manual-cluster.js';
import { MemoryStorage } from '../raft/sim/memory-storage.js';

const payload = new Uint8Array([1]);
const entry = (index: number, term: number): Entry => ({ index, term, type: 0, payload });
const range = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));

function msg(type: Message['type'], from: string, term: number, extra: Partial<Message> = {}): Message {
  return { type, from, to: 'n1', term, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [], ...extra };
}

/**
 * n1 as found after a power loss: entries 1..5 of term 1 are durable and committed up to 3;
 * 6..8 of term 1 are a stale tail (the leader of term 2 had replaced them before the loss).
 */
function recoveredFollower(recovering: boolean) {
  const log = new MemoryStorage({}, { start: { index: 0, term: 0, data: new Uint8Array(8) }, hardState: { term: 2, vote: '', commit: 3 } });
  log.append(range(1, 8, 1));
  log.sync();
  const raft = new Raft({
    id: 'n1', peers: ['n0', 'n1', 'n2'], log, hardState: log.hardState(), applied: 0, persisted: log.durableIndex(),
    electionTicks: 10, heartbeatTicks: 1, random: () => 0, maxInflightMsgs: 8, maxInflightBytes: 1 << 20, maxAppBytes: 1 << 20,
    preVote: true, checkQuorum: true, recovering,
  });
  const applied: number[] = [];
  const sent: Message[] = [];
  /** Runs the Ready contract like a driver and returns what was sent. */
  const drive = (): Message[] => {
    const out: Message[] = [];
    while (raft.hasReady()) {
      const rd: Ready = raft.ready();
      if (rd.entries.length > 0) log.append(rd.entries);
      if (rd.hardState) log.setHardState(rd.hardState);
      log.sync();
      raft.persisted(log.lastIndex());
      for (let i = rd.commitFrom; i <= rd.commitTo; i++) applied.push(i);
      out.push(...rd.messages, ...rd.messagesAfterPersist);
      raft.advance(rd);
    }
    sent.push(...out);
    return out;
  };
  drive();
  return { raft, log, applied, sent, drive };
}

describe('a node recovering after a power loss', () => {
  it('refuses votes and pre-votes from a candidate whose log is more up to date', () => {
    const n = recoveredFollower(true);
    expect(n.raft.status().recovering).toBe(true);
    n.raft.step(msg(MessageType.PreVote, 'n2', 3, { index: 20, logTerm: 2 }));
    n.raft.step(msg(MessageType.Vote, 'n2', 3, { index: 20, logTerm: 2 }));
    const answers = n.drive().map(describeMessage);
    expect(answers).toEqual(['n1->n2 PreVoteResp t2 reject', 'n1->n2 VoteResp t3 reject']);
    expect(n.raft.status().vote).toBe('');
  });

  it('grants the same votes when it is not recovering (the flag is what refuses them)', () => {
    const n = recoveredFollower(false);
    n.raft.step(msg(MessageType.PreVote, 'n2', 3, { index: 20, logTerm: 2 }));
    n.raft.step(msg(MessageType.Vote, 'n2', 3, { index: 20, logTerm: 2 }));
    expect(n.drive().map(describeMessage)).toEqual(['n1->n2 PreVoteResp t3 grant', 'n1->n2 VoteResp t3 grant']);
  });

  it('never campaigns, whatever the number of election timeouts, nor on a TimeoutNow', () => {
    const n = recoveredFollower(true);
    for (let i = 0; i < 200; i++) {
      n.raft.tick();
      n.drive();
    }
    n.raft.step(msg(MessageType.TimeoutNow, 'n0', 2));
    n.drive();
    expect(n.sent.filter((m) => m.type === MessageType.Vote || m.type === MessageType.PreVote)).toEqual([]);
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 2, recovering: true });
  });

  it('applies nothing past its durable commit until an App has brought it up to the leader commit, then resumes normally', () => {
    const n = recoveredFollower(true);
    expect(n.applied).toEqual([1, 2, 3]);
    // The leader believes n1 matches up to 8 (acknowledged before the loss): its heartbeat
    // commit would make the stale entries 6..8 look committed.
    n.raft.step(msg(MessageType.Heartbeat, 'n0', 2, { commit: 8 }));
    expect(n.drive().map(describeMessage)).toEqual(['n1->n0 HeartbeatResp t2']);
    expect(n.sent.at(-1)).toMatchObject({ reject: true, index: 3 });
    expect(n.raft.status().commit).toBe(3);
    expect(n.applied).toEqual([1, 2, 3]);
    // The leader probes from 3: its entries replace the stale tail; not caught up yet (6 < 9).
    n.raft.step(msg(MessageType.App, 'n0', 2, { index: 5, logTerm: 1, commit: 9, entries: [entry(6, 2)] }));
    n.drive();
    expect(n.log.term(6)).toBe(2);
    expect(n.log.lastIndex()).toBe(6);
    expect(n.raft.status().recovering).toBe(true);
    expect(n.applied).toEqual([1, 2, 3]);
    // Its heartbeat answers now confirm what the leader's own entries matched (6), not only 3.
    n.raft.step(msg(MessageType.Heartbeat, 'n0', 2, { commit: 9 }));
    n.drive();
    expect(n.sent.at(-1)).toMatchObject({ type: MessageType.HeartbeatResp, reject: true, index: 6 });
    expect(n.applied).toEqual([1, 2, 3]);
    // Caught up with the leader's commit: recovery ends and the committed entries apply.
    n.raft.step(msg(MessageType.App, 'n0', 2, { index: 6, logTerm: 2, commit: 9, entries: range(7, 9, 2) }));
    n.drive();
    expect(n.raft.status().recovering).toBe(false);
    expect(n.applied).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Normal again: heartbeats carry the commit, and it votes.
    n.raft.step(msg(MessageType.App, 'n0', 2, { index: 9, logTerm: 2, commit: 9, entries: [entry(10, 2)] }));
    n.raft.step(msg(MessageType.Heartbeat, 'n0', 2, { commit: 10 }));
    n.drive();
    expect(n.applied.at(-1)).toBe(10);
    n.raft.step(msg(MessageType.Vote, 'n2', 5, { index: 20, logTerm: 4, force: true }));
    expect(n.drive().map(describeMessage)).toContain('n1->n2 VoteResp t5 grant');
    // ...and campaigns once it hears from no leader for an election timeout.
    for (let i = 0; i < 40; i++) n.raft.tick();
    expect(n.drive().some((m) => m.type === MessageType.PreVote)).toBe(true);
  });

  it('stays recovering while the leader has not committed up to the commit it had made durable', () => {
    const n = recoveredFollower(true);
    n.raft.step(msg(MessageType.App, 'n2', 3, { index: 5, logTerm: 1, commit: 2, entries: [entry(6, 3)] }));
    n.drive();
    expect(n.raft.status()).toMatchObject({ recovering: true, leader: 'n2' });
    n.raft.step(msg(MessageType.App, 'n2', 3, { index: 6, logTerm: 3, commit: 6, entries: [] }));
    n.drive();
    expect(n.raft.status().recovering).toBe(false);
    expect(n.applied).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('is never active in a one-voter group, which has no one to recover from', () => {
    const log = new MemoryStorage();
    const raft = new Raft({
      id: 'n0', peers: ['n0'], log, hardState: log.hardState(), applied: 0, electionTicks: 10, heartbeatTicks: 1, random: () => 0,
      maxInflightMsgs: 8, maxInflightBytes: 1 << 20, maxAppBytes: 1 << 20, preVote: true, checkQuorum: true, recovering: true,
    });
    expect(raft.status().recovering).toBe(false);
  });
});

describe('a leader told by a heartbeat answer that a follower is recovering', () => {
  it('keeps replicating without a new probe when it believes no more than the follower confirms', () => {
    const c = new ManualCluster();
    c.elect('n0');
    c.deliverAll();
    const r = c.raft('n0');
    r.propose([payload, payload, payload]);
    c.deliverAll();
    const before = r.status().progress['n1']!;
    expect(before.state).toBe('replicate');
    r.step({ type: MessageType.HeartbeatResp, from: 'n1', to: 'n0', term: r.status().term, index: before.match, logTerm: 0, commit: 0, reject: true, rejectHint: 0, entries: [] });
    expect(r.status().progress['n1']).toMatchObject({ match: before.match, state: 'replicate' });
  });

  it('sends it an App even when its commit index is the leader\'s last index, so an idle group ends its recovery', () => {
    const c = new ManualCluster();
    c.elect('n0');
    c.deliverAll();
    c.tick('n0');
    c.deliverAll();
    const r = c.raft('n0');
    const last = r.status().lastIndex;
    expect(r.status().progress['n1']!.match).toBe(last);
    r.step({ type: MessageType.HeartbeatResp, from: 'n1', to: 'n0', term: r.status().term, index: last, logTerm: 0, commit: 0, reject: true, rejectHint: 0, entries: [] });
    const app = c.take().find((m) => m.type === MessageType.App && m.to === 'n1');
    expect(app).toMatchObject({ index: last, commit: r.status().commit, entries: [] });
  });

  it('probes it again from the commit index the answer names', () => {
    const c = new ManualCluster();
    c.elect('n0');
    c.deliverAll();
    const r = c.raft('n0');
    r.propose([payload, payload, payload]);
    c.deliverAll();
    expect(r.status().progress['n1']!.match).toBe(4);
    const term = r.status().term;
    r.step({ type: MessageType.HeartbeatResp, from: 'n1', to: 'n0', term, index: 1, logTerm: 0, commit: 0, reject: true, rejectHint: 0, entries: [] });
    expect(r.status().progress['n1']).toMatchObject({ match: 1, next: 2, state: 'probe' });
    const app = c.take().find((m) => m.type === MessageType.App && m.to === 'n1');
    expect(app).toMatchObject({ index: 1, logTerm: 1 });
    expect(app!.entries.map((e) => e.index)).toEqual([2, 3, 4]);
  });
});
