// The remoting client: one lazily opened connection per address (re-opened by the next call after
// it drops), requests matched to responses by opaque, writes coalesced per event-loop turn, and
// timeouts swept by one timer instead of one timer per request. A timeout or a dropped
// connection says whether the outcome is unknown, because for a send it usually is.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { assert } from '../common/assert.js';
import { createLogger, type Logger } from '../common/logger.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from './frame-codec.js';
import { DEFAULT_MAX_WRITE_BACKLOG_BYTES, FrameWriter } from './frame-writer.js';
import {
  RemotingClosedError,
  RemotingConnectionError,
  RemotingOverloadError,
  RemotingTimeoutError,
} from './protocol-errors.js';
import { FLAG_ONEWAY, isResponse, SerializeType, type RemotingCommand } from './remoting-command.js';

export interface RemotingClientOptions {
  logger?: Logger;
  /** SerializeType.ROCKETMQ makes requests use the binary header (our own servers answer in kind). */
  serializeType?: SerializeType;
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Requests waiting for a response, over all addresses. */
  maxPendingRequests?: number;
  maxWriteBacklogBytes?: number;
  /** Requests the server sends to us (e.g. NOTIFY_CONSUMER_IDS_CHANGED); never answered automatically. */
  onRequest?: (cmd: RemotingCommand, addr: string) => void;
}

interface Pending {
  readonly addr: string;
  readonly code: number;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly connection: Connection;
  resolve(cmd: RemotingCommand): void;
  reject(err: Error): void;
}

const SWEEP_INTERVAL_MS = 10;
const OPAQUE_MAX = 0x7fffffff;

class Connection {
  connected = false;
  closed = false;
  readonly socket: net.Socket;
  readonly decoder: FrameDecoder;
  readonly writer: FrameWriter;
  private readonly connectTimer: NodeJS.Timeout;

