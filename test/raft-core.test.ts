// Transcript-style tests of the pure Raft core, driven message by message through a
// hand-controlled cluster. Each names the rule (and, where one exists, the Raft paper section)
// it checks; the safety checker also watches every run.
import { describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../raft/core/messages.js';
import { Raft } from '../raft/core/raft.js';
import { EntryType, MAX_TERM } from '../raft/core/types.js';
import { ManualCluster, describeMessage } from '../raft/sim/manual-cluster.js';
import { MemoryStorage } from '../raft/sim/memory-storage.js';
import { simStartApp } from '../raft/sim/checker.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function threeWithLeader(opts: ConstructorParameters<typeof ManualCluster>[0] = {}): ManualCluster {
  const c = new ManualCluster(opts);
  c.elect('n0');
  c.deliverAll();
  return c;
}

describe('election', () => {
  it('elects one leader, which appends a no-op of its term and commits it everywhere', () => {
    const c = threeWithLeader();
    expect(c.leaderOf()).toEqual(['n0']);
    const st = c.raft('n0').status();
    expect(st.term).toBe(1);
    expect(c.node('n0').storage.entries(1, 2, 100)[0]).toMatchObject({ index: 1, term: 1, type: EntryType.NoOp });
    c.tick('n0'); // a heartbeat carries the commit to the followers
    c.deliverAll();
    for (const id of c.ids) expect(c.raft(id).status().commit).toBe(1);
    expect(c.transcript.filter((l) => l.includes('PreVote ')).length).toBe(2);
    expect(c.checker.violations).toEqual([]);
  });

  it('lets a single node elect itself and commit once its own log is persisted', () => {
    const c = new ManualCluster({ size: 1 });
    c.tick('n0', 20);
    const r = c.raft('n0');
    expect(r.status().role).toBe('leader');
    const res = r.propose([bytes('a'), bytes('b')]);
    expect(res).toEqual({ ok: true, firstIndex: 2, lastIndex: 3, term: 1 });
    c.flush();
    expect(r.status().commit).toBe(3);
    expect(c.applied.get('n0')).toEqual([1, 2, 3]);
  });

  it('randomizes election timeouts within [electionTicks, 2*electionTicks)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new ManualCluster({ seed });
      let ticks = 0;
      while (c.raft('n1').status().role === 'follower' && ticks < 100) {
        c.tick('n1');
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
    }
  });

  it('keeps a rejoining partitioned node from disrupting the leader when pre-vote is on', () => {
    const c = threeWithLeader();
    c.isolate('n2');
    c.tick('n2', 100); // n2 campaigns in vain many times, but pre-vote never raises its term
    expect(c.raft('n2').status().term).toBe(1);
    c.heal();
    c.tick('n2', 30);
    c.deliverAll();
    expect(c.raft('n0').status()).toMatchObject({ role: 'leader', term: 1 });
  });

  it('lets a rejoining node with a higher term depose the leader when pre-vote and check-quorum are off (the contrast)', () => {
    const c = threeWithLeader({ core: { preVote: false, checkQuorum: false } });
    c.isolate('n2');
    c.tick('n2', 25);
    expect(c.raft('n2').status().term).toBeGreaterThan(1);
    c.heal();
    c.tick('n0'); // the leader's heartbeat reaches n2, whose answer carries the higher term
    c.deliverAll();
    expect(c.raft('n0').status().term).toBeGreaterThan(1);
  });

  it('makes an isolated leader step down after an election timeout without a quorum (check-quorum)', () => {
    const c = threeWithLeader();
    c.isolate('n0');
    c.tick('n0', 9);
    expect(c.raft('n0').status().role).toBe('leader');
    c.tick('n0', 11);
    expect(c.raft('n0').status().role).toBe('follower');
  });

  it('counts elections started and pre-vote rounds that led nowhere, for metrics', () => {
    const c = threeWithLeader();
    expect(c.raft('n0').status()).toMatchObject({ electionsStarted: 1, preVotesLost: 0 });
    // Cut off, n2 pre-campaigns again and again; nobody answers, so no election starts and its
    // term stays: each round that ends without an election is counted.
    c.isolate('n2');
    const term = c.raft('n2').status().term;
    c.tick('n2', 400);
    const s = c.raft('n2').status();
    expect(s.term).toBe(term);
    expect(s.electionsStarted).toBe(0);
    expect(s.preVotesLost).toBeGreaterThanOrEqual(3);
  });

  it('keeps an isolated leader in place without check-quorum (the contrast)', () => {
    const c = threeWithLeader({ core: { checkQuorum: false } });
    c.isolate('n0');
    c.tick('n0', 50);
    expect(c.raft('n0').status().role).toBe('leader');
  });

  it('ignores a vote request with a higher term while a leader is heard from (the lease)', () => {
    const c = threeWithLeader({ core: { preVote: false } });
    const before = c.raft('n1').status();
    const vote: Message = { type: MessageType.Vote, from: 'n2', to: 'n1', term: 9, index: 100, logTerm: 9, commit: 0, reject: false, rejectHint: 0, entries: [] };
    expect(c.raft('n1').step(vote)).toBeUndefined();
    expect(c.take()).toEqual([]);
    expect(c.raft('n1').status()).toEqual(before);
    // A vote forced by a leadership transfer is answered.
    c.raft('n1').step({ ...vote, force: true });
    expect(c.take().map(describeMessage)).toEqual(['n1->n2 VoteResp t9 grant']);
  });
});

