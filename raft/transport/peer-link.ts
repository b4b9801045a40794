// The outbound half of the transport for one peer: one TCP connection, a bounded queue of
// encoded frames, reconnection with exponential backoff, and one corked socket write per
// flush so that every frame produced for this peer in one event-loop turn leaves in one
// syscall. Frames are encoded when queued, so a queued frame never sees later changes to the
// mapped log it was read from.

import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { encodeHello, PROTOCOL_VERSION } from './frame-codec.js';

export interface PeerLinkOptions {
  selfId: string;
  peerId: string;
  host: string;
  port: number;
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  /** Frames stay queued (not handed to the socket) while the socket already holds this many bytes. */
  socketHighWaterBytes: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  logger: Logger;
}

export interface PeerLinkStats {
  connected: boolean;
  queuedFrames: number;
  queuedBytes: number;
  sentFrames: number;
  droppedFrames: number;
  connects: number;
}

export class PeerLink {
  private socket: Socket | null = null;
  private connected = false;
  private closed = false;
  /** Buffers to write in order: whole frames, or a frame's head followed by its shared body. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private queuedFrames = 0;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private flushScheduled = false;
  private sentFrames = 0;
  private droppedFrames = 0;
  private connects = 0;

  constructor(private readonly o: PeerLinkOptions) {
    this.backoffMs = o.reconnectMinMs;
  }

  start(): void {
    this.connect();
  }

  /**
   * Queues one encoded frame, given whole or as a head and a body written back to back; drops it
   * (counted) when the queue is full. Raft tolerates loss.
   */
  enqueue(frame: Buffer, body?: Buffer): void {
    if (this.closed) return;
    const bytes = frame.length + (body?.length ?? 0);
    if (this.queuedFrames >= this.o.maxQueuedFrames || this.queuedBytes + bytes > this.o.maxQueuedBytes) {
      this.droppedFrames++;
      if (this.droppedFrames === 1 || this.droppedFrames % 10_000 === 0) {
        this.o.logger.warn({ peer: this.o.peerId, droppedFrames: this.droppedFrames }, 'send queue full, dropping frames');
      }
      return;
    }
    this.queue.push(frame);
    if (body !== undefined && body.length > 0) this.queue.push(body);
    this.queuedFrames++;
    this.queuedBytes += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // nextTick runs after the caller's whole callback, so everything one Ready produced
      // for this peer is written together.
      process.nextTick(() => this.flush());
    }
  }

  stats(): PeerLinkStats {
    return {
      connected: this.connected,
      queuedFrames: this.queuedFrames,
      queuedBytes: this.queuedBytes,
      sentFrames: this.sentFrames,
      droppedFrames: this.droppedFrames,
      connects: this.connects,
    };
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.queue = [];
    this.queuedBytes = 0;
    // A reset rather than a FIN: the closing side of a TCP connection keeps its port in
    // TIME_WAIT for a minute, and an ephemeral port in TIME_WAIT can block a later listen.
    this.socket?.resetAndDestroy();
    this.socket = null;
    this.connected = false;
  }

  private flush(): void {
    this.flushScheduled = false;
    const s = this.socket;
    if (!this.connected || s === null || this.queue.length === 0) return;
    if (s.writableLength > this.o.socketHighWaterBytes) return; // 'drain' calls flush again
    const chunks = this.queue;
    this.sentFrames += this.queuedFrames;
    this.queue = [];
    this.queuedBytes = 0;
    this.queuedFrames = 0;
    s.cork();
    for (let i = 0; i < chunks.length; i++) s.write(chunks[i]!);
    s.uncork();
  }

  private connect(): void {
    if (this.closed) return;
    const s = connect({ host: this.o.host, port: this.o.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.connects++;
      this.backoffMs = this.o.reconnectMinMs;
      this.o.logger.debug({ peer: this.o.peerId }, 'connected to peer');
      s.write(encodeHello({ version: PROTOCOL_VERSION, from: this.o.selfId, to: this.o.peerId }));
      this.flush();
    });
    s.on('drain', () => this.flush());
    // Peers never answer on our outbound connection; anything arriving is ignored.
    s.on('data', () => {});
    s.on('error', (err) => {
      this.o.logger.debug({ peer: this.o.peerId, err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'peer connection error');
    });
    s.on('close', () => {
      if (this.socket === s) {
        this.socket = null;
        this.connected = false;
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delayMs);
  }
}
