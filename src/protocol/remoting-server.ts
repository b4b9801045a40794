// The remoting TCP server: one FrameDecoder and one FrameWriter per connection, a handler registry
// by request code, and channel open/close notifications (the broker tracks client channels).
// Handlers may be async and answer much later (pulls are long-polled). A bad frame ends only its
// own connection; an unknown code gets 3 REQUEST_CODE_NOT_SUPPORTED, as Apache answers. The
// server may also send a one-way request to a client (NOTIFY_CONSUMER_IDS_CHANGED), in the header
// type that client speaks: ali-ons reads only JSON.
import net from 'node:net';
import { assert } from '../common/assert.js';
import { isRmqError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from './frame-codec.js';
import { DEFAULT_MAX_WRITE_BACKLOG_BYTES, FrameWriter } from './frame-writer.js';
import { FLAG_ONEWAY, isOneway, isResponse, makeResponse, SerializeType, type RemotingCommand } from './remoting-command.js';
import { ResponseCode } from './response-code.js';

export type HandlerResult = RemotingCommand | undefined;
export type RequestHandler = (req: RemotingCommand, channel: RemotingChannel) => HandlerResult | Promise<HandlerResult>;

export interface RemotingChannel {
  readonly id: number;
  /** "ip:port" of the peer, IPv4-mapped IPv6 prefixes removed. */
  readonly remoteAddress: string;
  readonly closed: boolean;
  /** Requests of this channel whose handler has not finished. */
  readonly inflightRequests: number;
  /** The header type of the last request the peer sent (JSON until it sent one). */
  readonly serializeType: SerializeType;
  /** Queues a frame as it is (a late response); false if the channel is gone or overloaded. */
  send(cmd: RemotingCommand): boolean;
  /**
   * Queues a copy of request `cmd` with the ONEWAY flag, this channel's next opaque and the
   * peer's header type; the peer must not answer. False if the channel is gone or overloaded.
   */
  sendOneway(cmd: RemotingCommand): boolean;
  close(reason: string): void;
}

export interface RemotingServerOptions {
  logger?: Logger;
  maxFrameBytes?: number;
  /** Requests in flight per connection before new ones get SYSTEM_BUSY. */
  maxInflightPerChannel?: number;
  /** Unwritten bytes per connection before the connection is dropped as not reading. */
  maxWriteBacklogBytes?: number;
  /** Connections at once; further ones are closed at accept. */
  maxConnections?: number;
}

export type ChannelListener = (channel: RemotingChannel) => void;

export function normalizeAddress(host: string | undefined, port: number | undefined): string {
  let h = host ?? 'unknown';
  if (h.startsWith('::ffff:')) h = h.slice(7);
  return `${h}:${port ?? 0}`;
}

const OPAQUE_MAX = 0x7fffffff;

class ServerChannel implements RemotingChannel {
  closed = false;
  inflightRequests = 0;
  serializeType: SerializeType = SerializeType.JSON;
  /** Opaque of the next request this side starts; clients tell requests from responses by the flag, so a clash with theirs is harmless. */
  private nextOpaque = 1;
  readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly remoteAddress: string,
    maxFrameBytes: number,
    maxWriteBacklogBytes: number,
    private readonly log: Logger,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.writer = new FrameWriter(socket, maxWriteBacklogBytes);
  }

  send(cmd: RemotingCommand): boolean {
    if (this.closed) return false;
    if (this.writer.enqueue(cmd)) return true;
    this.close(`write backlog over ${this.writer.backlogBytes} bytes: the peer is not reading`);
    return false;
  }

  sendOneway(cmd: RemotingCommand): boolean {
    assert(!isResponse(cmd), 'sendOneway needs a request, got a response');
    const opaque = this.nextOpaque;
    this.nextOpaque = opaque >= OPAQUE_MAX ? 1 : opaque + 1;
    return this.send({ ...cmd, opaque, flag: cmd.flag | FLAG_ONEWAY, serializeType: this.serializeType });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.info({ channelId: this.id, remote: this.remoteAddress, reason }, 'closing connection');
    this.writer.discard();
    this.socket.destroy();
  }
}

export class RemotingServer {
  private readonly log: Logger;
  private readonly handlers = new Map<number, RequestHandler>();
  private readonly channels = new Map<number, ServerChannel>();
  private readonly openListeners: ChannelListener[] = [];
  private readonly closeListeners: ChannelListener[] = [];
  private readonly maxFrameBytes: number;
  private readonly maxInflightPerChannel: number;
  private readonly maxWriteBacklogBytes: number;
  private readonly maxConnections: number;
  private server: net.Server | undefined;
  private nextChannelId = 1;

  constructor(options: RemotingServerOptions = {}) {
    this.log = options.logger ?? createLogger({ component: 'remoting-server' });
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxInflightPerChannel = options.maxInflightPerChannel ?? 10_000;
    this.maxWriteBacklogBytes = options.maxWriteBacklogBytes ?? DEFAULT_MAX_WRITE_BACKLOG_BYTES;
    this.maxConnections = options.maxConnections ?? 10_000;
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

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    assert(this.server === undefined, 'RemotingServer.listen called twice');
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
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
    await closed;
  }

  private accept(socket: net.Socket): void {
    const remoteAddress = normalizeAddress(socket.remoteAddress, socket.remotePort);
    if (this.channels.size >= this.maxConnections) {
      this.log.warn({ remote: remoteAddress, maxConnections: this.maxConnections }, 'refusing connection: too many connections');
      socket.destroy();
      return;
    }
    const id = this.nextChannelId++;
    const channel = new ServerChannel(id, socket, remoteAddress, this.maxFrameBytes, this.maxWriteBacklogBytes, this.log);
    this.channels.set(id, channel);
    const onCommand = (cmd: RemotingCommand): void => this.dispatch(cmd, channel);
    socket.on('data', (chunk: Buffer) => {
      if (channel.closed) return;
      const err = channel.decoder.push(chunk, onCommand);
      if (err !== undefined) {
        this.log.warn({ err, channelId: id, remote: remoteAddress }, 'bad frame');
        channel.close(`bad frame: ${err.message}`);
      }
    });
    socket.on('error', (err) => this.log.debug({ err, channelId: id, remote: remoteAddress }, 'connection error'));
    socket.on('close', () => {
      channel.closed = true;
      channel.decoder.reset();
      this.channels.delete(id);
      for (const listener of this.closeListeners) this.notify(listener, channel);
    });
    for (const listener of this.openListeners) this.notify(listener, channel);
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
      // The server only sends oneway requests to clients; a reply to one has no one waiting.
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
