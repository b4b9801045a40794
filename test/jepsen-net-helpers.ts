// Small TCP endpoints for the network-fault tests: a server that records what reaches it (and
// can echo), and a client that collects what comes back. Everything listens on 127.0.0.1.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually as eventuallyHolds } from './helpers/poll.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

export interface Recorder {
  server: Server;
  port: number;
  connections: number;
  received(): string;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A server on `port` that records every byte it receives and, if asked, echoes it back. */
export async function recordingServer(port: number, echo: boolean): Promise<Recorder> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const rec: Recorder = {
    server: createServer((s) => {
      rec.connections++;
      sockets.add(s);
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        if (echo) s.write(c);
      });
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }),
    port,
    connections: 0,
    received: () => Buffer.concat(chunks).toString('utf8'),
    sockets,
    close: async () => {
      for (const s of sockets) s.resetAndDestroy();
      await new Promise<void>((r) => rec.server.close(() => r()));
    },
  };
  await new Promise<void>((resolve, reject) => {
    rec.server.once('error', reject);
    rec.server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve());
  });
  return rec;
}

export interface Client {
  socket: Socket;
  received(): string;
  closed(): boolean;
  error(): string | undefined;
}

export async function dial(port: number): Promise<Client> {
  const chunks: Buffer[] = [];
  let closed = false;
  let error: string | undefined;
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks).toString('utf8'), closed: () => closed, error: () => error };
}

/** Polls `cond` until it holds or `timeoutMs` passes; returns whether it held. */
export function eventually(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
  return eventuallyHolds(cond, timeoutMs);
}

/**
 * Runs `make(base)` on a block of `span` ports that were free a moment ago (the kit's port finder,
 * random blocks in 27000-32000), or on the bases given. Someone may still take a port before
 * `make` binds it; a listen that fails with EADDRINUSE moves on to another block (bounded).
 */
export async function onFreePorts<T>(spanOrBases: number | readonly number[], make: (base: number) => Promise<T>, attempts = 3): Promise<T> {
  let last: unknown;
  const bases = typeof spanOrBases === 'number' ? Array.from({ length: attempts }, () => undefined) : spanOrBases;
  for (const given of bases) {
    const base = given ?? (await findFreeBlock(spanOrBases as number));
    try {
      return await make(base);
    } catch (err) {
      const e = err as { code?: string; message?: string; cause?: { code?: string } };
      const inUse =
        e.code === 'EADDRINUSE' ||
        e.code === 'ERR_JEPSEN_PROXY_LISTEN' ||
        e.cause?.code === 'EADDRINUSE' ||
        // A child process that could not listen says so in the log tail the error carries.
        (e.code === 'ERR_JEPSEN_NODE_NOT_READY' && (e.message ?? '').includes('EADDRINUSE'));
      if (!inUse) throw err;
      last = err;
    }
  }
  throw last;
}
