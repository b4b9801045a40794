// The remoting client: one lazily opened connection per address (re-opened by the next call after
// it drops), requests matched to responses by opaque, writes coalesced per event-loop turn, and
// timeouts swept by one timer instead of one timer per request. A timeout or a dropped
// connection says whether the outcome is unknown, because for a send it usually is.
//
// Besides the promise API (invoke) there is a callback one for hot paths (request, requestFrame):
// the caller passes a ResponseHandler that hears exactly once, so a send needs no promise of its
// own here, and requestFrame takes a frame the caller encodes itself (the SDK's send header
// template) straight into the connection's write buffer. Frames of one turn are copied into one
// staging buffer and leave in one socket write; a large body goes out as its own buffer instead
// (frame-writer.ts, the writer the server uses too). A connection is client-connection.ts, a
// request in flight pending-request.ts.
//
// Incoming frames go through the protocol's FrameDecoder (binary headers decoded with their
// usual names from a table and strings in one native slice each, see binary-header.ts).
//
// A server may send requests too (NOTIFY_CONSUMER_IDS_CHANGED): they go to the handler
// registered for their code, and one that is not one-way gets the handler's answer, or
// REQUEST_CODE_NOT_SUPPORTED for a code nobody handles, as a Java client answers.
import type tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { assert } from '../common/assert.js';
import { createLogger, type Logger } from '../common/logger.js';
import { signRequest, type AclCredentials } from './acl-signature.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame-codec.js';
import { BINARY_FRAME_HEAD_MIN_BYTES, DEFAULT_MAX_WRITE_BACKLOG_BYTES, type EncodedFrame } from './frame-writer.js';
import { Connection } from './client-connection.js';
import { Pending, PromiseHandler, type ResponseHandler } from './pending-request.js';
import {
  RemotingClosedError,
  RemotingConnectionError,
  RemotingOverloadError,
  RemotingTimeoutError,
} from './protocol-errors.js';
import { FLAG_ONEWAY, isOneway, isResponse, makeResponse, SerializeType, type ExtFields, type RemotingCommand } from './remoting-command.js';
import { ResponseCode } from './response-code.js';

export interface RemotingClientOptions {
  logger?: Logger;
  /** SerializeType.ROCKETMQ makes requests use the binary header (our own servers answer in kind). */
  serializeType?: SerializeType;
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Requests waiting for a response, over all addresses. */
  maxPendingRequests?: number;
  maxWriteBacklogBytes?: number;
  /**
   * The address actually dialled for a logical server address (default: the same). For clients
   * that reach brokers through a port forward or NAT, and for fault tests that route a client's
   * links through proxies. Connections, pending requests and errors keep the logical address.
   */
  dialAddress?: (addr: string) => string;
  /**
   * ACL credentials: every request sent through invoke, request or invokeOneway carries
   * AccessKey and its Signature (acl-signature.ts). Caller-encoded frames (requestFrame) cannot
   * be signed here, so a client with credentials must not use them.
   */
  credentials?: AclCredentials;
  /** Connect with TLS using these options (ca, cert, key...), to the addresses `tlsFor` accepts. */
  tls?: tls.ConnectionOptions;
  /** Which logical addresses TLS is for (default: all); e.g. not the NameServer's. */
  tlsFor?: (addr: string) => boolean;
}

/**
 * Serves a request a server sent us (`addr` is the server's). Returns the response, which is
 * sent unless the request was one-way, or undefined to send nothing. Runs inside the socket's
 * data handler: a throw is caught, logged and answered SYSTEM_ERROR.
 */
export { BINARY_OPAQUE_OFFSET, type EncodedFrame } from './frame-writer.js';
export type { ResponseHandler } from './pending-request.js';

export type ServerRequestHandler = (cmd: RemotingCommand, addr: string) => RemotingCommand | undefined;