describe('replication and commit', () => {
  it('does not commit an earlier-term entry by counting replicas, only together with one of its own term (Raft §5.4.2, Figure 8)', () => {
    // Built from storage directly: n0 and n1 hold (1,1),(2,2); n2 holds (1,1),(2,3).
    const mk = (terms: number[], hsTerm: number) => {
      const s = new MemoryStorage();
      s.append(terms.map((t, i) => ({ index: i + 1, term: t, type: EntryType.Normal, payload: bytes(`e${i + 1}t${t}`) })));
      s.setHardState({ term: hsTerm, vote: '', commit: 1 });
      return s;
    };
    const logs = { n0: mk([1, 2], 3), n1: mk([1], 3), n2: mk([1, 3], 3) };
    const peers = ['n0', 'n1', 'n2'];
    const rafts = Object.fromEntries(
      Object.entries(logs).map(([id, log]) => [
        id,
        new Raft({ id, peers, log, hardState: log.hardState(), applied: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0, maxInflightMsgs: 8, maxInflightBytes: 1 << 20, maxAppBytes: 1 << 20, preVote: false, checkQuorum: false }),
      ]),
    ) as Record<string, Raft>;
    const drive = (id: string) => {
      const r = rafts[id]!;
      const out: Message[] = [];
      while (r.hasReady()) {
        const rd = r.ready();
        const log = logs[id as keyof typeof logs];
        if (rd.entries.length > 0) log.append(rd.entries);
        if (rd.hardState) log.setHardState(rd.hardState);
        r.persisted(log.lastIndex());
        out.push(...rd.messages, ...rd.messagesAfterPersist);
        r.advance(rd);
      }
      return out;
    };
    // n0 campaigns at term 4; n1 (shorter log) grants, n2 (last term 3) refuses.
    for (let i = 0; i < 20 && rafts.n0!.status().role === 'follower'; i++) rafts.n0!.tick();
    let msgs = drive('n0');
    const send = (ms: Message[], keep: (m: Message) => boolean) => {
      const next: Message[] = [];
      for (const m of ms) if (keep(m)) {
        rafts[m.to]!.step(m);
        next.push(...drive(m.to));
      }
      return next;
    };
    msgs = send(msgs, (m) => m.to === 'n1');
    msgs = send(msgs, () => true);
    expect(rafts.n0!.status()).toMatchObject({ role: 'leader', term: 4 });
    // Replicate only entry 2 (term 2) to n1: it is on a majority, but not committed.
    const only2 = (m: Message): Message => (m.type === MessageType.App ? { ...m, entries: m.entries.filter((e) => e.index <= 2) } : m);
    for (let round = 0; round < 6; round++) msgs = send(msgs.map((m) => (m.to === 'n1' || m.from === 'n1' ? only2(m) : m)), (m) => m.to !== 'n2' && m.from !== 'n2');
    expect(logs.n1.term(2)).toBe(2);
    expect(rafts.n0!.status().commit).toBe(1);
    // n2 could still win term 5 with n1's vote and overwrite entry 2: that is why it must not commit.
    expect(logs.n2.term(2)).toBe(3);
    // Once the term-4 no-op reaches n1, entries 2 and 3 commit together.
    rafts.n0!.tick();
    msgs = drive('n0');
    for (let round = 0; round < 6 && msgs.length > 0; round++) msgs = send(msgs, (m) => m.to !== 'n2' && m.from !== 'n2');
    expect(rafts.n0!.status().commit).toBe(3);
  });

  it('jumps over a whole conflicting term when backtracking (conflict term + first index)', () => {
    // Without check-quorum nobody holds a lease, so the test can pick its leaders freely.
    const c = new ManualCluster({ size: 3, core: { maxAppBytes: 1 << 20, checkQuorum: false } });
    c.elect('n0');
    c.raft('n0').propose([bytes('committed')]);
    c.deliverAll();
    // Term 1: n0, cut off, writes entries 3..42 that only it holds.
    c.isolate('n0');
    for (let i = 0; i < 40; i++) c.raft('n0').propose([bytes(`a${i}`)]);
    c.deliverAll();
    // Term 2: n1 leads with n2 and writes entries 3..53 (no-op first).
    c.elect('n1');
    for (let i = 0; i < 50; i++) c.raft('n1').propose([bytes(`b${i}`)]);
    c.deliverAll();
    expect(c.node('n2').storage.lastIndex()).toBe(53);
    // Term 3: n2 leads with n0's vote and must find where n0's log stops matching.
    c.heal();
    c.isolate('n1');
    c.transcript = [];
    c.elect('n2');
    c.tick('n2');
    c.deliverAll();
    const rejects = c.transcript.filter((l) => l.startsWith('n0->n2 AppResp') && l.includes('reject'));
    // Naive backtracking would take 51 round trips; the hints take two.
    expect(rejects).toEqual([
      'n0->n2 AppResp t3 reject index=53 conflictTerm=0 hint=43',
      'n0->n2 AppResp t3 reject index=42 conflictTerm=1 hint=1',
    ]);
    expect(c.node('n0').storage.lastIndex()).toBe(c.node('n2').storage.lastIndex());
    expect(c.node('n0').storage.term(3)).toBe(2);
    expect(c.checker.violations).toEqual([]);
  });

  it('keeps at most maxInflightMsgs App messages outstanding per follower and refills on acks', () => {
    const c = threeWithLeader({ core: { maxInflightMsgs: 2, maxAppBytes: 1 } });
    c.tick('n0');
    c.deliverAll(); // followers are now in replicate state
    for (let i = 0; i < 10; i++) c.raft('n0').propose([bytes(`p${i}`)]);
    let sent = c.take();
    const toN1 = sent.filter((m) => m.to === 'n1' && m.type === MessageType.App);
    expect(toN1.map((m) => m.entries.length)).toEqual([1, 1]);
    expect(c.raft('n0').status().progress['n1']).toMatchObject({ state: 'replicate', inflight: 2 });
    c.deliver(toN1[0]!);
    sent = c.take();
    const ack = sent.find((m) => m.from === 'n1' && m.type === MessageType.AppResp)!;
    c.deliver(ack);
    const refill = c.take().filter((m) => m.to === 'n1' && m.type === MessageType.App);
    expect(refill.length).toBe(1);
    expect(refill[0]!.entries[0]!.index).toBe(toN1[1]!.entries[0]!.index + 1);
  });

  it('bounds the inflight window in bytes as well as in messages', () => {
    const c = threeWithLeader({ core: { maxInflightMsgs: 100, maxInflightBytes: 300, maxAppBytes: 100 } });
    c.tick('n0');
    c.deliverAll();
    c.raft('n0').propose(Array.from({ length: 20 }, () => new Uint8Array(100)));
    const toN1 = c.take().filter((m) => m.to === 'n1' && m.type === MessageType.App);
    expect(toN1.length).toBe(3);
  });

  it('lets a commit ride on the next App instead of an App of its own, and tells idle followers at the next tick', () => {
    const c = threeWithLeader();
    c.tick('n0');
    c.deliverAll(); // followers replicate, commit 1 everywhere
    const leader = c.raft('n0');
    const apps = (ms: Message[]): [string, number, number][] => ms.filter((m) => m.type === MessageType.App).map((m) => [m.to, m.entries.length, m.commit]);
    leader.propose([bytes('a')]);
    for (const m of c.take()) c.deliver(m); // the Apps of entry 2
    for (const m of c.take()) c.deliver(m); // their answers: entry 2 commits on the leader
    expect(leader.status().commit).toBe(2);
    // No App only to say so (that cost each follower a wake-up and an answer per sync send).
    expect(apps(c.take())).toEqual([]);
    // The next send's App carries it.
    leader.propose([bytes('b')]);
    const next = c.take();
    expect(apps(next)).toEqual([['n1', 1, 2], ['n2', 1, 2]]);
    for (const m of next) c.deliver(m);
    for (const m of c.take()) c.deliver(m);
    expect(leader.status().commit).toBe(3);
    expect(apps(c.take())).toEqual([]);
    // Nothing more to send: the next tick tells each follower with an empty App, once.
    c.tick('n0');
    expect(apps(c.take().map((m) => (c.deliver(m), m)))).toEqual([['n1', 0, 3], ['n2', 0, 3]]);
    c.deliverAll();
    c.tick('n0');
    expect(apps(c.take())).toEqual([]);
    for (const id of c.ids) expect(c.raft(id).status().commit).toBe(3);
    expect(c.checker.violations).toEqual([]);
  });

  it('carries the commit in heartbeats but never beyond what the follower matches', () => {
    const c = threeWithLeader();
    c.isolate('n2');
    c.raft('n0').propose([bytes('a')]);
    c.deliverAll();
    c.heal();
    c.tick('n0');
    const hbs = c.take().filter((m) => m.type === MessageType.Heartbeat);
    expect(hbs.find((m) => m.to === 'n1')!.commit).toBe(2);
    expect(hbs.find((m) => m.to === 'n2')!.commit).toBe(1);
  });
});

