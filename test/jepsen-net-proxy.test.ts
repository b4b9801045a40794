// The TCP proxy really cuts links: bytes stop while a link is blocked and flow again after heal,
// a one-way cut silences only one direction, and delay and loss slow bytes without losing them.
// Ports 24000-24099.
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../jepsen-like/net/tcp-proxy.js';
import { dial, eventually, recordingServer, type Client, type Recorder } from './jepsen-net-helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxyTo(target: number, listen: number): Promise<TcpProxy> {
  const p = await TcpProxy.listen({ listenPort: listen, targetPort: target, seed: 7 });
  cleanups.push(() => p.close());
  return p;
}
async function server(port: number, echo: boolean): Promise<Recorder> {
  const s = await recordingServer(port, echo);
  cleanups.push(() => s.close());
  return s;
}
async function client(port: number): Promise<Client> {
  const c = await dial(port);
  cleanups.push(() => void c.socket.resetAndDestroy());
  return c;
}

describe('TcpProxy', () => {
  it('forwards bytes both ways while the link is open', async () => {
    const target = await server(24000, true);
    const proxy = await proxyTo(24000, 24001);
    const c = await client(24001);
    c.socket.write('hello');
    expect(await eventually(() => c.received() === 'hello')).toBe(true);
    expect(target.received()).toBe('hello');
    expect(proxy.stats().bytesToTarget).toBe(5);
    expect(proxy.stats().bytesToClient).toBe(5);
  });

  it('delivers nothing while blocked, then everything in order after heal', async () => {
    const target = await server(24002, true);
    const proxy = await proxyTo(24002, 24003);
    const c = await client(24003);
    c.socket.write('a');
    expect(await eventually(() => target.received() === 'a')).toBe(true);

    proxy.block();
    c.socket.write('b');
    c.socket.write('c');
    await sleep(300);
    expect(target.received()).toBe('a');
    // The sender sees a hang, not a reset: its connection is still open.
    expect(c.closed()).toBe(false);

    proxy.heal();
    expect(await eventually(() => target.received() === 'abc')).toBe(true);
    expect(await eventually(() => c.received() === 'abc')).toBe(true);
  });

  it('does not let a connection opened during a block reach the target until heal', async () => {
    const target = await server(24004, false);
    const proxy = await proxyTo(24004, 24005);
    proxy.block();
    const c = await client(24005);
    c.socket.write('early');
    await sleep(300);
    expect(target.connections).toBe(0);
    expect(target.received()).toBe('');

    proxy.heal();
    expect(await eventually(() => target.received() === 'early')).toBe(true);
    expect(target.connections).toBe(1);
  });

  it('resets connections at once in reset mode, and refuses new ones until heal', async () => {
    const target = await server(24006, true);
    const proxy = await proxyTo(24006, 24007);
    const c = await client(24007);
    c.socket.write('x');
    expect(await eventually(() => target.received() === 'x')).toBe(true);

    proxy.block('reset');
    expect(await eventually(() => c.closed())).toBe(true);
    // Depending on timing the reset arrives during or just after the handshake.
    const late = await dial(24007).then(
      (l) => eventually(() => l.closed()),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET',
    );
    expect(late).toBe(true);
    expect(target.connections).toBe(1);

    proxy.heal();
    const after = await client(24007);
    after.socket.write('y');
    expect(await eventually(() => after.received() === 'y')).toBe(true);
  });

  it('passes a close made during a block on only after heal', async () => {
    const target = await server(24008, false);
    const proxy = await proxyTo(24008, 24009);
    const c = await client(24009);
    c.socket.write('1');
    expect(await eventually(() => target.sockets.size === 1 && target.received() === '1')).toBe(true);
    const upstream = [...target.sockets][0]!;
    let upstreamClosed = false;
    upstream.on('close', () => (upstreamClosed = true));

    proxy.block();
    c.socket.resetAndDestroy();
    await sleep(200);
    expect(upstreamClosed).toBe(false);

    proxy.heal();
    expect(await eventually(() => upstreamClosed)).toBe(true);
    expect(proxy.stats().connectionsActive).toBe(0);
  });

  it('stops only one direction of a request/response pair carried on two connections', async () => {
    // A sends requests to B over A→B; B answers by dialing A over B→A, as the Raft transport does.
    const answers: string[] = [];
    const aServer: Server = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => answers.push(d.toString()));
    });
    await new Promise<void>((r) => aServer.listen({ host: '127.0.0.1', port: 24010 }, () => r()));
    cleanups.push(() => new Promise<void>((r) => aServer.close(() => r())));
    const aToB = await proxyTo(24011, 24012);
    const bToA = await proxyTo(24010, 24013);
    const bToAClient = await client(24013);
    const requests: string[] = [];
    const bServer: Server = createServer((s: Socket) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        requests.push(d.toString());
        bToAClient.socket.write(`re:${d.toString()}`);
      });
    });
    await new Promise<void>((r) => bServer.listen({ host: '127.0.0.1', port: 24011 }, () => r()));
    const aClient = await client(24012);
    cleanups.push(() => {
      aClient.socket.resetAndDestroy();
      return new Promise<void>((r) => bServer.close(() => r()));
    });

    bToA.block();
    aClient.socket.write('q1');
    expect(await eventually(() => requests.join() === 'q1')).toBe(true);
    await sleep(250);
    expect(answers).toEqual([]);
    expect(aToB.state).toBe('open');

    bToA.heal();
    expect(await eventually(() => answers.join() === 're:q1')).toBe(true);
  });

  it('delays every chunk by delayMs', async () => {
    const target = await server(24014, true);
    const proxy = await proxyTo(24014, 24015);
    proxy.setFaults({ delayMs: 150 });
    const c = await client(24015);
    const started = Date.now();
    c.socket.write('ping');
    expect(await eventually(() => c.received() === 'ping')).toBe(true);
    // Delayed on the way there and on the way back.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(target.received()).toBe('ping');
  });

  it('models packet loss as retransmission delay: bytes arrive complete and in order', async () => {
    const target = await server(24016, false);
    const proxy = await proxyTo(24016, 24017);
    proxy.setFaults({ lossProbability: 0.3, retransmitMs: 5 });
    const c = await client(24017);
    let expected = '';
    for (let i = 0; i < 200; i++) {
      const piece = `<${i}>`;
      expected += piece;
      c.socket.write(piece);
      if (i % 20 === 0) await sleep(2);
    }
    expect(await eventually(() => target.received() === expected, 5000)).toBe(true);
    expect(proxy.stats().chunksLost).toBeGreaterThan(0);
  });

  it('carries a large stream intact through backpressure, a block and a heal mid-stream', async () => {
    const received: Buffer[] = [];
    let receivedBytes = 0;
    const sink: Server = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        received.push(d);
        receivedBytes += d.length;
      });
    });
    await new Promise<void>((r) => sink.listen({ host: '127.0.0.1', port: 24022 }, () => r()));
    cleanups.push(() => new Promise<void>((r) => sink.close(() => r())));
    const proxy = await TcpProxy.listen({ listenPort: 24023, targetPort: 24022, maxBufferedBytes: 64 * 1024 });
    cleanups.push(() => proxy.close());
    const c = await client(24023);
    const totalBytes = 32 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
    let sent = 0;
    const writeAll = async (): Promise<void> => {
      // Bounded: totalBytes / block.length writes.
      while (sent < totalBytes) {
        sent += block.length;
        if (!c.socket.write(block)) await new Promise((r) => c.socket.once('drain', r));
      }
    };
    const writing = writeAll();
    expect(await eventually(() => receivedBytes > 2 * 1024 * 1024, 5000)).toBe(true);
    proxy.block();
    // What the proxy had already handed to the target's socket still arrives; nothing after it.
    const forwardedAtBlock = proxy.stats().bytesToTarget;
    expect(await eventually(() => receivedBytes === forwardedAtBlock, 5000)).toBe(true);
    await sleep(200);
    expect(proxy.stats().bytesToTarget).toBe(forwardedAtBlock);
    expect(receivedBytes).toBe(forwardedAtBlock);
    // The sender is held back by backpressure, not by an error.
    expect(sent).toBeLessThan(totalBytes);
    proxy.heal();
    await writing;
    expect(await eventually(() => receivedBytes === totalBytes, 10_000)).toBe(true);
    const all = Buffer.concat(received);
    for (let off = 0; off < all.length; off += block.length) expect(all.subarray(off, off + block.length).equals(block)).toBe(true);
  });

  it('closes every socket it holds on close', async () => {
    const target = await server(24018, false);
    const proxy = await TcpProxy.listen({ listenPort: 24019, targetPort: 24018 });
    const c1 = await client(24019);
    const c2 = await client(24019);
    expect(await eventually(() => target.sockets.size === 2)).toBe(true);
    await proxy.close();
    expect(await eventually(() => c1.closed() && c2.closed() && target.sockets.size === 0)).toBe(true);
    await expect(dial(24019)).rejects.toThrow();
  });

  it('reports a port already in use as ERR_PROXY_LISTEN', async () => {
    await server(24020, false);
    await expect(TcpProxy.listen({ listenPort: 24020, targetPort: 24021 })).rejects.toMatchObject({ code: 'ERR_PROXY_LISTEN' });
  });
});
