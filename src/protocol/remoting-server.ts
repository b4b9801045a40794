// The remoting TCP server: one FrameDecoder and one FrameWriter per connection, a handler registry
// by request code, and channel open/close notifications (the broker tracks client channels).
// Handlers may be async and answer much later (pulls are long-polled). A bad frame ends only its
// own connection; an unknown code gets 3 REQUEST_CODE_NOT_SUPPORTED, as Apache answers. The
// server may also send a one-way request to a client (NOTIFY_CONSUMER_IDS_CHANGED), in the header
// type that client speaks: ali-ons reads only JSON. The bounds of connection-limits.ts hold
// under hostile clients: silent connections and slow frames are closed, connections per address
// and in all are capped, partly received frames share one byte budget, and a connection that does
// not read its answers stops being read (its requests wait) until its backlog drains.
import net from 'node:net';
import tls from 'node:tls';
import { assert } from '../common/assert.js';
import { isRmqError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { ConnectionGate, DEFAULT_CONNECTION_LIMITS, hostOf, InboundBudget, type ConnectionLimits } from './connection-limits.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame-codec.js';
import { isOneway, isResponse, makeResponse, SerializeType, type RemotingCommand } from './remoting-command.js';
import { ResponseCode } from './response-code.js';
import { serverHandshake } from './tls-handshake.js';

export type HandlerResult = RemotingCommand | undefined;
export type RequestHandler = (req: RemotingCommand, channel: RemotingChannel) => HandlerResult | Promise<HandlerResult>;

export { normalizeAddress, ServerChannel, type ChannelListener, type RemotingChannel } from './server-channel.js';
import { normalizeAddress, ServerChannel, type ChannelListener, type RemotingChannel } from './server-channel.js';

export interface RemotingServerOptions extends Partial<ConnectionLimits> {
  logger?: Logger;
  maxFrameBytes?: number;
  /** Requests in flight per connection before new ones get SYSTEM_BUSY. */
  maxInflightPerChannel?: number;
  /** Serve TLS with these options (certificate, key; no client certificates) instead of plain TCP. */
  tls?: tls.TlsOptions;
}

export class RemotingServer {
  private readonly log: Logger;
  private readonly handlers = new Map<number, RequestHandler>();
  private readonly channels = new Map<number, ServerChannel>();
  private readonly openListeners: ChannelListener[] = [];
  private readonly closeListeners: ChannelListener[] = [];
  private readonly maxFrameBytes: number;
  private readonly maxInflightPerChannel: number;
  private readonly limits: ConnectionLimits;
  private readonly gate: ConnectionGate;
  private readonly budget: InboundBudget;
  private server: net.Server | undefined;
  private nextChannelId = 1;

  private readonly secureContext: tls.SecureContext | undefined;
  /** TLS handshakes that failed or did not end in time. */
  tlsHandshakeFailures = 0;
  /** Connections still in their TLS handshake (closed with the server). */
  private readonly handshaking = new Set<tls.TLSSocket>();

  constructor(options: RemotingServerOptions = {}) {
    this.log = options.logger ?? createLogger({ component: 'remoting-server' });
    assert(options.tls?.requestCert !== true, 'client certificates are not supported on a remoting port (tls-handshake.ts)');
    // Made once: a bad certificate or key fails here, at start, rather than at the first client.
    this.secureContext = options.tls === undefined ? undefined : tls.createSecureContext(options.tls);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxInflightPerChannel = options.maxInflightPerChannel ?? 10_000;
    const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS };
    for (const key of Object.keys(limits) as (keyof ConnectionLimits)[]) {
      const v = options[key];
      if (v !== undefined) {
        assert(Number.isInteger(v) && v > 0, `${key} must be a positive integer, got ${v}`);
        limits[key] = v;
      }
    }
    assert(limits.writeBacklogPauseBytes <= limits.maxWriteBacklogBytes, 'writeBacklogPauseBytes must not exceed maxWriteBacklogBytes');
    this.limits = limits;
    this.budget = new InboundBudget(limits.inboundFrameBudgetBytes);
    this.gate = new ConnectionGate(limits);
  }

  registerHandler(code: number, handler: RequestHandler): void {
    assert(!this.handlers.has(code), `a handler for request code ${code} is already registered`);
    this.handlers.set(code, handler);
  }

  onChannelOpen(listener: ChannelListener): void {
    this.openListeners.push(listener);
  }

  onChannelClose(listener: ChannelListener): void {
    this.closeListeners.push(listener);
  }

  get connectionCount(): number {
    return this.channels.size;
  }

  /** TCP connections held now, those still in their TLS handshake included. */
  get admittedConnections(): number {
    return this.gate.count;
  }

  /** Inbound budget bytes reserved by partly received frames right now. */
  get inboundReservedBytes(): number {
    return this.budget.reservedBytes;
  }

  /** Connections whose reading is paused because they do not read their answers. */
  get readPausedCount(): number {
    let n = 0;
    for (const c of this.channels.values()) if (c.readPaused) n++;
    return n;
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    assert(this.server === undefined, 'RemotingServer.listen called twice');
    // The connection caps apply when the TCP connection arrives, before any TLS handshake, so a
    // flood of handshakes (or of silent sockets on a TLS port) is bounded like plain connections.
    const server = net.createServer({ noDelay: true }, (socket) => {
      const release = this.admit(socket);
      if (release === undefined) return;
      if (this.secureContext === undefined) this.accept(socket, release);
      else this.handshake(socket, this.secureContext, release);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = undefined;
        reject(err);
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log.error({ err }, 'server socket error'));
        const addr = server.address();
        assert(addr !== null && typeof addr === 'object', 'a TCP server has an address object');
        this.log.info({ host, port: addr.port }, 'remoting server listening');
        resolve({ host, port: addr.port });
      });
    });
  }

  /** Stops accepting, closes every connection, and resolves when the listener is closed. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const channel of [...this.channels.values()]) channel.close('server shutting down');
    for (const socket of [...this.handshaking]) socket.destroy();
    await closed;
  }

  /** Counts a new TCP connection against the caps; its release, or undefined when refused (and closed). */
  private admit(socket: net.Socket): (() => void) | undefined {
    const remote = normalizeAddress(socket.remoteAddress, socket.remotePort);
    const release = this.gate.admit(hostOf(remote));
    if (typeof release === 'string') {
      const l = this.limits;
      this.log.warn({ remote, maxConnections: l.maxConnections, maxConnectionsPerAddress: l.maxConnectionsPerAddress }, `refusing connection: ${release}`);
      socket.destroy();
      return undefined;
    }
    socket.once('close', release);
    return release;
  }

  /**
   * Runs the TLS handshake of an admitted connection, which must end within frameReadTimeoutMs
   * (the handshake is the first thing such a connection must send); a failed or late handshake
   * closes only that connection, is logged and counted.
   */
  private handshake(raw: net.Socket, secureContext: tls.SecureContext, release: () => void): void {
    const remote = normalizeAddress(raw.remoteAddress, raw.remotePort);
    const socket = serverHandshake(raw, { secureContext, timeoutMs: this.limits.frameReadTimeoutMs }, {
      secure: (s) => {
        this.handshaking.delete(s);
        this.accept(s, release);
      },
      failed: (err) => {
        this.tlsHandshakeFailures++;
        this.log.warn({ remote, err: err.message }, 'TLS handshake failed; connection closed');
      },
      // The TLS socket owns the connection from here: its close is the connection's close.
      closed: () => {
        this.handshaking.delete(socket);
        release();
      },
    });
    this.handshaking.add(socket);
  }

  private accept(socket: net.Socket, release: () => void): void {
    const remoteAddress = normalizeAddress(socket.remoteAddress, socket.remotePort);
    const l = this.limits;
    const id = this.nextChannelId++;
    const channel: ServerChannel = new ServerChannel(id, socket, remoteAddress, this.maxFrameBytes, l.maxWriteBacklogBytes, this.log, () => this.maybeResume(channel));
    this.channels.set(id, channel);
    const onCommand = (cmd: RemotingCommand): void => {
      if (channel.readPaused) channel.waiting.push(cmd);
      else this.dispatch(cmd, channel);
    };
    // Node re-arms the timer on every read or write. A connection with a request still being
    // answered (a held pull) is busy, not idle; one with unwritten answers that took none of
    // them for the whole period is not reading, and goes.
    socket.setTimeout(l.idleTimeoutMs, () => {
      if (channel.writer.backlogBytes > 0) channel.close(`not reading its answers for ${l.idleTimeoutMs} ms (${channel.writer.backlogBytes} bytes unwritten)`);
      else if (channel.inflightRequests > 0) socket.setTimeout(l.idleTimeoutMs);
      else channel.close(`idle for ${l.idleTimeoutMs} ms`);
    });
    socket.on('data', (chunk: Buffer) => {
      if (channel.closed) return;
      const before = channel.decoder.decodedFrames;
      const err = channel.decoder.push(chunk, onCommand);
      if (err !== undefined) {
        this.log.warn({ err, channelId: id, remote: remoteAddress }, 'bad frame');
        channel.close(`bad frame: ${err.message}`);
        return;
      }
      if (!channel.closed) this.trackPartialFrame(channel, channel.decoder.decodedFrames !== before);
    });
    socket.on('drain', () => this.maybeResume(channel));
    socket.on('error', (err) => this.log.debug({ err, channelId: id, remote: remoteAddress }, 'connection error'));
    socket.on('close', () => {
      channel.closed = true;
      channel.waiting.length = 0;
      channel.decoder.reset();
      clearTimeout(channel.frameTimer);
      this.budget.update(channel.reservedBytes, 0);
      channel.reservedBytes = 0;
      this.channels.delete(id);
      release();
      for (const listener of this.closeListeners) this.notify(listener, channel);
    });
    for (const listener of this.openListeners) this.notify(listener, channel);
  }

  /**
   * After a chunk: reserves the announced size of a partly received frame in the inbound budget
   * (closing the connection if the budget is spent) and keeps the frame deadline running while a
   * frame is incomplete. A frame that completed restarts the deadline for the next one.
   */
  private trackPartialFrame(channel: ServerChannel, progressed: boolean): void {
    const wanted = channel.decoder.partialFrameBytes;
    if (!this.budget.update(channel.reservedBytes, wanted)) {
      this.log.warn({ channelId: channel.id, remote: channel.remoteAddress, frameBytes: wanted, reservedBytes: this.budget.reservedBytes, budgetBytes: this.budget.budgetBytes },
        'refusing frame: inbound frame budget spent');
      channel.close(`frame of ${wanted} bytes refused: ${this.budget.reservedBytes} of ${this.budget.budgetBytes} inbound frame budget bytes in use`);
      return;
    }
    channel.reservedBytes = wanted;
    if (wanted === 0 || progressed) {
      clearTimeout(channel.frameTimer);
      channel.frameTimer = undefined;
    }
    if (wanted > 0 && channel.frameTimer === undefined) this.armFrameTimer(channel);
  }

  private armFrameTimer(channel: ServerChannel): void {
    const timeoutMs = this.limits.frameReadTimeoutMs;
    channel.frameTimer = setTimeout(() => {
      // While this side does not read (backpressure), the frame cannot complete: not the peer's fault.
      if (channel.readPaused) this.armFrameTimer(channel);
      else channel.close(`frame not complete within ${timeoutMs} ms`);
    }, timeoutMs);
    channel.frameTimer.unref();
  }

  /** Stops reading a connection whose unwritten answers passed the pause mark. */
  private maybePause(channel: ServerChannel): void {
    if (channel.readPaused || channel.closed || channel.writer.backlogBytes <= this.limits.writeBacklogPauseBytes) return;
    channel.readPaused = true;
    channel.socket.pause();
    this.log.debug({ channelId: channel.id, remote: channel.remoteAddress, backlogBytes: channel.writer.backlogBytes }, 'pausing reads: peer not reading its answers');
  }

  /** Resumes a paused connection once its backlog drained, dispatching the requests that waited. */
  private maybeResume(channel: ServerChannel): void {
    if (!channel.readPaused || channel.closed || channel.writer.backlogBytes > this.limits.writeBacklogPauseBytes) return;
    channel.readPaused = false;
    // Bounded: each round dispatches one waiting request or stops because the channel paused again.
    while (channel.waiting.length > 0 && !channel.readPaused && !channel.closed) this.dispatch(channel.waiting.shift()!, channel);
    if (!channel.readPaused && !channel.closed) channel.socket.resume();
  }

  private notify(listener: ChannelListener, channel: RemotingChannel): void {
    try {
      listener(channel);
    } catch (err) {
      this.log.error({ err, channelId: channel.id }, 'channel listener threw');
    }
  }

  private dispatch(req: RemotingCommand, channel: ServerChannel): void {
    // A handler earlier in the same chunk may have closed the channel; the rest is moot.
    if (channel.closed) return;
    if (isResponse(req)) {
      if (channel.settleAnswer(req.opaque, req)) return;
      // A reply to a one-way request, or one that came after its timeout: no one waits for it.
      this.log.debug({ channelId: channel.id, opaque: req.opaque, code: req.code }, 'dropping response from client');
      return;
    }
    // Requests this server starts go out in the header type the peer last spoke.
    channel.serializeType = req.serializeType ?? SerializeType.JSON;
    const handler = this.handlers.get(req.code);
    if (handler === undefined) {
      this.reply(req, channel, makeResponse(req, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, `request type ${req.code} not supported`));
      return;
    }
    if (channel.inflightRequests >= this.maxInflightPerChannel) {
      this.reply(req, channel, makeResponse(req, ResponseCode.SYSTEM_BUSY, `too many requests in flight on this connection (${this.maxInflightPerChannel}); retry later`));
      return;
    }
    channel.inflightRequests++;
    let result: HandlerResult | Promise<HandlerResult>;
    try {
      result = handler(req, channel);
    } catch (err) {
      this.finish(req, channel, this.errorResponse(req, err));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (resp) => this.finish(req, channel, resp),
        (err: unknown) => this.finish(req, channel, this.errorResponse(req, err)),
      );
    } else {
      this.finish(req, channel, result);
    }
  }

  private finish(req: RemotingCommand, channel: ServerChannel, resp: HandlerResult): void {
    channel.inflightRequests--;
    if (resp !== undefined) this.reply(req, channel, resp);
  }

  private reply(req: RemotingCommand, channel: ServerChannel, resp: RemotingCommand): void {
    if (isOneway(req) || channel.closed) return;
    channel.send(resp);
    this.maybePause(channel);
  }

  private errorResponse(req: RemotingCommand, err: unknown): RemotingCommand {
    if (isRmqError(err) && err.responseCode !== undefined) {
      this.log.debug({ err, code: req.code }, 'request refused');
      return makeResponse(req, err.responseCode, err.message);
    }
    this.log.error({ err, code: req.code }, 'request handler failed');
    const message = err instanceof Error ? err.message : String(err);
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `request type ${req.code} failed: ${message}`);
  }
}

/** The response code a handler's thrown error is answered with (as errorResponse does): its own, else SYSTEM_ERROR. */
export function responseCodeOfError(err: unknown): number {
  return isRmqError(err) && err.responseCode !== undefined ? err.responseCode : ResponseCode.SYSTEM_ERROR;
}