describe('durability', () => {
  it('asks for a sync before acknowledging entries recovered unsynced after a process kill', () => {
    const log = new MemoryStorage();
    log.append([1, 2, 3].map((i) => ({ index: i, term: 1, type: EntryType.Normal, payload: bytes(`e${i}`) })));
    log.setHardState({ term: 1, vote: '', commit: 0 });
    expect(log.durableIndex()).toBe(0);
    const r = new Raft({
      id: 'n1', peers: ['n0', 'n1', 'n2'], log, hardState: log.hardState(), applied: 0, persisted: log.durableIndex(),
      electionTicks: 10, heartbeatTicks: 1, random: () => 0, maxInflightMsgs: 4, maxInflightBytes: 1 << 20, maxAppBytes: 1 << 20,
      preVote: true, checkQuorum: true,
    });
    // The leader's App brings nothing new: the follower's log already holds entries 1..3.
    r.step({ type: MessageType.App, from: 'n0', to: 'n1', term: 1, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [] });
    r.step({ type: MessageType.App, from: 'n0', to: 'n1', term: 1, index: 3, logTerm: 1, commit: 0, reject: false, rejectHint: 0, entries: [] });
    const rd = r.ready();
    expect(rd.entries).toEqual([]);
    expect(rd.messagesAfterPersist.map(describeMessage)).toEqual(['n1->n0 AppResp t1 index=0', 'n1->n0 AppResp t1 index=3']);
    expect(rd.mustSync).toBe(true);
    log.sync();
    r.persisted(log.lastIndex());
    r.advance(rd);
    r.step({ type: MessageType.App, from: 'n0', to: 'n1', term: 1, index: 3, logTerm: 1, commit: 0, reject: false, rejectHint: 0, entries: [] });
    expect(r.ready().mustSync).toBe(false);
  });

  it('replicates proposals to followers without copying their payloads', () => {
    const c = threeWithLeader();
    const payload = bytes('shared');
    c.raft('n0').propose([payload]);
    const app = c.take().find((m) => m.type === MessageType.App && m.to === 'n1')!;
    expect(app.entries[0]!.payload).toBe(payload);
    expect(c.node('n0').storage.entries(2, 3, 100)[0]!.payload).toBe(payload);
  });
});

