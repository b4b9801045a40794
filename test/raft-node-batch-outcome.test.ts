// A batch proposal that a leader change cuts in two: its committed prefix must be reported as
// committed, entry by entry, never as dropped. One real RaftNode (n0) runs against two peers
// the test plays by hand over the TCP transport, so the leader change is exact: n0 leads term
// 1 and gets entry 2 of a batch 2..6 committed, then n1 leads term 2 and replaces 3..6.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageType, type Message } from '../raft/core/messages.js';
import { EntryType, type Entry } from '../raft/core/types.js';
import { entryOutcome } from '../raft/node/errors.js';
import { RaftNode } from '../raft/node/raft-node.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { TcpTransport, type PeerAddress } from '../raft/transport/tcp-transport.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { pollFor, until } from './helpers/poll.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A peer whose every answer the test writes; it records what n0 sends it. */
class ScriptedPeer {
  readonly inbox: Message[] = [];
  /** When set, every App from n0 is acknowledged as fully matched. */
  autoAck = false;
  readonly transport: TcpTransport;

  constructor(readonly id: string, peers: PeerAddress[]) {
    this.transport = new TcpTransport({ id, peers, logger, onMessage: (m) => this.onMessage(m) });
  }

  private onMessage(m: Message): void {
    this.inbox.push(m);
    if (this.autoAck && m.type === MessageType.App) this.send({ type: MessageType.AppResp, term: m.term, index: m.index + m.entries.length });
  }

  send(fields: Partial<Message> & Pick<Message, 'type' | 'term'>): void {
    this.transport.send([{ from: this.id, to: 'n0', index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [], ...fields }]);
  }

  /** The first message from n0 since `from` that `match` accepts (bounded wait). */
  next(match: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    return pollFor(`a matching message from n0 to ${this.id}`, timeoutMs, () => this.inbox.find(match), 5);
  }
}

const entry = (index: number, term: number, text = ''): Entry => ({ index, term, type: text ? EntryType.Normal : EntryType.NoOp, payload: Buffer.from(text) });

/**
 * n0 leads term 1 and proposes the batch 2..6; n1 acknowledges only entry 2 (committed: n0 and
 * n1 are a quorum of 3), then takes over in term 2 with a log that replaces 3..6 from entry 3.
 */
async function cutBatch(): Promise<{ n0: RaftNode; n1: ScriptedPeer; n2: ScriptedPeer; batch: Promise<unknown> }> {
  const base = await findFreeBlock(3);
  const peers: PeerAddress[] = [0, 1, 2].map((i) => ({ id: `n${i}`, host: '127.0.0.1', port: base + i }));
  const dir = mkdtempSync(join(tmpdir(), 'raft-batch-outcome-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const n1 = new ScriptedPeer('n1', peers);
  const n2 = new ScriptedPeer('n2', peers);
  for (const p of [n1, n2]) {
    await p.transport.start();
    cleanups.push(() => p.transport.close());
  }
  const n0 = new RaftNode({
    id: 'n0', peers, logger, tickMs: 10, electionTicks: 30, heartbeatTicks: 3, preVote: false, checkQuorum: false,
    storage: MmapLogStorage.open(join(dir, 'n0'), { segmentBytes: 1024 * 1024, indexSegmentEntries: 4096 }),
    onApply: () => undefined,
  });
  await n0.start();
  cleanups.push(() => n0.close());

  await n1.next((m) => m.type === MessageType.Vote && m.term === 1);
  n1.send({ type: MessageType.VoteResp, term: 1 });
  const noop = await n1.next((m) => m.type === MessageType.App && m.entries.some((e) => e.index === 1));
  n1.send({ type: MessageType.AppResp, term: 1, index: noop.index + noop.entries.length });
  await until('n0.status().commit >= 1', 5000, () => n0.status().commit >= 1);

  const batch = n0.proposeBatch(['a', 'b', 'c', 'd', 'e'].map((s) => Buffer.from(s)));
  batch.catch(() => undefined);
  await n1.next((m) => m.type === MessageType.App && m.entries.some((e) => e.index === 6));
  n1.send({ type: MessageType.AppResp, term: 1, index: 2 });
  await until('n0.status().commit >= 2', 5000, () => n0.status().commit >= 2);

  n1.send({ type: MessageType.App, term: 2, index: 2, logTerm: 1, entries: [entry(3, 2)], commit: 2 });
  await until('n0.status().term === 2 && n0.status().lastIndex === 3', 5000, () => n0.status().term === 2 && n0.status().lastIndex === 3);
  return { n0, n1, n2, batch };
}

describe('RaftNode batch outcome', () => {
  it('reports the committed prefix of a batch whose last index another leader took as committed, not dropped', async () => {
    const { n0, n1, batch } = await cutBatch();
    // n1 commits its own entries at 3..6: the term at the batch's last index is 2, yet entry 2 is ours and committed.
    n1.send({ type: MessageType.App, term: 2, index: 3, logTerm: 2, entries: [entry(4, 2, 'x'), entry(5, 2, 'y'), entry(6, 2, 'z')], commit: 6 });
    await until('n0.applied >= 6', 5000, () => n0.applied >= 6);
    const err = await batch.then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_RAFT_PROPOSAL_PARTLY_COMMITTED', outcome: { firstIndex: 2, lastIndex: 6, term: 1, committedThrough: 2, droppedFrom: 3 } });
    expect(entryOutcome(err, 0)).toEqual({ index: 2, term: 1 });
    expect(entryOutcome(err, 1)).toMatchObject({ error: { code: 'ERR_RAFT_PROPOSAL_DROPPED' } });
  });

  it('keeps a batch a new leader appends over pending until commits decide it, and reports its committed prefix', async () => {
    const { n0, n2, batch } = await cutBatch();
    let settled = false;
    void batch.then(() => (settled = true), () => (settled = true));
    // n0 times out and wins term 3 with n2's vote; its log ends at 3, so it appends at 4 and 5,
    // inside the batch 2..6 whose entry 2 is committed.
    await n2.next((m) => m.type === MessageType.Vote && m.term === 3, 10_000);
    n2.send({ type: MessageType.VoteResp, term: 3 });
    await until('n0.status().role === \'leader\' && n0.status().term === 3', 5000, () => n0.status().role === 'leader' && n0.status().term === 3);
    const after = n0.propose(Buffer.from('after'));
    after.catch(() => undefined);
    await until('n0.status().lastIndex >= 5', 5000, () => n0.status().lastIndex >= 5);
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    n2.autoAck = true;
    n2.send({ type: MessageType.AppResp, term: 3, index: 3 });
    await expect(after).resolves.toMatchObject({ index: 5, term: 3 });
    const err = await batch.then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_RAFT_PROPOSAL_PARTLY_COMMITTED', outcome: { committedThrough: 2, droppedFrom: 3 } });
  });
});
