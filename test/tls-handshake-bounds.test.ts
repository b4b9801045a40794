// A TLS port is bounded like a plain one from the first byte: a connection still in its TLS
// handshake counts against the connection caps, and a handshake that does not end in time
// (frameReadTimeoutMs on the remoting port, the hello deadline on the Raft port) closes the
// connection. Without that, silent or half-done handshakes held sockets for Node's 120 s default
// without being counted anywhere, so a flood of them could pile up past every bound.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { TcpTransport, type PeerAddress } from '../raft/transport/tcp-transport.js';
import { writeClusterTls, type ClusterTlsFiles } from '../src/devkit/cluster-tls.js';
import { makeRequest, makeResponse, RemotingClient, RemotingServer, ResponseCode } from '../src/protocol/index.js';
import { until } from './helpers/poll.js';

const dir = mkdtempSync(join(tmpdir(), 'rmq-tls-bounds-'));
const logger = pino({ level: 'silent' });
let files: ClusterTlsFiles;
const sockets: Socket[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  files = writeClusterTls(dir);
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const close of closers.splice(0)) await close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A raw TCP connection that says nothing (or only `first`); resolves once connected. */
function silent(port: number, first?: Buffer): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => {
      if (first !== undefined) socket.write(first);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

async function tlsServer(limits: { frameReadTimeoutMs: number; maxConnectionsPerAddress?: number }): Promise<{ server: RemotingServer; port: number }> {
  const server = new RemotingServer({ logger, tls: { cert: readFileSync(files.certPath), key: readFileSync(files.keyPath) }, ...limits });
  server.registerHandler(1501, (req) => makeResponse(req, ResponseCode.SUCCESS));
  const { port } = await server.listen(0);
  closers.push(() => server.close());
  return { server, port };
}

const within = (p: Promise<void>, ms: number): Promise<boolean> => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('TLS handshakes on the remoting port', () => {
  it('closes a connection whose TLS handshake does not end within frameReadTimeoutMs, and counts it', async () => {
    const { server, port } = await tlsServer({ frameReadTimeoutMs: 300 });
    const quiet = await silent(port);
    const halfHello = await silent(port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    expect(await within(quiet.closed, 5000)).toBe(true);
    expect(await within(halfHello.closed, 5000)).toBe(true);
    await until('both failures counted', 2000, () => server.tlsHandshakeFailures >= 2);
    await until('both connections released', 2000, () => server.admittedConnections === 0);
  });

  it('counts connections still in their handshake against the per-address cap, and serves again once they are gone', async () => {
    const { server, port } = await tlsServer({ frameReadTimeoutMs: 1500, maxConnectionsPerAddress: 4 });
    const held = await Promise.all([0, 1, 2, 3].map(() => silent(port)));
    await until('four handshakes admitted', 2000, () => server.admittedConnections === 4);
    const client = new RemotingClient({ tls: { ca: readFileSync(files.caPath) }, connectTimeoutMs: 1000 });
    closers.push(() => client.close());
    const fifth = await client.invoke(`127.0.0.1:${port}`, makeRequest(1501), 1000).then(() => 'answered', () => 'refused');
    expect(fifth).toBe('refused');
    await Promise.all(held.map((h) => h.closed));
    const later = await client.invoke(`127.0.0.1:${port}`, makeRequest(1501), 3000);
    expect(later.code).toBe(ResponseCode.SUCCESS);
  });
});

describe('TLS handshakes on the Raft port', () => {
  async function raftNode(extra: { helloTimeoutMs: number; maxPendingConnections?: number }): Promise<{ transport: TcpTransport; port: number }> {
    const base = await findFreeBlock(2);
    const peers: PeerAddress[] = [{ id: 'n0', host: '127.0.0.1', port: base }, { id: 'n1', host: '127.0.0.1', port: base + 1 }];
    const tls = { cert: readFileSync(files.certPath), key: readFileSync(files.keyPath), ca: readFileSync(files.caPath) };
    const transport = new TcpTransport({ id: 'n0', peers, logger, onMessage: () => undefined, tls, reconnectMinMs: 1000, reconnectMaxMs: 2000, ...extra });
    await transport.start();
    closers.push(() => transport.close());
    return { transport, port: base };
  }

  it('closes a connection that does not finish its TLS handshake within the hello deadline, and counts it', async () => {
    const { transport, port } = await raftNode({ helloTimeoutMs: 300 });
    const quiet = await silent(port);
    expect(await within(quiet.closed, 5000)).toBe(true);
    await until('the refusal counted', 2000, () => transport.stats().rejectedConnections >= 1);
  });

  it('keeps connections in their TLS handshake among the few pending ones: the oldest makes room', async () => {
    const { port } = await raftNode({ helloTimeoutMs: 20_000, maxPendingConnections: 2 });
    const held = await Promise.all([0, 1, 2, 3].map(() => silent(port)));
    const closedSoon = await Promise.all(held.map((h) => within(h.closed, 3000)));
    expect(closedSoon.filter((c) => c)).toHaveLength(2);
  });
});
