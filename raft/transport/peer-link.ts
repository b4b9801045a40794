// The outbound half of the transport for one peer: one TCP connection, a bounded queue of
// encoded frames, reconnection with exponential backoff, and one corked socket write per
// flush so that every frame produced for this peer in one event-loop turn leaves in one
// syscall. Frames are encoded when queued, so a queued frame never sees later changes to the
// mapped log it was read from. With the group's secrets the link sends nothing before the
// other end has proved it holds one (peer-auth.ts): a stranger on a peer's address learns nothing.

import { connect, type Socket } from 'node:net';
import { connect as connectTls, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { TransportError } from './errors.js';
import { encodeHello, PROTOCOL_VERSION } from './frame-codec.js';
import { FrameReader } from './frame-reader.js';
import { decodeChallenge, encodeAuthHello, encodeProof, macMatches, newNonce, peerMac } from './peer-auth.js';

/** A challenge frame is about 80 bytes; nothing bigger is read before the handshake ends. */
const MAX_CHALLENGE_BYTES = 1024;

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
  /** The other end must answer the authenticated hello within this. */
  handshakeTimeoutMs: number;
  /** The group's secrets (empty: no authentication); the first signs, any verifies. */
  secrets: readonly string[];
  /** Dial with TLS: present `cert`/`key`, trust only `ca` (see TcpTransportOptions.tls). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer };
  logger: Logger;
}

export interface PeerLinkStats {
  connected: boolean;
  queuedFrames: number;
  queuedBytes: number;
  sentFrames: number;
  droppedFrames: number;
  connects: number;
  /** Connections closed because the other end did not prove it holds the secret. */
  authFailures: number;
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
  private authFailures = 0;

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
      authFailures: this.authFailures,
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
    // A TLS socket cannot be reset (its handle is not a TCP handle): it is destroyed.
    if (this.socket instanceof TLSSocket) this.socket.destroy();
    else this.socket?.resetAndDestroy();
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
    const tls = this.o.tls;
    const s = tls === undefined ? connect({ host: this.o.host, port: this.o.port }) : connectTls({ host: this.o.host, port: this.o.port, cert: tls.cert, key: tls.key, ca: tls.ca });
    this.socket = s;
    s.setNoDelay(true);
    const open = (): void => {
      this.connected = true;
      this.connects++;
      this.backoffMs = this.o.reconnectMinMs;
      this.o.logger.debug({ peer: this.o.peerId }, 'connected to peer');
      this.flush();
    };
    s.on(tls === undefined ? 'connect' : 'secureConnect', () => {
      if (this.o.secrets.length === 0) {
        s.write(encodeHello({ version: PROTOCOL_VERSION, from: this.o.selfId, to: this.o.peerId }));
        open();
        return;
      }
      this.authenticate(s, open);
    });
    s.on('drain', () => this.flush());
    // Past the handshake peers never answer on our outbound connection; anything arriving is ignored.
    if (this.o.secrets.length === 0) s.on('data', () => {});
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

  /** Runs the dialer's half of the handshake on `s`; calls `open` once the acceptor has proved itself. */
  private authenticate(s: Socket, open: () => void): void {
    const nonce = newNonce();
    const { selfId: from, peerId: to } = this.o;
    const reader = new FrameReader(MAX_CHALLENGE_BYTES);
    let done = false;
    const timer = setTimeout(() => fail(new TransportError('ERR_TRANSPORT_PEER_AUTH', `no answer to the authenticated hello within ${this.o.handshakeTimeoutMs} ms`)), this.o.handshakeTimeoutMs);
    const fail = (err: TransportError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err.code === 'ERR_TRANSPORT_PEER_AUTH') this.authFailures++;
      // A misconfigured peer fails on every reconnect (about once a second): warn now and then.
      const level = this.authFailures <= 1 || this.authFailures % 60 === 0 ? 'warn' : 'debug';
      this.o.logger[level]({ peer: to, code: err.code, err: { message: err.message }, remote: `${this.o.host}:${this.o.port}`, authFailures: this.authFailures }, 'raft peer failed authentication; closing the connection');
      s.destroy();
    };
    s.on('close', () => clearTimeout(timer));
    s.on('data', (chunk: Buffer) => {
      if (done) return;
      try {
        reader.push(chunk, (body) => {
          if (done) return;
          const challenge = decodeChallenge(body);
          if (!macMatches(this.o.secrets, challenge.mac, 'acceptor', from, to, nonce, challenge.nonce)) {
            throw new TransportError('ERR_TRANSPORT_PEER_AUTH', `the node at ${this.o.host}:${this.o.port} did not prove it is ${to} holding the group's peer secret`);
          }
          done = true;
          clearTimeout(timer);
          s.write(encodeProof(peerMac(this.o.secrets[0]!, 'dialer', from, to, nonce, challenge.nonce)));
          open();
        });
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        fail(err);
      }
    });
    s.write(encodeAuthHello({ version: PROTOCOL_VERSION, from, to, nonce }));
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
