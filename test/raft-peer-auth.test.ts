// Raft peer authentication (raft/transport/peer-auth.ts) on a real three-node group over TCP: an
// impostor that claims a peer's id can neither join nor disturb the leader with a forged huge
// term nor win a vote, whether it says the old hello or fakes the handshake; an impostor on a
// peer's address is sent no Raft message; and secrets rotate without the group splitting.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../raft/core/messages.js';
import { RaftNode } from '../raft/node/raft-node.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { findFreePortBlock } from '../raft/tools/free-ports.js';
import { encodeHello, encodeMessage, PROTOCOL_VERSION } from '../raft/transport/frame-codec.js';
import { FrameReader } from '../raft/transport/frame-reader.js';
import { encodeAuthHello, encodeChallenge, encodeProof, FRAME_KIND_AUTH_HELLO, newNonce } from '../raft/transport/peer-auth.js';
import type { PeerAddress } from '../raft/transport/tcp-transport.js';
import { leaderOf, until } from './helpers/poll.js';

const logger = pino({ level: 'silent' });
const SECRET = 'group-secret-0123456789abcdef';
const dirs: string[] = [];
const running: RaftNode[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  await Promise.all(running.splice(0).map((n) => n.close().catch(() => {})));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function group(preferredPort: number, secrets: readonly (readonly string[])[]): Promise<{ peers: PeerAddress[]; nodes: RaftNode[] }> {
  const basePort = await findFreePortBlock(preferredPort, 22999, 3);
  const dir = mkdtempSync(join(tmpdir(), 'raft-peer-auth-'));
  dirs.push(dir);
  const peers: PeerAddress[] = [0, 1, 2].map((i) => ({ id: `n${i}`, host: '127.0.0.1', port: basePort + i }));
  const nodes = await Promise.all(peers.map(async (p, i) => {
    const node = new RaftNode({
      id: p.id, peers, logger, tickMs: 10, electionTicks: 50, heartbeatTicks: 5,
      storage: MmapLogStorage.open(join(dir, p.id), { segmentBytes: 4 * 1024 * 1024, indexSegmentEntries: 64 * 1024 }),
      onApply: () => undefined,
      peerSecrets: secrets[i]!,
    });
    running.push(node);
    await node.start();
    return node;
  }));
  return { peers, nodes };
}


function forged(type: MessageType, from: string, to: string, term: number, extra: Partial<Message> = {}): Message {
  return { type, from, to, term, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [], ...extra };
}

/** Connects to `port`, writes `frames` (each may depend on what came back) and reports the socket's close. */
function impostor(port: number): Promise<{ socket: Socket; closed: () => boolean; frames: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    let closed = false;
    const frames: Buffer[] = [];
    const reader = new FrameReader(1024 * 1024);
    socket.on('data', (c: Buffer) => reader.push(c, (b) => frames.push(Buffer.from(b))));
    socket.on('close', () => { closed = true; });
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed: () => closed, frames }));
    socket.once('error', reject);
  });
}

