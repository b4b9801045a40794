// The remoting client: one lazily opened connection per address (re-opened by the next call after
// it drops), requests matched to responses by opaque, writes coalesced per event-loop turn, and
// timeouts swept by one timer instead of one timer per request. A timeout or a dropped
// connection says whether the outcome is unknown, because for a send it usually is.
//
// Besides the promise API (invoke) there is a callback one for hot paths (request, requestFrame):
// the caller passes a ResponseHandler that hears exactly once, so a send needs no promise of its
// own here, and requestFrame takes a frame the caller encodes itself (the SDK's send header
// template) straight into the connection's write buffer. Frames of one turn are copied into one
// staging buffer and leave in one socket write; a large body goes out as its own buffer instead.
//
// Incoming frames go through the protocol's FrameDecoder (binary headers decoded with their
// usual names from a table and strings in one native slice each, see binary-header.ts).
//
// A server may send requests too (NOTIFY_CONSUMER_IDS_CHANGED): they go to the handler
// registered for their code, and one that is not one-way gets the handler's answer, or
// REQUEST_CODE_NOT_SUPPORTED for a code nobody handles, as a Java client answers.
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { assert } from '../common/assert.js';
import { createLogger, type Logger } from '../common/logger.js';
import { signRequest, type AclCredentials } from './acl-signature.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrameHead, FrameDecoder } from './frame-codec.js';
import { DEFAULT_MAX_WRITE_BACKLOG_BYTES } from './frame-writer.js';
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
export type ServerRequestHandler = (cmd: RemotingCommand, addr: string) => RemotingCommand | undefined;

/**
 * Hears the outcome of one request made with request() or requestFrame(): exactly one call, after
 * the request was queued (never from inside request itself). Neither method may throw: they run
 * inside the socket's data handler and the timeout sweep.
 */
export interface ResponseHandler {
  /**
   * A response's body (like invoke's) is a view of memory this client never writes again — a
   * socket chunk or a reassembly of chunks — so it may be kept without a copy.
   */
  onResponse(cmd: RemotingCommand): void;
  onFailure(err: Error): void;
}

/**
 * A request frame its caller encodes (binary header type only): `writeHead` writes `headBytes`
 * bytes at out[pos] — frame length, header word, header — with `opaque` at BINARY_OPAQUE_OFFSET
 * and flag 0, and the client sends `body` after them. The frame length must count the body.
 */
export interface EncodedFrame {
  readonly headBytes: number;
  readonly body: Buffer | undefined;
  writeHead(out: Buffer, pos: number, opaque: number): void;
}

/** Where the opaque sits in a binary-header frame: length 4, header word 4, code 2, language 1, version 2. */
export const BINARY_OPAQUE_OFFSET = 13;
/** The smallest binary-header frame head: length, header word, and the 21 fixed header bytes. */
const BINARY_FRAME_HEAD_MIN_BYTES = 8 + 21;

class Pending {
  constructor(
    readonly opaque: number,
    readonly addr: string,
    readonly code: number,
    readonly timeoutMs: number,
    readonly deadlineMs: number,
    readonly connection: Connection,
    readonly handler: ResponseHandler,
  ) {}
}

/** Adapts a promise's settle functions to a ResponseHandler (the invoke API). */
class PromiseHandler implements ResponseHandler {
  constructor(
    private readonly resolve: (cmd: RemotingCommand) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  onResponse(cmd: RemotingCommand): void {
    this.resolve(cmd);
  }

  onFailure(err: Error): void {
    this.reject(err);
  }
}

const SWEEP_INTERVAL_MS = 10;
const OPAQUE_MAX = 0x7fffffff;
/** Size of a staging buffer; a turn that fills one continues in a new one. */
const STAGE_BYTES = 1024 * 1024;
/** Bodies up to this size are copied into the staging buffer; larger ones are written as they are. */
const STAGE_BODY_MAX_BYTES = 16 * 1024;

/** Full staging buffers kept for reuse per connection (each STAGE_BYTES). */
const SPARE_STAGES_MAX = 2;

/**
 * A staging buffer and how many of its parts are queued or being written. One that is full and
 * has none left is reused: its bytes are no longer anyone's, and reusing it saves an allocation
 * and the page faults of fresh memory (a few per cent of a busy producer's CPU).
 */
class Stage {
  /** Parts of this buffer queued in `parts` or handed to the socket and not yet written. */
  parts = 0;
  full = false;
  readonly onWritten = (): void => {
    this.parts--;
    if (this.full && this.parts === 0) this.release(this);
  };