describe('leadership transfer', () => {
  it('hands leadership to a caught-up follower with TimeoutNow and a forced vote', () => {
    const c = threeWithLeader();
    c.tick('n0');
    c.deliverAll();
    expect(c.raft('n0').transferLeadership('n1')).toEqual({ ok: true });
    expect(c.raft('n0').propose([bytes('x')])).toMatchObject({ ok: false, code: 'transferring' });
    c.deliverAll();
    expect(c.leaderOf()).toEqual(['n1']);
    expect(c.raft('n1').status().term).toBe(2);
    expect(c.transcript.some((l) => l.startsWith('n0->n1 TimeoutNow'))).toBe(true);
    expect(c.transcript.some((l) => l.includes('Vote t2') && l.includes('force'))).toBe(true);
  });

  it('catches a lagging target up before sending TimeoutNow', () => {
    const c = threeWithLeader();
    c.isolate('n2');
    c.raft('n0').propose([bytes('a'), bytes('b')]);
    c.deliverAll();
    c.heal();
    c.raft('n0').transferLeadership('n2');
    c.deliverAll();
    expect(c.leaderOf()).toEqual(['n2']);
    const timeoutNow = c.transcript.findIndex((l) => l.startsWith('n0->n2 TimeoutNow'));
    const catchUp = c.transcript.findIndex((l) => l.startsWith('n2->n0 AppResp') && l.includes('index=3'));
    expect(catchUp).toBeGreaterThanOrEqual(0);
    expect(timeoutNow).toBeGreaterThan(catchUp);
  });

  it('aborts a transfer to an unreachable node after an election timeout and accepts proposals again', () => {
    const c = threeWithLeader({ core: { checkQuorum: false } });
    c.isolate('n2');
    expect(c.raft('n0').transferLeadership('n2')).toEqual({ ok: true });
    c.tick('n0', 9);
    expect(c.raft('n0').propose([bytes('x')])).toMatchObject({ ok: false, code: 'transferring' });
    c.tick('n0', 1);
    expect(c.raft('n0').propose([bytes('x')])).toMatchObject({ ok: true });
  });

  it('refuses transfers from a follower and to unknown peers', () => {
    const c = threeWithLeader();
    expect(c.raft('n1').transferLeadership('n2')).toMatchObject({ ok: false, code: 'not-leader' });
    expect(c.raft('n0').transferLeadership('n9')).toMatchObject({ ok: false, code: 'unknown-peer' });
  });
});