describe('raft peer authentication', () => {
  it('refuses an impostor that claims a peer id with a forged huge-term heartbeat and vote, and the leader stays leader', async () => {
    const { peers, nodes } = await group(22100, [[SECRET], [SECRET], [SECRET]]);
    const leader = await leaderOf(nodes, 8000, { agreed: true });
    const term = leader.status().term;
    const victim = nodes.find((n) => n !== leader)!;
    const claimed = nodes.find((n) => n !== leader && n !== victim)!.id;
    const huge = 2 ** 40;
    const changed = (): boolean => nodes.some((n) => n.status().term !== term);

    // The old hello, then a heartbeat and a vote request with a huge term, to the leader and a follower.
    const attempts = [];
    for (const target of [leader, victim]) {
      const port = peers.find((p) => p.id === target.id)!.port;
      const imp = await impostor(port);
      imp.socket.write(Buffer.concat([
        encodeHello({ version: PROTOCOL_VERSION, from: claimed, to: target.id }),
        encodeMessage(forged(MessageType.Heartbeat, claimed, target.id, huge, { commit: 0 })),
        encodeMessage(forged(MessageType.Vote, claimed, target.id, huge, { index: 1_000_000, logTerm: huge - 1 })),
      ]));
      attempts.push(imp);
    }
    // The handshake faked: an authenticated hello, then a proof that is not the HMAC of the secret.
    const port = peers.find((p) => p.id === leader.id)!.port;
    const faker = await impostor(port);
    faker.socket.write(encodeAuthHello({ version: PROTOCOL_VERSION, from: claimed, to: leader.id, nonce: newNonce() }));
    await until('the challenge', 3000, () => faker.frames.length > 0 || faker.closed());
    faker.socket.write(Buffer.concat([
      encodeProof(randomBytes(32)),
      encodeMessage(forged(MessageType.Heartbeat, claimed, leader.id, huge)),
    ]));
    attempts.push(faker);

    await until('the impostors refused', 5000, () => attempts.every((a) => a.closed()) || changed());
    expect(changed()).toBe(false);
    expect(attempts.every((a) => a.closed())).toBe(true);
    expect(leader.status().role).toBe('leader');
    expect(nodes.every((n) => n.status().vote === '' || n.status().vote === leader.id)).toBe(true);
    const authFailures = nodes.reduce((sum, n) => sum + n.status().transport.authFailures, 0);
    expect(authFailures).toBeGreaterThanOrEqual(3);
    // And the group still commits.
    const r = await leader.propose(Buffer.from('after the impostors'));
    await until('commit after the impostors', 5000, () => nodes.every((n) => n.applied >= r.index));
  });

  it('sends no raft message to an impostor listening on a stopped peer\'s address', async () => {
    const { peers, nodes } = await group(22200, [[SECRET], [SECRET], [SECRET]]);
    const leader = await leaderOf(nodes, 8000, { agreed: true });
    const gone = nodes.find((n) => n !== leader)!;
    const address = peers.find((p) => p.id === gone.id)!;
    await gone.close();
    const kinds: number[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      const reader = new FrameReader(64 * 1024 * 1024);
      s.on('data', (c: Buffer) => reader.push(c, (b) => {
        kinds.push(b[0]!);
        // Answer like an acceptor, but without the secret: a made-up MAC.
        if (b[0] === FRAME_KIND_AUTH_HELLO) s.write(encodeChallenge(newNonce(), randomBytes(32)));
      }));
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => resolve());
    });
    const others = nodes.filter((n) => n !== gone);
    await until('both live nodes refusing the impostor', 8000, () => others.every((n) => (n.status().transport.peers[gone.id]?.authFailures ?? 0) >= 1));
    const r = await leader.propose(Buffer.from('not for the impostor'));
    await until('commit by the two genuine nodes', 5000, () => others.every((n) => n.applied >= r.index));
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.every((k) => k === FRAME_KIND_AUTH_HELLO)).toBe(true);
  });

  // Each pair must accept the secret the other signs with (both ends prove themselves), so the
  // rotation goes old -> old,new -> new,old -> new one node at a time: these are the mixed
  // states a group passes through. (A node with only `new` beside one still signing with `old`
  // is not one of them: that pair cannot connect.)
  const OLD = 'old-secret-0123456789abcdef';
  const NEW = 'new-secret-0123456789abcdef';
  for (const [step, secrets] of [
    ['adding the new secret', [[OLD], [OLD, NEW], [OLD, NEW]]],
    ['signing with the new secret', [[OLD, NEW], [NEW, OLD], [NEW, OLD]]],
    ['dropping the old secret', [[NEW, OLD], [NEW, OLD], [NEW]]],
  ] as const) {
    it(`keeps one group while the secret is rotated: ${step}`, async () => {
      const { nodes } = await group(22300, secrets);
      const leader = await leaderOf(nodes, 8000, { agreed: true });
      const r = await leader.propose(Buffer.from('rotating'));
      await until('commit on all three', 5000, () => nodes.every((n) => n.applied >= r.index));
    });
  }

  it('does not let a node with another secret into the group', async () => {
    const { nodes } = await group(22400, [[SECRET], [SECRET], ['another-secret-0123456789abcdef']]);
    const outsider = nodes[2]!;
    const leader = await leaderOf(nodes.slice(0, 2), 8000, { agreed: true });
    const r = await leader.propose(Buffer.from('without the outsider'));
    await until('commit by the two', 5000, () => nodes[0]!.applied >= r.index && nodes[1]!.applied >= r.index);
    await until('the outsider refusing the others', 5000, () => outsider.status().transport.authFailures >= 1);
    expect(outsider.applied).toBeLessThan(r.index);
    expect(outsider.status().leader).not.toBe(leader.id);
  });
});
