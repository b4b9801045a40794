// The TCP transport between two in-process peers on 127.0.0.1: delivery, coalescing, bad input
// (garbage frames, a stranger's hello, a forged sender) closing only that connection, reconnect
// after a peer restarts, and a bounded send queue that drops and counts overflow.
import { connect } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../raft/core/messages.js';
import { EntryType } from '../raft/core/types.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { encodeHello, encodeMessage } from '../raft/transport/frame-codec.js';
import { TcpTransport, type PeerAddress } from '../raft/transport/tcp-transport.js';
import { until } from './helpers/poll.js';

const logger = pino({ level: 'silent' });
const open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function peers(): Promise<PeerAddress[]> {
  const base = await findFreeBlock(2);
  return [
    { id: 'n0', host: '127.0.0.1', port: base },
    { id: 'n1', host: '127.0.0.1', port: base + 1 },
  ];
}

function make(id: string, ps: PeerAddress[], received: Message[], extra: Partial<ConstructorParameters<typeof TcpTransport>[0]> = {}): TcpTransport {
  const t = new TcpTransport({ id, peers: ps, logger, onMessage: (m) => received.push(m), ...extra });
  open.push(t);
  return t;
}

function app(from: string, to: string, index: number, payloads: string[]): Message {
  return {
    type: MessageType.App, from, to, term: 1, index, logTerm: 1, commit: 0, reject: false, rejectHint: 0,
    entries: payloads.map((p, i) => ({ index: index + 1 + i, term: 1, type: EntryType.Normal, payload: Buffer.from(p) })),
  };
}

describe('raft tcp transport', () => {
  it('delivers messages in order with their payloads between two peers', async () => {
    const ps = await peers();
    const got0: Message[] = [];
    const got1: Message[] = [];
    const t0 = make('n0', ps, got0);
    const t1 = make('n1', ps, got1);
    await Promise.all([t0.start(), t1.start()]);
    for (let i = 0; i < 100; i++) t0.send([app('n0', 'n1', i * 2, [`a${i}`, `b${i}`])]);
    t1.send([{ ...app('n1', 'n0', 0, []), type: MessageType.AppResp }]);
    await until('got1.length === 100 && got0.length === 1', 5000, () => got1.length === 100 && got0.length === 1);
    expect(got1.map((m) => m.index)).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    expect(Buffer.from(got1[42]!.entries[1]!.payload).toString()).toBe('b42');
    expect(got0[0]!.type).toBe(MessageType.AppResp);
    // 100 frames queued in one turn leave as one corked write.
    expect(t0.stats().peers.n1!.sentFrames).toBe(100);
  });

  it('shares one encoded entry part between messages carrying the same entries', async () => {
    const ps = await peers();
    const got: Message[] = [];
    const t0 = make('n0', ps, []);
    const t1 = make('n1', ps, got);
    await Promise.all([t0.start(), t1.start()]);
    const a = app('n0', 'n1', 4, ['same', 'entries']);
    const b = { ...a, commit: 9, index: 4 };
    t0.send([a, b]);
    await until('got.length === 2', 5000, () => got.length === 2);
    expect(got.map((m) => m.commit)).toEqual([0, 9]);
    for (const m of got) expect(m.entries.map((e) => Buffer.from(e.payload).toString())).toEqual(['same', 'entries']);
  });

  it('closes a connection that sends garbage, counts it, and keeps serving the real peer', async () => {
    const ps = await peers();
    const got1: Message[] = [];
    const t0 = make('n0', ps, []);
    const t1 = make('n1', ps, got1);
    await Promise.all([t0.start(), t1.start()]);
    const closed = new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: ps[1]!.port }, () => {
        s.write(encodeHello({ version: 1, from: 'n0', to: 'n1' }));
        const junk = Buffer.from([0, 0, 0, 5, 2, 255, 255, 255, 255]);
        s.write(junk);
      });
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    await closed;
    expect(t1.stats().rejectedConnections).toBe(1);
    // The stranger's hello in n0's name replaced n0's connection (newest wins); n0 reconnects.
    await until('t0.stats().peers.n1!.connects >= 2 && t0.stats().peers.n1!.connected', 5000, () => t0.stats().peers.n1!.connects >= 2 && t0.stats().peers.n1!.connected);
    t0.send([app('n0', 'n1', 0, ['still works'])]);
    await until('got1.length === 1', 5000, () => got1.length === 1);
  });

  it('rejects a hello from a node that is not a configured peer', async () => {
    const ps = await peers();
    const t1 = make('n1', ps, []);
    await t1.start();
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: ps[1]!.port }, () => s.write(encodeHello({ version: 1, from: 'n9', to: 'n1' })));
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    expect(t1.stats().rejectedConnections).toBe(1);
  });

  it('refuses a big frame from a connection that has not said hello', async () => {
    const ps = await peers();
    const t1 = make('n1', ps, []);
    await t1.start();
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: ps[1]!.port }, () => {
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(100_000);
        s.write(prefix);
      });
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    expect(t1.stats().rejectedConnections).toBe(1);
  });

  it('rejects a message whose sender differs from the connection hello', async () => {
    const ps = await peers();
    const got1: Message[] = [];
    const t1 = make('n1', ps, got1);
    await t1.start();
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: ps[1]!.port }, () => {
        s.write(encodeHello({ version: 1, from: 'n0', to: 'n1' }));
        s.write(encodeMessage(app('n7', 'n1', 0, ['forged'])));
      });
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    expect(got1).toHaveLength(0);
    expect(t1.stats().rejectedConnections).toBe(1);
  });

  it('reconnects after the peer restarts', async () => {
    const ps = await peers();
    const got: Message[] = [];
    const t0 = make('n0', ps, [], { reconnectMinMs: 20, reconnectMaxMs: 100 });
    let t1 = make('n1', ps, got);
    await Promise.all([t0.start(), t1.start()]);
    t0.send([app('n0', 'n1', 0, ['first'])]);
    await until('got.length === 1', 5000, () => got.length === 1);
    await t1.close();
    await until('!t0.stats().peers.n1!.connected', 5000, () => !t0.stats().peers.n1!.connected);
    t1 = make('n1', ps, got);
    await t1.start();
    await until('t0.stats().peers.n1!.connected', 5000, () => t0.stats().peers.n1!.connected);
    t0.send([app('n0', 'n1', 1, ['second'])]);
    await until('got.length === 2', 5000, () => got.length === 2);
    expect(t0.stats().peers.n1!.connects).toBeGreaterThanOrEqual(2);
  });

  it('drops and counts frames past the queue bound while the peer is down', async () => {
    const ps = await peers();
    const t0 = make('n0', ps, [], { maxQueuedFrames: 10 });
    await t0.start();
    for (let i = 0; i < 25; i++) t0.send([app('n0', 'n1', i, ['x'])]);
    const s = t0.stats().peers.n1!;
    expect(s.queuedFrames).toBe(10);
    expect(s.droppedFrames).toBe(15);
  });
});
