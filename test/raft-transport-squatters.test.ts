// The Raft transport against connections that hold its port without being the peer they claim:
// squatters (with or without a hello in a peer's name) cannot keep a restarted peer out, and a
// peer's connection that carries nothing is closed after the inbound idle time.
import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../raft/core/messages.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { encodeHello } from '../raft/transport/frame-codec.js';
import { TcpTransport, type PeerAddress } from '../raft/transport/tcp-transport.js';
import { until } from './helpers/poll.js';

const logger = pino({ level: 'silent' });
const open: TcpTransport[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function groupOfThree(): Promise<PeerAddress[]> {
  const base = await findFreeBlock(3);
  return ['n0', 'n1', 'n2'].map((id, i) => ({ id, host: '127.0.0.1', port: base + i }));
}

function make(id: string, ps: PeerAddress[], received: Message[], extra: Partial<ConstructorParameters<typeof TcpTransport>[0]> = {}): TcpTransport {
  const t = new TcpTransport({ id, peers: ps, logger, onMessage: (m) => received.push(m), reconnectMinMs: 20, reconnectMaxMs: 100, ...extra });
  open.push(t);
  return t;
}

function heartbeatResponse(from: string, to: string, term: number): Message {
  return { type: MessageType.HeartbeatResp, from, to, term, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [] };
}

/** A raw connection to `port` that sends `hello` (if any) and then stays silent. */
function squat(port: number, hello?: Buffer): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => {
      if (hello) socket.write(hello);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

describe('raft tcp transport under squatters', () => {
  it('lets a restarted peer in past squatters that said hello in its name and squatters that said nothing', async () => {
    const ps = await groupOfThree();
    const got0: Message[] = [];
    const t0 = make('n0', ps, got0);
    await t0.start();
    const squatters = [];
    for (let i = 0; i < 7; i++) squatters.push(await squat(ps[0]!.port, encodeHello({ version: 1, from: 'n1', to: 'n0' })));
    for (let i = 0; i < 8; i++) squatters.push(await squat(ps[0]!.port));
    const t1 = make('n1', ps, []);
    await t1.start();
    // Well inside the hello deadline (5 s): only replacing squatters can let n1 in this soon.
    let term = 1;
    await until('n0 hearing from the restarted n1', 2000, () => {
      t1.send([heartbeatResponse('n1', 'n0', term++)]);
      return got0.some((m) => m.from === 'n1');
    });
    // Every squatter in n1's name lost its place to a newer hello, the last one to n1 itself.
    await Promise.all(squatters.slice(0, 7).map((sq) => sq.closed));
  });

  it('closes a peer connection that carries no frames for the inbound idle time', async () => {
    const ps = await groupOfThree();
    const t0 = make('n0', ps, [], { inboundIdleMs: 300 });
    await t0.start();
    const quiet = await squat(ps[0]!.port, encodeHello({ version: 1, from: 'n2', to: 'n0' }));
    await Promise.race([
      quiet.closed,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error('the quiet connection is still open after 5 s')), 5000)),
    ]);
  });

  it('keeps delivering between real peers whose connections replace each other on restart', async () => {
    const ps = await groupOfThree();
    const got0: Message[] = [];
    const t0 = make('n0', ps, got0);
    let t1 = make('n1', ps, []);
    await Promise.all([t0.start(), t1.start()]);
    t1.send([heartbeatResponse('n1', 'n0', 1)]);
    await until('first delivery', 5000, () => got0.length === 1);
    await t1.close();
    t1 = make('n1', ps, []);
    await t1.start();
    let term = 2;
    await until('delivery after the restart', 5000, () => {
      t1.send([heartbeatResponse('n1', 'n0', term++)]);
      return got0.length >= 2;
    });
    expect(got0.every((m) => m.from === 'n1')).toBe(true);
  });
});
