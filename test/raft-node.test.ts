// RaftNode in one process: three nodes over real TCP on 127.0.0.1 with the mmap log. Proposals
// resolve at commit and are applied in order everywhere; followers refuse proposals with the
// leader's id; bounds, timeouts, read index, leadership transfer and close behave as documented.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/core/types.js';
import { RaftNode, type RaftNodeOptions, type RoleChange } from '../raft/node/raft-node.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import type { PeerAddress } from '../raft/transport/tcp-transport.js';
import { leaderOf, until } from './helpers/poll.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const running: RaftNode[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.close().catch(() => {})));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Group {
  nodes: RaftNode[];
  applied: Map<string, Entry[]>;
  start(id: string): Promise<RaftNode>;
}

async function group(extra: Partial<RaftNodeOptions> = {}): Promise<Group> {
  const basePort = await findFreeBlock(3);
  const dir = mkdtempSync(join(tmpdir(), 'raft-node-test-'));
  dirs.push(dir);
  const peers: PeerAddress[] = [0, 1, 2].map((i) => ({ id: `n${i}`, host: '127.0.0.1', port: basePort + i }));
  const applied = new Map<string, Entry[]>();
  const g: Group = {
    nodes: [],
    applied,
    async start(id) {
      const seen = applied.get(id) ?? [];
      applied.set(id, seen);
      const node = new RaftNode({
        id, peers, logger, tickMs: 10, electionTicks: 10, heartbeatTicks: 2,
        storage: MmapLogStorage.open(join(dir, id), { segmentBytes: 4 * 1024 * 1024, indexSegmentEntries: 64 * 1024 }),
        onApply: (entries) => {
          for (const e of entries) seen.push({ ...e, payload: Buffer.from(e.payload) });
        },
        ...extra,
      });
      running.push(node);
      await node.start();
      return node;
    },
  };
  g.nodes = await Promise.all(peers.map((p) => g.start(p.id)));
  return g;
}

const normal = (entries: Entry[]): string[] => entries.filter((e) => e.type === 0).map((e) => Buffer.from(e.payload).toString());

