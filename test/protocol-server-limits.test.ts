// The remoting server's bounds under hostile clients, over real TCP on 127.0.0.1 (port 0): idle
// connections and slow frames are closed, connections per address are capped, partly received
// frames share one byte budget, and a client that does not read its answers stops being read.
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeFrame, FrameDecoder } from '../src/protocol/frame-codec.js';
import { RemotingClient } from '../src/protocol/remoting-client.js';
import { makeRequest, makeResponse, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { RemotingServer, type RemotingServerOptions } from '../src/protocol/remoting-server.js';

const HOST = '127.0.0.1';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startServer(options: RemotingServerOptions, setup: (s: RemotingServer) => void = () => {}): Promise<{ server: RemotingServer; port: number; addr: string }> {
  const server = new RemotingServer({ logger: pino({ level: 'silent' }), ...options });
  setup(server);
  const { port } = await server.listen(0, HOST);
  cleanups.push(() => server.close());
  return { server, port, addr: `${HOST}:${port}` };
}

interface Raw {
  socket: net.Socket;
  closed: Promise<void>;
  isClosed: () => boolean;
}

/** A raw connection whose closing by the server is observable. */
function rawConnect(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    let isClosed = false;
    const socket = net.connect({ host: HOST, port });
    const closed = new Promise<void>((r) => socket.on('close', () => {
      isClosed = true;
      r();
    }));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed, isClosed: () => isClosed }));
    socket.once('error', reject);
    cleanups.push(() => void socket.destroy());
  });
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);
}

