// Replacing a dead node of a running RaftNode group over real TCP, under a steady producer: a new
// node joins as a learner, catches up, is promoted, and the dead voter is removed; nothing the
// group acknowledged is lost and proposals keep being accepted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftNode } from '../raft/node/raft-node.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import type { PeerAddress } from '../raft/transport/tcp-transport.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const running: RaftNode[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.close().catch(() => {})));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Retries a change while the leader says a change (or its first commit) is still in flight. */
async function changeWithRetry(leader: () => RaftNode, run: (n: RaftNode) => Promise<unknown>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await run(leader());
      return;
    } catch (err) {
      const e = err as { code?: string; reason?: string };
      const transient = e.code === 'ERR_NOT_LEADER' || (e.code === 'ERR_MEMBERSHIP_CHANGE_REFUSED' && (e.reason === 'change-in-progress' || e.reason === 'learner-behind'));
      if (!transient) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('change not accepted after 200 attempts');
}

describe('RaftNode membership', () => {
  it('replaces a dead voter with a new node under a steady producer without losing an acknowledged entry', async () => {
    const base = await findFreeBlock(4);
    const dir = mkdtempSync(join(tmpdir(), 'raft-membership-test-'));
    dirs.push(dir);
    const addr = (i: number): PeerAddress => ({ id: `n${i}`, host: '127.0.0.1', port: base + i });
    const applied = new Map<string, string[]>();
    const start = async (i: number, peers: PeerAddress[], joining = false): Promise<RaftNode> => {
      const seen: string[] = [];
      applied.set(`n${i}`, seen);
      const node = new RaftNode({
        id: `n${i}`, peers, joining, logger, tickMs: 10, electionTicks: 10, heartbeatTicks: 2, maxPromoteLagEntries: 200,
        storage: MmapLogStorage.open(join(dir, `n${i}`), { segmentBytes: 4 * 1024 * 1024, indexSegmentEntries: 64 * 1024 }),
        onApply: (entries) => {
          for (const e of entries) if (e.type === 0) seen.push(Buffer.from(e.payload).toString());
        },
      });
      running.push(node);
      await node.start();
      return node;
    };
    const bootstrap = [addr(0), addr(1), addr(2)];
    const nodes = await Promise.all([0, 1, 2].map((i) => start(i, bootstrap)));
    const live = new Set(nodes);
    const leader = (): RaftNode => [...live].find((n) => n.status().role === 'leader') ?? nodes[0]!;
    await until(() => [...live].some((n) => n.status().role === 'leader'));
    // The dead node: a follower, closed for good.
    const dead = nodes.find((n) => n !== leader())!;
    await dead.close();
    live.delete(dead);

    const acked: string[] = [];
    let stop = false;
    let sent = 0;
    const producer = (async () => {
      // Bounded: at most 3000 proposals, one at a time.
      while (!stop && sent < 3000) {
        const payload = `m${sent++}`;
        try {
          await leader().propose(Buffer.from(payload));
          acked.push(payload);
        } catch {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();

    await until(() => acked.length >= 50);
    const joiner = await start(3, [...bootstrap.filter((p) => p.id !== dead.id), addr(3)], true);
    live.add(joiner);
    await changeWithRetry(leader, (n) => n.changeMembership({ kind: 'add-learner', node: 'n3', address: `127.0.0.1:${base + 3}` }));
    await changeWithRetry(leader, (n) => n.changeMembership({ kind: 'promote', node: 'n3' }));
    await changeWithRetry(leader, (n) => n.changeMembership({ kind: 'remove', node: dead.id }));
    const ackedAtChange = acked.length;
    await until(() => acked.length >= ackedAtChange + 50);
    stop = true;
    await producer;

    const m = leader().membership();
    expect([...m.voters].sort()).toEqual(['n0', 'n1', 'n2', 'n3'].filter((id) => id !== dead.id));
    expect(m.learners).toEqual([]);
    expect(joiner.membership().voters).toEqual(m.voters);
    // Every acknowledged entry is applied, in order, on every remaining member, the new one included.
    for (const n of live) {
      await until(() => applied.get(n.id)!.length >= acked.length);
      const seen = new Set(applied.get(n.id)!);
      expect(acked.filter((p) => !seen.has(p))).toEqual([]);
    }
  }, 60_000);
});