describe('RaftNode', () => {
  it('resolves proposals at commit and applies them in the same order on every node', async () => {
    const g = await group();
    const leader = await leaderOf(g.nodes);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.propose(Buffer.from(`v${i}`))));
    const indexes = results.map((r) => r.index);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(new Set(indexes).size).toBe(50);
    const batch = await leader.proposeBatch([Buffer.from('b0'), Buffer.from('b1')]);
    expect(batch.lastIndex).toBe(batch.index + 1);
    const expected = [...Array.from({ length: 50 }, (_, i) => `v${i}`), 'b0', 'b1'];
    await until('g.nodes.every((n) => n.applied >= batch.lastIndex)', 5000, () => g.nodes.every((n) => n.applied >= batch.lastIndex));
    for (const n of g.nodes) expect(normal(g.applied.get(n.id)!)).toEqual(expected);
    const applied = g.applied.get(leader.id)!;
    expect(applied.map((e) => e.index)).toEqual(applied.map((_, i) => i + 1));
  });

  it('rejects a proposal on a follower with ERR_RAFT_NOT_LEADER naming the leader', async () => {
    const g = await group();
    const leader = await leaderOf(g.nodes);
    await until('g.nodes.every((n) => n.status().leader === leader.id)', 5000, () => g.nodes.every((n) => n.status().leader === leader.id));
    const follower = g.nodes.find((n) => n !== leader)!;
    await expect(follower.propose(Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_RAFT_NOT_LEADER', leaderHint: leader.id });
  });

  it('emits role events naming the leader and its term', async () => {
    const g = await group();
    const events: RoleChange[] = [];
    for (const n of g.nodes) n.on('role', (c: RoleChange) => events.push(c));
    const leader = await leaderOf(g.nodes);
    await until('events.filter((e) => e.leader === leader.id).length >= 1', 5000, () => events.filter((e) => e.leader === leader.id).length >= 1);
    expect(events.some((e) => e.role === 'leader' || e.leader === leader.id)).toBe(true);
    expect(leader.roleState()).toMatchObject({ role: 'leader', leader: leader.id });
  });

  it('refuses proposals past the pending bound with ERR_RAFT_BUSY', async () => {
    const g = await group({ maxPendingEntries: 8 });
    const leader = await leaderOf(g.nodes);
    const first = leader.proposeBatch(Array.from({ length: 8 }, () => Buffer.from('x')));
    await expect(leader.propose(Buffer.from('y'))).rejects.toMatchObject({ code: 'ERR_RAFT_BUSY' });
    await first;
    await expect(leader.propose(Buffer.from('z'))).resolves.toMatchObject({ term: leader.status().term });
  });

  it('times out a proposal that cannot commit without a quorum', async () => {
    // Without check-quorum the lone leader keeps leading, so the proposal can only time out.
    const g = await group({ proposalTimeoutMs: 300, checkQuorum: false });
    const leader = await leaderOf(g.nodes);
    await Promise.all(g.nodes.filter((n) => n !== leader).map((n) => n.close()));
    const p = leader.propose(Buffer.from('alone'));
    await expect(p).rejects.toMatchObject({ code: 'ERR_RAFT_PROPOSAL_TIMEOUT' });
  });

  it('serves a read index at or past every commit acknowledged before it', async () => {
    const g = await group();
    const leader = await leaderOf(g.nodes);
    const { index } = await leader.propose(Buffer.from('before read'));
    const readAt = await leader.readIndex();
    expect(readAt).toBeGreaterThanOrEqual(index);
    expect(leader.applied).toBeGreaterThanOrEqual(readAt);
  });

  it('hands leadership to the named follower', async () => {
    const g = await group();
    const leader = await leaderOf(g.nodes);
    await leader.propose(Buffer.from('x'));
    const target = g.nodes.find((n) => n !== leader)!;
    await until('target.applied >= leader.applied', 5000, () => target.applied >= leader.applied);
    await leader.transferLeadership(target.id);
    await until('target.status().role === \'leader\'', 5000, () => target.status().role === 'leader');
    await expect(target.propose(Buffer.from('after transfer'))).resolves.toMatchObject({ term: target.status().term });
  });

  it('keeps role listeners bounded over many leadership transfers, repeated requests included', async () => {
    const g = await group();
    const baseline = new Map(g.nodes.map((n) => [n.id, n.listenerCount('role')]));
    // Leadership goes round the group a dozen times; no transfer may leave a listener behind.
    for (let i = 0; i < 12; i++) {
      const leader = await leaderOf(g.nodes);
      const target = g.nodes[(g.nodes.indexOf(leader) + 1) % g.nodes.length]!;
      await until('the target has caught up', 5000, () => target.applied >= leader.applied);
      await leader.transferLeadership(target.id);
      await until('the target leads', 5000, () => target.status().role === 'leader');
      for (const n of g.nodes) expect(n.listenerCount('role')).toBe(baseline.get(n.id));
    }
    // Requests repeated while a transfer cannot finish (its target is down) share one wait.
    const leader = await leaderOf(g.nodes);
    const down = g.nodes.find((n) => n !== leader)!;
    await down.close();
    const waits = Array.from({ length: 25 }, () => leader.transferLeadership(down.id));
    expect(leader.listenerCount('role')).toBeLessThanOrEqual(baseline.get(leader.id)! + 1);
    await leader.close();
    // A close ends the waits at once instead of leaving them to their timer.
    for (const w of waits) await expect(w).rejects.toMatchObject({ code: 'ERR_RAFT_NODE_CLOSED' });
  });

  it('commits with the sync flush policy', async () => {
    const g = await group({ flush: { mode: 'sync' } });
    const leader = await leaderOf(g.nodes);
    const r = await leader.proposeBatch(Array.from({ length: 20 }, (_, i) => Buffer.from(`s${i}`)));
    expect(r.lastIndex - r.index).toBe(19);
  });

  it('fails what is pending and refuses new work with ERR_RAFT_NODE_CLOSED after close', async () => {
    const g = await group({ proposalTimeoutMs: 5000, checkQuorum: false });
    const leader = await leaderOf(g.nodes);
    await Promise.all(g.nodes.filter((n) => n !== leader).map((n) => n.close()));
    const pending = leader.propose(Buffer.from('never'));
    await until('the proposal is pending in the leader', 2000, () => leader.status().pendingEntries > 0);
    await leader.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_RAFT_NODE_CLOSED' });
    await expect(leader.propose(Buffer.from('late'))).rejects.toMatchObject({ code: 'ERR_RAFT_NODE_CLOSED' });
  });

  it('refuses a proposal larger than a log segment with ERR_RAFT_PROPOSAL_TOO_LARGE and keeps committing', async () => {
    const g = await group();
    const leader = await leaderOf(g.nodes);
    const tooLarge = Buffer.alloc(4 * 1024 * 1024);
    await expect(leader.propose(tooLarge)).rejects.toMatchObject({ code: 'ERR_RAFT_PROPOSAL_TOO_LARGE', payloadBytes: tooLarge.length });
    // One oversized payload refuses its whole batch before anything is appended.
    const lastBefore = leader.status().lastIndex;
    await expect(leader.proposeBatch([Buffer.from('ok'), tooLarge])).rejects.toMatchObject({ code: 'ERR_RAFT_PROPOSAL_TOO_LARGE' });
    expect(leader.status().lastIndex).toBe(lastBefore);
    const r = await leader.propose(Buffer.from('after'));
    await until('g.nodes.every((n) => n.applied >= r.index)', 5000, () => g.nodes.every((n) => n.applied >= r.index));
    for (const n of g.nodes) expect(normal(g.applied.get(n.id)!)).toEqual(['after']);
  });

  it('refuses to start from a persisted term that leaves no room to campaign, with ERR_RAFT_TERM_TOO_LARGE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'raft-node-test-'));
    dirs.push(dir);
    const open = (): MmapLogStorage => MmapLogStorage.open(join(dir, 'n0'), { segmentBytes: 1024 * 1024, indexSegmentEntries: 4096 });
    const written = open();
    written.setHardState({ term: Number.MAX_SAFE_INTEGER, vote: '', commit: 0 });
    written.close();
    const storage = open();
    try {
      expect(() => new RaftNode({ id: 'n0', peers: [{ id: 'n0', host: '127.0.0.1', port: 1 }], storage, logger, onApply: () => undefined }))
        .toThrow(expect.objectContaining({ code: 'ERR_RAFT_TERM_TOO_LARGE', term: Number.MAX_SAFE_INTEGER }));
    } finally {
      storage.close();
    }
  });

  it('replays its log to onApply after a restart', async () => {
    const g = await group();
    const leader = await leaderOf(g.nodes);
    const r = await leader.proposeBatch([Buffer.from('p0'), Buffer.from('p1'), Buffer.from('p2')]);
    const follower = g.nodes.find((n) => n !== leader)!;
    await until('follower.applied >= r.lastIndex', 5000, () => follower.applied >= r.lastIndex);
    await follower.close();
    g.applied.set(follower.id, []);
    const again = await g.start(follower.id);
    await until('again.applied >= r.lastIndex', 5000, () => again.applied >= r.lastIndex);
    expect(normal(g.applied.get(follower.id)!)).toEqual(['p0', 'p1', 'p2']);
  });
});