  constructor(
    readonly buf: Buffer,
    private readonly release: (stage: Stage) => void,
  ) {}
}

/**
 * Per-connection write coalescing (the FrameWriter's job, plus caller-encoded frames): everything
 * queued in one callback and its promise reactions leaves once they are done (process.nextTick)
 * in one socket write (one writev when large bodies are among it). Small frames are copied into
 * a staging buffer that later turns keep filling after the bytes already handed to the socket,
 * which are never written again until the whole buffer is full and every write of it has
 * completed.
 */
class ConnectionWriter {
  /** Buffers to write in order; the staged bytes not yet sealed come after them. */
  private parts: Buffer[] = [];
  /** The stage each part was cut from (undefined for a large body written as it is). */
  private partStages: (Stage | undefined)[] = [];
  private queuedBytes = 0;
  private stage: Stage;
  private stageStart = 0;
  private stagePos = 0;
  private readonly spare: Stage[] = [];
  private scheduled = false;
  private discarded = false;
  private readonly flushBound = (): void => this.flush();
  private readonly releaseBound = (stage: Stage): void => this.release(stage);

  constructor(
    private readonly socket: net.Socket,
    private readonly maxBacklogBytes: number,
  ) {
    this.stage = new Stage(Buffer.alloc(0), this.releaseBound);
  }

  /** Bytes queued here plus bytes the socket has not written yet. */
  get backlogBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Queues a command; false (nothing queued) when the socket is gone or the backlog is over its bound. */
  enqueue(cmd: RemotingCommand): boolean {
    if (this.socket.destroyed) return false;
    const head = encodeFrameHead(cmd);
    const body = cmd.body;
    const bodyBytes = body?.length ?? 0;
    if (this.backlogBytes + head.length + bodyBytes > this.maxBacklogBytes) return false;
    const pos = this.reserve(head.length);
    this.stage.buf.set(head, pos);
    this.stagePos = pos + head.length;
    this.queuedBytes += head.length;
    if (body !== undefined && bodyBytes > 0) this.appendBody(body);
    this.schedule();
    return true;
  }

  /** Queues a caller-encoded frame (see EncodedFrame); false as for enqueue. */
  enqueueFrame(frame: EncodedFrame, opaque: number): boolean {
    if (this.socket.destroyed) return false;
    const headBytes = frame.headBytes;
    const body = frame.body;
    const bodyBytes = body?.length ?? 0;
    if (this.backlogBytes + headBytes + bodyBytes > this.maxBacklogBytes) return false;
    const pos = this.reserve(headBytes);
    const out = this.stage.buf;
    frame.writeHead(out, pos, opaque);
    assert(out.readUInt32BE(pos) === headBytes - 4 + bodyBytes && out.readInt32BE(pos + BINARY_OPAQUE_OFFSET) === opaque, 'an encoded frame must state its length with the body and carry its opaque');
    this.stagePos = pos + headBytes;
    this.queuedBytes += headBytes;
    if (body !== undefined && bodyBytes > 0) this.appendBody(body);
    this.schedule();
    return true;
  }