describe('remoting server limits', () => {
  it('closes a silent connection after the idle timeout but keeps one whose request is still being answered', async () => {
    let release: (() => void) | undefined;
    const { port } = await startServer({ idleTimeoutMs: 300 }, (s) => s.registerHandler(60, (req) => new Promise<RemotingCommand>((r) => {
      release = () => r(makeResponse(req, 0, 'held'));
    })));
    const busy = await rawConnect(port);
    const answers: RemotingCommand[] = [];
    const decoder = new FrameDecoder();
    busy.socket.on('data', (d: Buffer) => void decoder.push(d, (c) => answers.push(c)));
    const held = makeRequest(60);
    held.opaque = 7;
    busy.socket.write(encodeFrame(held));
    await vi.waitFor(() => expect(release).toBeDefined());
    const idle = await rawConnect(port);
    await within(idle.closed, 5000, 'closing the idle connection');
    // The busy connection has been silent at least as long, yet it waits for its answer.
    expect(busy.isClosed()).toBe(false);
    release!();
    await vi.waitFor(() => expect(answers.map((a) => a.remark)).toEqual(['held']));
  });

  it('closes a connection whose frame does not complete within the frame read timeout', async () => {
    const { port } = await startServer({ frameReadTimeoutMs: 300, idleTimeoutMs: 60_000 });
    const slow = await rawConnect(port);
    const head = Buffer.alloc(10);
    head.writeUInt32BE(1000, 0);
    slow.socket.write(head);
    await within(slow.closed, 5000, 'closing the connection with an incomplete frame');
  });

  it('refuses connections past the per-address cap and accepts again once one closes', async () => {
    const { server, port, addr } = await startServer({ maxConnectionsPerAddress: 3 }, (s) => s.registerHandler(51, (req) => makeResponse(req, 0)));
    const kept = [await rawConnect(port), await rawConnect(port), await rawConnect(port)];
    await vi.waitFor(() => expect(server.connectionCount).toBe(3));
    const extra = await rawConnect(port);
    await within(extra.closed, 5000, 'refusing the fourth connection');
    expect(kept.map((k) => k.isClosed())).toEqual([false, false, false]);
    kept[0]!.socket.destroy();
    await vi.waitFor(() => expect(server.connectionCount).toBe(2));
    const client = new RemotingClient({ logger: pino({ level: 'silent' }) });
    cleanups.push(() => client.close());
    expect((await client.invoke(addr, makeRequest(51), 2000)).code).toBe(0);
  });

  it('closes a connection whose large frame would overrun the inbound frame budget and frees the budget when frames complete', async () => {
    const frameBytes = 800 * 1024;
    const { server, port } = await startServer({ maxFrameBytes: 4 * 1024 * 1024, inboundFrameBudgetBytes: 1024 * 1024 }, (s) => s.registerHandler(61, (req) => makeResponse(req, 0, `got ${req.body?.length ?? 0}`)));
    const big = encodeFrame({ ...makeRequest(61), opaque: 1, body: Buffer.alloc(frameBytes) });
    const first = await rawConnect(port);
    first.socket.write(big.subarray(0, 1000));
    await vi.waitFor(() => expect(server.inboundReservedBytes).toBe(big.length));
    const second = await rawConnect(port);
    second.socket.write(big.subarray(0, 1000));
    await within(second.closed, 5000, 'refusing the frame over budget');
    expect(first.isClosed()).toBe(false);
    const answers: RemotingCommand[] = [];
    const decoder = new FrameDecoder();
    first.socket.on('data', (d: Buffer) => void decoder.push(d, (c) => answers.push(c)));
    first.socket.write(big.subarray(1000));
    await vi.waitFor(() => expect(answers.map((a) => a.remark)).toEqual([`got ${frameBytes}`]));
    expect(server.inboundReservedBytes).toBe(0);
    const third = await rawConnect(port);
    const thirdAnswers: RemotingCommand[] = [];
    const thirdDecoder = new FrameDecoder();
    third.socket.on('data', (d: Buffer) => void thirdDecoder.push(d, (c) => thirdAnswers.push(c)));
    third.socket.write(big);
    await vi.waitFor(() => expect(thirdAnswers).toHaveLength(1));
  });

  it('stops reading requests from a client that does not read its answers and serves them all once it reads again', async () => {
    const total = 64;
    const answerBytes = 1024 * 1024;
    let handled = 0;
    const { server, port } = await startServer({ writeBacklogPauseBytes: 1024 * 1024, maxWriteBacklogBytes: 16 * 1024 * 1024 }, (s) => s.registerHandler(62, (req) => {
      handled++;
      return makeResponse(req, 0, undefined, {}, Buffer.alloc(answerBytes));
    }));
    const lazy = await rawConnect(port);
    lazy.socket.pause();
    const requests = Array.from({ length: total }, (_, i) => encodeFrame({ ...makeRequest(62), opaque: i + 1 }));
    lazy.socket.write(Buffer.concat(requests));
    await vi.waitFor(() => expect(server.readPausedCount).toBe(1), { timeout: 5000 });
    // The kernel's socket buffers hold a few answers; the rest of the requests wait unread.
    expect(handled).toBeLessThan(total);
    const answers: RemotingCommand[] = [];
    const decoder = new FrameDecoder(2 * answerBytes);
    lazy.socket.on('data', (d: Buffer) => void decoder.push(d, (c) => answers.push(c)));
    lazy.socket.resume();
    await vi.waitFor(() => expect(answers).toHaveLength(total), { timeout: 10_000 });
    expect(answers.map((a) => a.opaque)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(lazy.isClosed()).toBe(false);
  });

  it('closes a client that takes none of its answers for the idle time instead of keeping its backlog forever', async () => {
    const { server, port } = await startServer({ idleTimeoutMs: 500, writeBacklogPauseBytes: 1024 * 1024, maxWriteBacklogBytes: 16 * 1024 * 1024 }, (s) => s.registerHandler(62, (req) => makeResponse(req, 0, undefined, {}, Buffer.alloc(1024 * 1024))));
    const deaf = await rawConnect(port);
    deaf.socket.pause();
    deaf.socket.write(Buffer.concat(Array.from({ length: 32 }, (_, i) => encodeFrame({ ...makeRequest(62), opaque: i + 1 }))));
    await vi.waitFor(() => expect(server.readPausedCount).toBe(1), { timeout: 5000 });
    // Seen from the server: the paused client socket would not report the close before its data.
    await vi.waitFor(() => expect(server.connectionCount).toBe(0), { timeout: 5000 });
  });
});
