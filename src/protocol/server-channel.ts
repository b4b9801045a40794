// One client connection of the remoting server: its frame decoder and writer, the requests this
// side started towards the client (invoke, by opaque), and the flow-control state the server
// drives (partial-frame timer, paused reads). The server (remoting-server.ts) owns the policy.
import type net from 'node:net';
import { assert } from '../common/assert.js';
import type { Logger } from '../common/logger.js';
import { FrameDecoder } from './frame-codec.js';
import { FrameWriter } from './frame-writer.js';
import { FLAG_ONEWAY, isResponse, SerializeType, type RemotingCommand } from './remoting-command.js';
import { RemotingConnectionError, RemotingTimeoutError } from './protocol-errors.js';

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
  /**
   * Sends request `cmd` to the client (this channel's next opaque, the peer's header type) and
   * resolves with its answer; rejects with RemotingTimeoutError after `timeoutMs`, or
   * RemotingConnectionError when the channel is gone or closes first (GET_CONSUMER_RUNNING_INFO).
   * Absent on channels that cannot carry a request to the client (gRPC streams).
   */
  invoke?(cmd: RemotingCommand, timeoutMs: number): Promise<RemotingCommand>;
  close(reason: string): void;
}

/** Every bound of ConnectionLimits may be overridden (defaults in connection-limits.ts). */

export type ChannelListener = (channel: RemotingChannel) => void;

export function normalizeAddress(host: string | undefined, port: number | undefined): string {
  let h = host ?? 'unknown';
  if (h.startsWith('::ffff:')) h = h.slice(7);
  return `${h}:${port ?? 0}`;
}

const OPAQUE_MAX = 0x7fffffff;

export class ServerChannel implements RemotingChannel {
  closed = false;
  inflightRequests = 0;
  serializeType: SerializeType = SerializeType.JSON;
  /** Opaque of the next request this side starts; clients tell requests from responses by the flag, so a clash with theirs is harmless. */
  private nextOpaque = 1;
  readonly decoder: FrameDecoder;
  readonly writer: FrameWriter;
  /** Inbound budget bytes this connection holds for the frame it is receiving. */
  reservedBytes = 0;
  /** Runs while a frame is partly received; closes the connection when the frame is too slow. */
  frameTimer: NodeJS.Timeout | undefined;
  /** Reading is paused because the peer does not read its answers; decoded requests wait here. */
  readPaused = false;
  readonly waiting: RemotingCommand[] = [];
  /** Requests this side sent with invoke(), by opaque (few: admin queries to clients). */
  private readonly answers = new Map<number, { resolve: (r: RemotingCommand) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly remoteAddress: string,
    maxFrameBytes: number,
    maxWriteBacklogBytes: number,
    private readonly log: Logger,
    onWritable: () => void,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.writer = new FrameWriter(socket, maxWriteBacklogBytes, onWritable);
  }

  send(cmd: RemotingCommand): boolean {
    if (this.closed) return false;
    if (this.writer.enqueue(cmd)) return true;
    this.close(`write backlog over ${this.writer.backlogBytes} bytes: the peer is not reading`);
    return false;
  }

  sendOneway(cmd: RemotingCommand): boolean {
    assert(!isResponse(cmd), 'sendOneway needs a request, got a response');
    return this.send({ ...cmd, opaque: this.takeOpaque(), flag: cmd.flag | FLAG_ONEWAY, serializeType: this.serializeType });
  }

  invoke(cmd: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    assert(!isResponse(cmd), 'invoke needs a request, got a response');
    const opaque = this.takeOpaque();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(opaque);
        reject(new RemotingTimeoutError(this.remoteAddress, cmd.code, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.answers.set(opaque, { resolve, reject, timer });
      if (!this.send({ ...cmd, opaque, flag: cmd.flag & ~FLAG_ONEWAY, serializeType: this.serializeType })) {
        this.settleAnswer(opaque, new RemotingConnectionError(this.remoteAddress, false, 'the client connection is closed'));
      }
    });
  }

  /** A response from the client to a request this side started; false when no one waits for it. */
  settleAnswer(opaque: number, answer: RemotingCommand | Error): boolean {
    const waiter = this.answers.get(opaque);
    if (waiter === undefined) return false;
    this.answers.delete(opaque);
    clearTimeout(waiter.timer);
    if (answer instanceof Error) waiter.reject(answer);
    else waiter.resolve(answer);
    return true;
  }

  private takeOpaque(): number {
    const opaque = this.nextOpaque;
    this.nextOpaque = opaque >= OPAQUE_MAX ? 1 : opaque + 1;
    return opaque;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const opaque of [...this.answers.keys()]) this.settleAnswer(opaque, new RemotingConnectionError(this.remoteAddress, true, `the client connection closed: ${reason}`));
    this.waiting.length = 0;
    this.log.info({ channelId: this.id, remote: this.remoteAddress, reason }, 'closing connection');
    this.writer.discard();
    this.socket.destroy();
  }
}