  /** Writes everything queued: one socket write, or one corked series when several buffers. */
  flush(): void {
    this.scheduled = false;
    this.seal();
    if (this.parts.length === 0) return;
    const parts = this.parts;
    const stages = this.partStages;
    this.parts = [];
    this.partStages = [];
    this.queuedBytes = 0;
    // A destroyed socket writes nothing: its stages are not reused (discard() follows on close).
    if (this.socket.destroyed) return;
    const several = parts.length > 1;
    if (several) this.socket.cork();
    for (let i = 0; i < parts.length; i++) {
      const stage = stages[i];
      if (stage === undefined) this.socket.write(parts[i]!);
      else this.socket.write(parts[i]!, stage.onWritten);
    }
    if (several) this.socket.uncork();
  }

  /** Forgets queued frames and reuses no stage any more (the connection is gone). */
  discard(): void {
    this.discarded = true;
    this.parts = [];
    this.partStages = [];
    this.queuedBytes = 0;
    this.stageStart = this.stagePos;
    this.spare.length = 0;
  }

  private appendBody(body: Buffer): void {
    if (body.length <= STAGE_BODY_MAX_BYTES) {
      const pos = this.reserve(body.length);
      this.stage.buf.set(body, pos);
      this.stagePos = pos + body.length;
    } else {
      this.seal();
      this.parts.push(body);
      this.partStages.push(undefined);
    }
    this.queuedBytes += body.length;
  }

  /** A position in the staging buffer with `bytes` free after it (another buffer when it lacks them). */
  private reserve(bytes: number): number {
    if (this.stage.buf.length - this.stagePos < bytes) {
      this.seal();
      const old = this.stage;
      old.full = true;
      if (old.parts === 0) this.release(old);
      const reused = bytes <= STAGE_BYTES ? this.spare.pop() : undefined;
      this.stage = reused ?? new Stage(Buffer.allocUnsafeSlow(Math.max(STAGE_BYTES, bytes)), this.releaseBound);
      this.stageStart = 0;
      this.stagePos = 0;
    }
    return this.stagePos;
  }

  /** Moves the staged bytes into `parts`, so what is queued next comes after them. */
  private seal(): void {
    if (this.stagePos === this.stageStart) return;
    this.parts.push(this.stage.buf.subarray(this.stageStart, this.stagePos));
    this.partStages.push(this.stage);
    this.stage.parts++;
    this.stageStart = this.stagePos;
  }

  /** A full stage none of whose bytes is queued or being written any more. */
  private release(stage: Stage): void {
    if (this.discarded || stage.buf.length !== STAGE_BYTES || this.spare.length >= SPARE_STAGES_MAX || stage === this.stage) return;
    stage.full = false;
    this.spare.push(stage);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flushBound);
  }
}

class Connection {
  connected = false;
  closed = false;
  readonly socket: net.Socket;
  readonly decoder: FrameDecoder;
  readonly writer: ConnectionWriter;
  private readonly connectTimer: NodeJS.Timeout;

  constructor(
    readonly addr: string,
    host: string,
    port: number,
    connectTimeoutMs: number,
    maxFrameBytes: number,
    maxWriteBacklogBytes: number,
    tlsOptions: tls.ConnectionOptions | undefined,
    onCommand: (cmd: RemotingCommand, conn: Connection) => void,
    onClose: (conn: Connection, cause: Error | undefined) => void,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    // Writes made before the TLS handshake ends are buffered by the TLS socket.
    this.socket = tlsOptions === undefined ? net.connect({ host, port, noDelay: true }) : tls.connect({ ...tlsOptions, host, port });
    this.socket.setNoDelay(true);
    this.writer = new ConnectionWriter(this.socket, maxWriteBacklogBytes);
    let cause: Error | undefined;
    this.connectTimer = setTimeout(() => {
      this.socket.destroy(new Error(`connect to ${addr} timed out after ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    this.connectTimer.unref();
    const handle = (cmd: RemotingCommand): void => onCommand(cmd, this);
    this.socket.on(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
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