const SWEEP_INTERVAL_MS = 10;
const OPAQUE_MAX = 0x7fffffff;
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
  private readonly dialAddress: (addr: string) => string;
  private readonly credentials: AclCredentials | undefined;
  private readonly tlsOptions: tls.ConnectionOptions | undefined;
  private readonly tlsFor: (addr: string) => boolean;
  private readonly maxFrameBytes: number;
  private readonly maxPendingRequests: number;
  private readonly maxWriteBacklogBytes: number;
  private readonly requestHandlers = new Map<number, ServerRequestHandler>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private nextOpaque = 1;
  private closed = false;

  constructor(options: RemotingClientOptions = {}) {
    this.log = options.logger ?? createLogger({ component: 'remoting-client' });
    this.serializeType = options.serializeType ?? SerializeType.JSON;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.dialAddress = options.dialAddress ?? ((addr) => addr);
    this.credentials = options.credentials;
    this.tlsOptions = options.tls;
    this.tlsFor = options.tlsFor ?? (() => true);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxPendingRequests = options.maxPendingRequests ?? 65_536;
    this.maxWriteBacklogBytes = options.maxWriteBacklogBytes ?? DEFAULT_MAX_WRITE_BACKLOG_BYTES;
  }

  /** Serves requests with `code` that servers send to this client (one handler per code). */
  registerRequestHandler(code: number, handler: ServerRequestHandler): void {
    assert(!this.requestHandlers.has(code), `a handler for server request code ${code} is already registered`);
    this.requestHandlers.set(code, handler);
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and resolves with its response; the request's opaque is assigned here. The
   * response's body may be kept without a copy (see ResponseHandler).
   */
  invoke(addr: string, cmd: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    assert(timeoutMs > 0, `timeoutMs must be positive, got ${timeoutMs}`);
    assert(!isResponse(cmd), 'invoke needs a request, got a response');
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    const connection = this.connectionFor(addr);
    return new Promise<RemotingCommand>((resolve, reject) => {
      const err = this.send(connection, cmd, timeoutMs, new PromiseHandler(resolve, reject));
      if (err !== undefined) reject(err);
    });
  }

  /**
   * Like invoke, with a handler instead of a promise. Returns the error when nothing was sent
   * (closed, overloaded, backlog full); otherwise the handler hears the outcome later, once.
   */
  request(addr: string, cmd: RemotingCommand, timeoutMs: number, handler: ResponseHandler): Error | undefined {
    assert(timeoutMs > 0, `timeoutMs must be positive, got ${timeoutMs}`);
    assert(!isResponse(cmd), 'request needs a request, got a response');
    return this.refusal() ?? this.send(this.connectionFor(addr), cmd, timeoutMs, handler);
  }

  /** Like request, for a frame the caller encodes itself (binary header type; see EncodedFrame). */
  requestFrame(addr: string, code: number, frame: EncodedFrame, timeoutMs: number, handler: ResponseHandler): Error | undefined {
    assert(timeoutMs > 0, `timeoutMs must be positive, got ${timeoutMs}`);
    assert(frame.headBytes >= BINARY_FRAME_HEAD_MIN_BYTES, `an encoded frame head has at least ${BINARY_FRAME_HEAD_MIN_BYTES} bytes, got ${frame.headBytes}`);
    assert(this.credentials === undefined, 'a client with ACL credentials cannot send caller-encoded frames (they cannot be signed)');
    const refused = this.refusal();
    if (refused !== undefined) return refused;
    const connection = this.connectionFor(addr);
    const opaque = this.takeOpaque();
    if (!connection.writer.enqueueFrame(frame, opaque)) return new RemotingOverloadError(`write backlog to ${addr} is full; nothing was sent`);
    this.track(opaque, addr, code, timeoutMs, connection, handler);
    return undefined;
  }

  private refusal(): Error | undefined {
    if (this.closed) return new RemotingClosedError();
    if (this.pending.size >= this.maxPendingRequests) {
      return new RemotingOverloadError(`${this.pending.size} requests already wait for a response; nothing was sent`);
    }
    return undefined;
  }

  private send(connection: Connection, cmd: RemotingCommand, timeoutMs: number, handler: ResponseHandler): Error | undefined {
    const opaque = this.takeOpaque();
    cmd.opaque = opaque;
    cmd.flag &= ~FLAG_ONEWAY;
    cmd.serializeType ??= this.serializeType;
    if (this.credentials !== undefined) signRequest(cmd, this.credentials);
    if (!connection.writer.enqueue(cmd)) return new RemotingOverloadError(`write backlog to ${connection.addr} is full; nothing was sent`);
    this.track(opaque, connection.addr, cmd.code, timeoutMs, connection, handler);
    return undefined;
  }

  private track(opaque: number, addr: string, code: number, timeoutMs: number, connection: Connection, handler: ResponseHandler): void {
    this.pending.set(opaque, new Pending(opaque, addr, code, timeoutMs, performance.now() + timeoutMs, connection, handler));
    this.startSweep();
  }

  /** Sends a request with the ONEWAY flag: the server does not answer. Throws if nothing could be queued. */
  invokeOneway(addr: string, cmd: RemotingCommand): void {
    assert(!isResponse(cmd), 'invokeOneway needs a request, got a response');
    if (this.closed) throw new RemotingClosedError();
    const connection = this.connectionFor(addr);
    cmd.opaque = this.takeOpaque();
    cmd.flag |= FLAG_ONEWAY;
    cmd.serializeType ??= this.serializeType;
    if (this.credentials !== undefined) signRequest(cmd, this.credentials);
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
      p.handler.onFailure(err);
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
    const { host, port } = splitAddr(this.dialAddress(addr));
    const conn = new Connection(
      addr,
      host,
      port,
      this.connectTimeoutMs,
      this.maxFrameBytes,
      this.maxWriteBacklogBytes,
      this.tlsOptions !== undefined && this.tlsFor(addr) ? this.tlsOptions : undefined,
      (cmd, c) => this.onCommand(cmd, c),
      (c, cause) => this.onConnectionClose(c, cause),
    );
    this.connections.set(addr, conn);
    return conn;
  }

  private onCommand(cmd: RemotingCommand, conn: Connection): void {
    if (!isResponse(cmd)) {
      this.serveRequest(cmd, conn);
      return;
    }
    const p = this.pending.get(cmd.opaque);
    // A response after its timeout has no one waiting; dropping it is the documented behaviour.
    if (p === undefined || p.connection !== conn) return;
    this.pending.delete(cmd.opaque);
    p.handler.onResponse(cmd);
  }

  private serveRequest(req: RemotingCommand, conn: Connection): void {
    const handler = this.requestHandlers.get(req.code);
    let resp: RemotingCommand | undefined;
    if (handler === undefined) {
      this.log.debug({ addr: conn.addr, code: req.code }, 'a server sent a request this client does not serve');
      resp = makeResponse(req, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, `request type ${req.code} not supported`);
    } else {
      try {
        resp = handler(req, conn.addr);
      } catch (err) {
        this.log.error({ err, addr: conn.addr, code: req.code }, 'server request handler failed');
        resp = makeResponse(req, ResponseCode.SYSTEM_ERROR, `request type ${req.code} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // A full backlog drops the answer: the server times out, as with any lost response.
    if (resp !== undefined && !isOneway(req) && !conn.closed) conn.writer.enqueue(resp);
  }

  private onConnectionClose(conn: Connection, cause: Error | undefined): void {
    if (this.connections.get(conn.addr) === conn) this.connections.delete(conn.addr);
    let failed = 0;
    for (const [opaque, p] of this.pending) {
      if (p.connection !== conn) continue;
      this.pending.delete(opaque);
      failed++;
      const outcome = conn.connected ? 'the outcome is unknown' : 'the request was not sent';
      p.handler.onFailure(
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
    // Over the values: entries() would make an array per pending request every 10 ms.
    for (const p of this.pending.values()) {
      if (p.deadlineMs > nowMs) continue;
      this.pending.delete(p.opaque);
      p.handler.onFailure(new RemotingTimeoutError(p.addr, p.code, p.timeoutMs));
    }
    if (this.pending.size === 0) this.stopSweep();
  }
}