  constructor(
    readonly addr: string,
    host: string,
    port: number,
    connectTimeoutMs: number,
    maxFrameBytes: number,
    maxWriteBacklogBytes: number,
    onCommand: (cmd: RemotingCommand, conn: Connection) => void,
    onClose: (conn: Connection, cause: Error | undefined) => void,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.socket = net.connect({ host, port, noDelay: true });
    this.writer = new FrameWriter(this.socket, maxWriteBacklogBytes);
    let cause: Error | undefined;
    this.connectTimer = setTimeout(() => {
      this.socket.destroy(new Error(`connect to ${addr} timed out after ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    this.connectTimer.unref();
    const handle = (cmd: RemotingCommand): void => onCommand(cmd, this);
    this.socket.on('connect', () => {
      this.connected = true;
      clearTimeout(this.connectTimer);
    });
    this.socket.on('data', (chunk: Buffer) => {
      const err = this.decoder.push(chunk, handle);
      if (err !== undefined) this.socket.destroy(err);
    });
    this.socket.on('error', (err) => {
      cause = err;
    });
    this.socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.connectTimer);
      this.writer.discard();
      this.decoder.reset();
      onClose(this, cause);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const port = Number(addr.slice(i + 1));
  assert(i > 0 && Number.isInteger(port) && port > 0 && port < 65536, `address must be host:port, got '${addr}'`);
  return { host: addr.slice(0, i), port };
}

export class RemotingClient {
  private readonly log: Logger;
  private readonly connections = new Map<string, Connection>();
  private readonly pending = new Map<number, Pending>();
  private readonly serializeType: SerializeType;
  private readonly connectTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly maxPendingRequests: number;
  private readonly maxWriteBacklogBytes: number;
  private readonly onRequest: ((cmd: RemotingCommand, addr: string) => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private nextOpaque = 1;
  private closed = false;

  constructor(options: RemotingClientOptions = {}) {
    this.log = options.logger ?? createLogger({ component: 'remoting-client' });
    this.serializeType = options.serializeType ?? SerializeType.JSON;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxPendingRequests = options.maxPendingRequests ?? 65_536;
    this.maxWriteBacklogBytes = options.maxWriteBacklogBytes ?? DEFAULT_MAX_WRITE_BACKLOG_BYTES;
    this.onRequest = options.onRequest;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /** Sends a request and resolves with its response; the request's opaque is assigned here. */
  invoke(addr: string, cmd: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    assert(timeoutMs > 0, `timeoutMs must be positive, got ${timeoutMs}`);
    assert(!isResponse(cmd), 'invoke needs a request, got a response');
    if (this.closed) return Promise.reject(new RemotingClosedError());
    if (this.pending.size >= this.maxPendingRequests) {
      return Promise.reject(new RemotingOverloadError(`${this.pending.size} requests already wait for a response; nothing was sent`));
    }
    const connection = this.connectionFor(addr);
    const opaque = this.takeOpaque();
    cmd.opaque = opaque;
    cmd.flag &= ~FLAG_ONEWAY;
    cmd.serializeType ??= this.serializeType;
    return new Promise<RemotingCommand>((resolve, reject) => {
      if (!connection.writer.enqueue(cmd)) {
        reject(new RemotingOverloadError(`write backlog to ${addr} is full; nothing was sent`));
        return;
      }
      this.pending.set(opaque, { addr, code: cmd.code, timeoutMs, deadlineMs: performance.now() + timeoutMs, connection, resolve, reject });
      this.startSweep();
    });
  }

  /** Sends a request with the ONEWAY flag: the server does not answer. Throws if nothing could be queued. */
  invokeOneway(addr: string, cmd: RemotingCommand): void {
    assert(!isResponse(cmd), 'invokeOneway needs a request, got a response');
    if (this.closed) throw new RemotingClosedError();
    const connection = this.connectionFor(addr);
    cmd.opaque = this.takeOpaque();
    cmd.flag |= FLAG_ONEWAY;
    cmd.serializeType ??= this.serializeType;
    if (!connection.writer.enqueue(cmd)) throw new RemotingOverloadError(`write backlog to ${addr} is full; nothing was sent`);
  }

  /** Closes every connection; pending requests fail with RemotingClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSweep();
    const err = new RemotingClosedError('remoting client closed while the request was pending; the outcome is unknown');
    for (const [opaque, p] of this.pending) {
      this.pending.delete(opaque);
      p.reject(err);
    }
    const waits: Promise<void>[] = [];
    for (const conn of this.connections.values()) {
      if (!conn.closed) waits.push(new Promise((resolve) => conn.socket.once('close', () => resolve())));
      conn.destroy();
    }
    this.connections.clear();
    await Promise.all(waits);
  }

  /** Drops the connection to addr (the next call reconnects); its pending requests fail. */
  closeConnection(addr: string): void {
    this.connections.get(addr)?.destroy();
  }

  private takeOpaque(): number {
    const opaque = this.nextOpaque;
    this.nextOpaque = opaque >= OPAQUE_MAX ? 1 : opaque + 1;
    return opaque;
  }

  private connectionFor(addr: string): Connection {
    const existing = this.connections.get(addr);
    // A socket destroyed in this turn has not emitted 'close' yet; it cannot take writes either.
    if (existing !== undefined && !existing.closed && !existing.socket.destroyed) return existing;
    const { host, port } = splitAddr(addr);
    const conn = new Connection(
      addr,
      host,
      port,
      this.connectTimeoutMs,
      this.maxFrameBytes,
      this.maxWriteBacklogBytes,
      (cmd, c) => this.onCommand(cmd, c),
      (c, cause) => this.onConnectionClose(c, cause),
    );
    this.connections.set(addr, conn);
    return conn;
  }

  private onCommand(cmd: RemotingCommand, conn: Connection): void {
    if (!isResponse(cmd)) {
      if (this.onRequest !== undefined) this.onRequest(cmd, conn.addr);
      return;
    }
    const p = this.pending.get(cmd.opaque);
    // A response after its timeout has no one waiting; dropping it is the documented behaviour.
    if (p === undefined || p.connection !== conn) return;
    this.pending.delete(cmd.opaque);
    p.resolve(cmd);
  }

  private onConnectionClose(conn: Connection, cause: Error | undefined): void {
    if (this.connections.get(conn.addr) === conn) this.connections.delete(conn.addr);
    let failed = 0;
    for (const [opaque, p] of this.pending) {
      if (p.connection !== conn) continue;
      this.pending.delete(opaque);
      failed++;
      const outcome = conn.connected ? 'the outcome is unknown' : 'the request was not sent';
      p.reject(
        new RemotingConnectionError(
          conn.addr,
          conn.connected,
          `connection to ${conn.addr} ${conn.connected ? 'closed' : 'failed'}${cause ? ` (${cause.message})` : ''}; ${outcome}`,
          { cause },
        ),
      );
    }
    if (!this.closed) this.log.debug({ addr: conn.addr, err: cause, failedRequests: failed }, 'connection closed');
    if (this.pending.size === 0) this.stopSweep();
  }

  private startSweep(): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    if (this.sweepTimer === undefined) return;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private sweep(): void {
    const nowMs = performance.now();
    for (const [opaque, p] of this.pending) {
      if (p.deadlineMs > nowMs) continue;
      this.pending.delete(opaque);
      p.reject(new RemotingTimeoutError(p.addr, p.code, p.timeoutMs));
    }
    if (this.pending.size === 0) this.stopSweep();
  }
}