describe('read index', () => {
  it('serves a read at the commit index after a heartbeat round confirms leadership', () => {
    const c = threeWithLeader();
    c.raft('n0').propose([bytes('a')]);
    c.deliverAll();
    expect(c.raft('n0').readIndex(bytes('r1'))).toEqual({ ok: true });
    c.flush();
    expect(c.readStates.get('n0')).toEqual([]);
    c.deliverAll();
    expect(c.readStates.get('n0')).toEqual([{ index: 2, context: 'r1' }]);
  });

  it('forwards a read from a follower to the leader and answers it there', () => {
    const c = threeWithLeader();
    c.raft('n1').readIndex(bytes('f1'));
    c.deliverAll();
    expect(c.readStates.get('n1')).toEqual([{ index: 1, context: 'f1' }]);
  });

  it('never serves a read on a leader cut off from the majority', () => {
    const c = threeWithLeader();
    c.isolate('n0');
    c.raft('n0').readIndex(bytes('stale'));
    c.tick('n0', 5);
    c.deliverAll();
    expect(c.readStates.get('n0')).toEqual([]);
  });

  it('holds reads until the new leader has committed an entry of its own term', () => {
    const c = new ManualCluster();
    c.tick('n0', 30);
    // n0 wins but the no-op has not been acknowledged yet.
    c.deliverAll((m) => (m.type === MessageType.App ? undefined : m));
    expect(c.raft('n0').status().role).toBe('leader');
    c.raft('n0').readIndex(bytes('early'));
    c.deliverAll((m) => (m.type === MessageType.App ? undefined : m));
    expect(c.readStates.get('n0')).toEqual([]);
    c.tick('n0');
    c.deliverAll();
    expect(c.readStates.get('n0')).toEqual([{ index: 1, context: 'early' }]);
  });

  it('answers not-leader on a candidate with no known leader', () => {
    const c = new ManualCluster();
    expect(c.raft('n0').readIndex(bytes('x'))).toEqual({ ok: false, code: 'not-leader', leaderHint: '' });
  });
});

