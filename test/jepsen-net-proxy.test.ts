// The TCP proxy really cuts links: bytes stop while a link is blocked and flow again after heal,
// a one-way cut silences only one direction, and delay and loss slow bytes without losing them.
// Ports: a random free block (PORTS).
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../jepsen-like/net/tcp-proxy.js';
import { dial, eventually, recordingServer, type Client, type Recorder } from './jepsen-net-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

/** This file's ports: a block the kit's port finder found free. */
const PORTS = await findFreeBlock(30);

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
    const target = await server(PORTS, true);
    const proxy = await proxyTo(PORTS, PORTS + 1);
    const c = await client(PORTS + 1);
    c.socket.write('hello');
    expect(await eventually(() => c.received() === 'hello')).toBe(true);
    expect(target.received()).toBe('hello');
    expect(proxy.stats().bytesToTarget).toBe(5);
    expect(proxy.stats().bytesToClient).toBe(5);
  });

  it('delivers nothing while blocked, then everything in order after heal', async () => {
    const target = await server(PORTS + 2, true);
    const proxy = await proxyTo(PORTS + 2, PORTS + 3);
    const c = await client(PORTS + 3);
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
    const target = await server(PORTS + 4, false);
    const proxy = await proxyTo(PORTS + 4, PORTS + 5);
    proxy.block();
    const c = await client(PORTS + 5);
    c.socket.write('early');
    await sleep(300);
    expect(target.connections).toBe(0);
    expect(target.received()).toBe('');

    proxy.heal();
    expect(await eventually(() => target.received() === 'early')).toBe(true);
    expect(target.connections).toBe(1);
  });

  it('resets connections at once in reset mode, and refuses new ones until heal', async () => {
    const target = await server(PORTS + 6, true);
    const proxy = await proxyTo(PORTS + 6, PORTS + 7);
    const c = await client(PORTS + 7);
    c.socket.write('x');
    expect(await eventually(() => target.received() === 'x')).toBe(true);

    proxy.block('reset');
    expect(await eventually(() => c.closed())).toBe(true);
    // Depending on timing the reset arrives during or just after the handshake.
    const late = await dial(PORTS + 7).then(
      (l) => eventually(() => l.closed()),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET',
    );
    expect(late).toBe(true);
    expect(target.connections).toBe(1);

    proxy.heal();
    const after = await client(PORTS + 7);
    after.socket.write('y');
    expect(await eventually(() => after.received() === 'y')).toBe(true);
  });

  it('passes a close made during a block on only after heal', async () => {
    const target = await server(PORTS + 8, false);
    const proxy = await proxyTo(PORTS + 8, PORTS + 9);
    const c = await client(PORTS + 9);
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
    await new Promise<void>((r) => aServer.listen({ host: '127.0.0.1', port: PORTS + 10 }, () => r()));
    cleanups.push(() => new Promise<void>((r) => aServer.close(() => r())));
    const aToB = await proxyTo(PORTS + 11, PORTS + 12);
    const bToA = await proxyTo(PORTS + 10, PORTS + 13);
    const bToAClient = await client(PORTS + 13);
    const requests: string[] = [];
    const bServer: Server = createServer((s: Socket) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        requests.push(d.toString());
        bToAClient.socket.write(`re:${d.toString()}`);
      });
    });
    await new Promise<void>((r) => bServer.listen({ host: '127.0.0.1', port: PORTS + 11 }, () => r()));
    const aClient = await client(PORTS + 12);
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
    const target = await server(PORTS + 14, true);
    const proxy = await proxyTo(PORTS + 14, PORTS + 15);
    proxy.setFaults({ delayMs: 150 });
    const c = await client(PORTS + 15);
    const started = Date.now();
    c.socket.write('ping');
    expect(await eventually(() => c.received() === 'ping')).toBe(true);
    // Delayed on the way there and on the way back.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(target.received()).toBe('ping');
  });

  it('models packet loss as retransmission delay: bytes arrive complete and in order', async () => {
    const target = await server(PORTS + 16, false);
    const proxy = await proxyTo(PORTS + 16, PORTS + 17);
    proxy.setFaults({ lossProbability: 0.3, retransmitMs: 5 });
    const c = await client(PORTS + 17);
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
    await new Promise<void>((r) => sink.listen({ host: '127.0.0.1', port: PORTS + 22 }, () => r()));
    cleanups.push(() => new Promise<void>((r) => sink.close(() => r())));
    const proxy = await TcpProxy.listen({ listenPort: PORTS + 23, targetPort: PORTS + 22, maxBufferedBytes: 64 * 1024 });
    cleanups.push(() => proxy.close());
    const c = await client(PORTS + 23);
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
    const target = await server(PORTS + 18, false);
    const proxy = await TcpProxy.listen({ listenPort: PORTS + 19, targetPort: PORTS + 18 });
    const c1 = await client(PORTS + 19);
    const c2 = await client(PORTS + 19);
    expect(await eventually(() => target.sockets.size === 2)).toBe(true);
    await proxy.close();
    expect(await eventually(() => c1.closed() && c2.closed() && target.sockets.size === 0)).toBe(true);
    await expect(dial(PORTS + 19)).rejects.toThrow();
  });

  it('reports a port already in use as ERR_JEPSEN_PROXY_LISTEN', async () => {
    await server(PORTS + 20, false);
    await expect(TcpProxy.listen({ listenPort: PORTS + 20, targetPort: PORTS + 21 })).rejects.toMatchObject({ code: 'ERR_JEPSEN_PROXY_LISTEN' });
  });
});