describe('reset', () => {
  it('resets a follower that is behind the leader head and reports it in the Ready', () => {
    const c = threeWithLeader({ core: { maxAppBytes: 1 << 20 } });
    c.isolate('n2');
    for (let i = 0; i < 20; i++) c.raft('n0').propose([bytes(`e${i}`)]);
    c.deliverAll();
    c.tick('n0');
    c.deliverAll();
    // The leader's retention drops its head past what n2 holds.
    c.node('n0').storage.deleteHead(15, (first) => simStartApp(first.index));
    expect(c.node('n0').storage.firstIndex()).toBe(15);
    c.heal();
    c.tick('n0');
    c.deliverAll();
    expect(c.resets).toEqual([{ node: 'n2', index: 14, term: 1 }]);
    expect(c.transcript.some((l) => l.startsWith('n0->n2 Reset') && l.includes('start=14/1'))).toBe(true);
    const n2 = c.node('n2').storage;
    expect(n2.firstIndex()).toBe(15);
    expect(n2.lastIndex()).toBe(21);
    // The start travels whole: the follower keeps the application section the leader recorded.
    expect(n2.startAppData()).toEqual(simStartApp(15));
    c.tick('n0');
    c.deliverAll();
    expect(c.applied.get('n2')!.slice(-1)).toEqual([21]);
    expect(c.checker.violations).toEqual([]);
  });

  it('does not reset a follower that already holds everything below the leader head; it gets only the later entries, and the logs agree', () => {
    const c = threeWithLeader({ core: { maxAppBytes: 1 << 20 } });
    for (let i = 0; i < 14; i++) c.raft('n0').propose([bytes(`a${i}`)]);
    c.deliverAll();
    c.tick('n0');
    c.deliverAll();
    const heldBefore = c.node('n2').storage.lastIndex();
    expect(heldBefore).toBeGreaterThanOrEqual(15);
    c.isolate('n2');
    for (let i = 0; i < 10; i++) c.raft('n0').propose([bytes(`b${i}`)]);
    c.deliverAll();
    c.node('n0').storage.deleteHead(16, (first) => simStartApp(first.index));
    expect(c.node('n0').storage.firstIndex()).toBe(16);
    c.heal();
    c.tick('n0');
    c.deliverAll();
    c.tick('n0');
    c.deliverAll();
    expect(c.resets).toEqual([]);
    // The follower keeps its own copy of entries below 16 (written before it was cut off).
    expect(c.node('n2').storage.firstIndex()).toBe(1);
    const leader = c.node('n0').storage;
    const n2 = c.node('n2').storage;
    expect(n2.lastIndex()).toBe(leader.lastIndex());
    expect(n2.entries(16, leader.lastIndex() + 1, 1e9)).toEqual(leader.entries(16, leader.lastIndex() + 1, 1e9));
    expect(c.checker.violations).toEqual([]);
  });
});

describe('proposals and bad input', () => {
  it('refuses proposals on a follower with a hint to the leader', () => {
    const c = threeWithLeader();
    expect(c.raft('n1').propose([bytes('x')])).toEqual({ ok: false, code: 'not-leader', leaderHint: 'n0' });
  });

  it('returns a typed error for a bad message and changes nothing', () => {
    const c = threeWithLeader();
    const r = c.raft('n1');
    const before = JSON.stringify(r.status());
    const good: Message = { type: MessageType.App, from: 'n0', to: 'n1', term: 1, index: 1, logTerm: 1, commit: 1, reject: false, rejectHint: 0, entries: [] };
    const entry = (index: number, term: number, type: number = EntryType.Normal) => ({ index, term, type: type as EntryType, payload: bytes('p') });
    const bad: [Message, string][] = [
      [{ ...good, type: MessageType.AppResp, from: 'n9' }, 'unknown-peer'],
      [{ ...good, to: 'n2' }, 'malformed'],
      [{ ...good, from: 'n1' }, 'malformed'],
      [{ ...good, term: -1 }, 'malformed'],
      [{ ...good, index: 1.5 }, 'malformed'],
      [{ ...good, type: 99 as MessageType }, 'malformed'],
      [{ ...good, entries: [entry(3, 1)] }, 'malformed'],
      [{ ...good, entries: [entry(2, 5)] }, 'malformed'],
      [{ ...good, entries: [entry(2, 1, EntryType.Config)] }, 'malformed'],
      [{ ...good, type: MessageType.Heartbeat, entries: [entry(2, 1)] }, 'malformed'],
      [{ ...good, type: MessageType.Reset }, 'malformed'],
      [{ ...good, entries: [entry(2, 1), entry(3, 0)] }, 'malformed'],
      [{ ...good, context: 'x' as unknown as Uint8Array }, 'malformed'],
    ];
    for (const [m, code] of bad) {
      expect(r.step(m), describeMessage(m)).toMatchObject({ code });
      expect(JSON.stringify(r.status())).toBe(before);
    }
    expect(c.take()).toEqual([]);
    expect(r.step(good)).toBeUndefined();
  });

  it('refuses a term that leaves no room to campaign as malformed, so no node adopts it', () => {
    const c = threeWithLeader();
    const r = c.raft('n1');
    const before = JSON.stringify(r.status());
    const heartbeat: Message = { type: MessageType.Heartbeat, from: 'n0', to: 'n1', term: 1, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [] };
    for (const m of [
      { ...heartbeat, term: Number.MAX_SAFE_INTEGER },
      { ...heartbeat, term: MAX_TERM + 1 },
      { ...heartbeat, type: MessageType.Vote, term: Number.MAX_SAFE_INTEGER, index: 1, logTerm: 1 },
      { ...heartbeat, type: MessageType.AppResp, reject: true, logTerm: MAX_TERM + 1 },
    ] as Message[]) {
      expect(r.step(m), describeMessage(m)).toMatchObject({ code: 'malformed' });
      expect(JSON.stringify(r.status())).toBe(before);
    }
    // The bound itself is a term like any other: adopted, and the next election has room.
    expect(r.step({ ...heartbeat, term: MAX_TERM })).toBeUndefined();
    expect(r.status().term).toBe(MAX_TERM);
  });

  it('refuses to start from a persisted term above the bound', () => {
    const storage = new MemoryStorage();
    storage.setHardState({ term: Number.MAX_SAFE_INTEGER, vote: '', commit: 0 });
    expect(() => new Raft({
      id: 'n0', peers: ['n0', 'n1', 'n2'], log: storage, hardState: storage.hardState(), applied: 0, electionTicks: 10, heartbeatTicks: 1,
      random: () => 0.5, maxInflightMsgs: 1, maxInflightBytes: 1, maxAppBytes: 1, preVote: true, checkQuorum: true, persisted: 0,
    })).toThrow(/persisted term 9007199254740991 outside/);
  });

  it('answers a message from an older term with stale-term and tells the sender the newer term', () => {
    const c = threeWithLeader();
    const stale: Message = { type: MessageType.App, from: 'n0', to: 'n1', term: 0, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [] };
    expect(c.raft('n1').step(stale)).toMatchObject({ code: 'stale-term' });
    expect(c.take().map(describeMessage)).toEqual(['n1->n0 AppResp t1 index=0']);
  });

  it('reports hard state, entries and soft state in a Ready and nothing after advance', () => {
    const c = new ManualCluster({ size: 1 });
    const r = c.raft('n0');
    expect(r.hasReady()).toBe(false);
    for (let i = 0; i < 30 && r.status().role !== 'leader'; i++) r.tick();
    const rd = r.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 'n0', commit: 0 });
    expect(rd.softState).toEqual({ role: 'leader', leader: 'n0', term: 1 });
    expect(rd.entries.map((e) => [e.index, e.term, e.type])).toEqual([[1, 1, EntryType.NoOp]]);
    c.node('n0').storage.append(rd.entries);
    c.node('n0').storage.setHardState(rd.hardState!);
    r.persisted(1);
    r.advance(rd);
    const rd2 = r.ready();
    expect(rd2).toMatchObject({ commitFrom: 1, commitTo: 1, entries: [], hardState: { term: 1, vote: 'n0', commit: 1 } });
    expect(rd2.softState).toBeUndefined();
    r.advance(rd2);
    expect(r.hasReady()).toBe(false);
  });
});
