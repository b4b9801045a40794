// TCP transport between the peers of one Raft group on 127.0.0.1: a listening server for the
// inbound direction (one connection per peer, identified by a hello frame) and one PeerLink per
// peer for the outbound direction. Bad input from a connection (a frame that does not decode, a
// sender that is not a configured peer) is a logged TransportError that closes that connection;
// the node stays up. Connections cannot squat: a connection must say hello within a deadline,
// connections that have not said hello are few (the oldest makes room for a new one), a newer
// hello for a peer replaces the older connection of that peer, and a peer's connection that
// carries nothing for inboundIdleMs is closed (its PeerLink reconnects when it has traffic).
// With peerSecrets both ends prove they hold the group's secret before any message passes
// (peer-auth.ts); a connection that fails is refused, logged, counted and closed.

import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { TransportError } from './errors.js';
import { decodeHello, decodeMessage, encodeEntries, encodeMessageHead, PROTOCOL_VERSION } from './frame-codec.js';
import { FrameReader } from './frame-reader.js';
import {
  decodeAuthHello, decodeProof, encodeChallenge, FRAME_KIND_AUTH_HELLO, macMatches, newNonce, peerMac, type AuthHello,
} from './peer-auth.js';
import { PeerLink, type PeerLinkStats } from './peer-link.js';

const EMPTY_ENTRIES = encodeEntries([]);
const MAX_HELLO_BYTES = 1024;
export const DEFAULT_HELLO_TIMEOUT_MS = 5000;
/** Several election timeouts of the broker's defaults; a live leader sends heartbeats far more often. */
export const DEFAULT_INBOUND_IDLE_MS = 30_000;

export interface PeerAddress {
  id: NodeId;
  host: string;
  port: number;
}

/**
 * Largest frame a peer accepts unless told otherwise. The largest frames are App batches
 * (maxAppBytes, 512 KiB by default) and a Reset carrying a start record with its application
 * section (at most MAX_START_APP_BYTES, 4 MiB).
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export interface TcpTransportOptions {
  id: NodeId;
  /** Every member of the group including this node; this node's entry gives the listen address. */
  peers: readonly PeerAddress[];
  onMessage: (m: Message) => void;
  logger: Logger;
  maxQueuedFrames?: number;
  maxQueuedBytes?: number;
  maxFrameBytes?: number;
  socketHighWaterBytes?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** A new connection must send its hello within this. */
  helloTimeoutMs?: number;
  /** A peer's inbound connection that carries no frame for this long is closed. */
  inboundIdleMs?: number;
  /** Connections that have not said hello yet, at most; the oldest is closed to make room. */
  maxPendingConnections?: number;
  /**
   * The group's shared secrets: when non-empty, every connection must pass the mutual HMAC
   * handshake (peer-auth.ts). The first signs, any verifies (to rotate without downtime).
   */
  peerSecrets?: readonly string[];
  /**
   * Mutual TLS between the peers: each node serves and dials with its certificate and key and
   * accepts only certificates signed by `ca` (which must name the peers' hosts).
   */
  tls?: PeerTls;
  /**
   * While this returns true, a hello from an id that is not a known peer is accepted (a node
   * joining a running group hears from a leader it was not told about). Default: refused.
   */
  acceptUnknownPeers?: () => boolean;
}

export interface PeerTls {
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
}

export interface TransportStats {
  receivedFrames: number;
  rejectedConnections: number;
  /** Connections refused because the other end did not prove it holds the secret (either direction). */
  authFailures: number;
  peers: Record<NodeId, PeerLinkStats>;
}

export class TcpTransport {
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Map<NodeId, Socket>();
  private readonly sockets = new Set<Socket>();
  /** Connections without a hello yet, oldest first. */
  private readonly pending = new Set<Socket>();
  /** TLS connections still in their handshake, by remote address, oldest first. */
  private readonly handshakes = new Map<string, Socket>();
  private readonly self: PeerAddress;
  private readonly maxFrameBytes: number;
  private server: Server | null = null;
  private receivedFrames = 0;
  private rejectedConnections = 0;
  private inboundAuthFailures = 0;
  private readonly secrets: readonly string[];
  private closed = false;

  constructor(private readonly o: TcpTransportOptions) {
    const self = o.peers.find((p) => p.id === o.id);
    if (!self) throw new RangeError(`node ${o.id} is not among the peers ${o.peers.map((p) => p.id).join(',')}`);
    this.self = self;
    this.maxFrameBytes = o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.secrets = (o.peerSecrets ?? []).filter((x) => x !== '');
    for (const p of o.peers) this.addPeer(p);
  }

  /**
   * Adds a peer to reach (a member added by a membership change); a known peer or this node
   * itself is ignored. Its link starts at once when the transport runs.
   */
  addPeer(p: PeerAddress): void {
    const o = this.o;
    if (p.id === o.id || this.links.has(p.id) || this.closed) return;
    {
      const link = new PeerLink({
        selfId: o.id,
        peerId: p.id,
        host: p.host,
        port: p.port,
        maxQueuedFrames: o.maxQueuedFrames ?? 4096,
        maxQueuedBytes: o.maxQueuedBytes ?? 64 * 1024 * 1024,
        socketHighWaterBytes: o.socketHighWaterBytes ?? 16 * 1024 * 1024,
        reconnectMinMs: o.reconnectMinMs ?? 50,
        reconnectMaxMs: o.reconnectMaxMs ?? 1000,
        handshakeTimeoutMs: o.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
        ...(o.tls !== undefined ? { tls: o.tls } : {}),
        secrets: this.secrets,
        logger: o.logger,
      });
      this.links.set(p.id, link);
      if (this.server !== null) link.start();
    }
  }

  /** Starts listening and connecting to every peer. Resolves once the server listens. */
  async start(): Promise<void> {
    // No server.maxConnections: a full server refuses the genuine peer too. The bounds are per
    // kind instead: one connection per peer (newest wins) and a few pending ones (oldest goes).
    const tls = this.o.tls;
    const helloTimeoutMs = this.o.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
    // With TLS the handshake must end within the hello deadline (Node's default is 120 s).
    const server = tls === undefined
      ? createServer((s) => this.accept(s))
      : createTlsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: helloTimeoutMs }, (s) => {
        this.handshakes.delete(remoteOf(s));
        this.accept(s);
      });
    if (tls !== undefined) {
      server.on('connection', (raw: Socket) => this.startHandshake(raw));
      // A connection without a certificate signed by the CA never gets to say hello.
      // Node only reports a late handshake: closing the connection is the listener's job.
      server.on('tlsClientError', (err: Error, s: TLSSocket) => {
        const key = remoteOf(s);
        this.handshakes.get(key)?.destroy();
        this.handshakes.delete(key);
        s.destroy();
        this.rejectedConnections++;
        this.o.logger.warn({ err: { message: err.message }, remote: key }, 'rejected raft connection: TLS handshake failed');
      });
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.self.port, this.self.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.o.logger.error({ err }, 'raft transport server error'));
    for (const link of this.links.values()) link.start();
  }

  /**
   * Encodes and queues each message for its peer; a message to a peer without an address (a
   * member this node was never told how to reach) is dropped with a warning, as a lost message. Within one call, messages carrying the same entry range share one encoded entry part:
   * the same first and last (index, term) in one leader's log at one moment are the same entries.
   */
  send(messages: readonly Message[]): void {
    let shared: Map<string, Buffer> | null = null;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const link = this.links.get(m.to);
      if (!link) {
        this.o.logger.warn({ to: m.to, type: m.type }, 'raft message to a node with no known address dropped');
        continue;
      }
      const es = m.entries;
      let body: Buffer;
      if (es.length === 0) body = EMPTY_ENTRIES;
      else {
        const first = es[0]!;
        const last = es[es.length - 1]!;
        const key = `${first.index}/${first.term}/${last.index}/${last.term}/${es.length}`;
        shared ??= new Map();
        let part = shared.get(key);
        if (part === undefined) {
          part = encodeEntries(es);
          shared.set(key, part);
        }
        body = part;
      }
      link.enqueue(encodeMessageHead(m, body.length), body);
    }
  }

  stats(): TransportStats {
    const peers: Record<NodeId, PeerLinkStats> = {};
    let authFailures = this.inboundAuthFailures;
    for (const [id, link] of this.links) {
      peers[id] = link.stats();
      authFailures += peers[id].authFailures;
    }
    return { receivedFrames: this.receivedFrames, rejectedConnections: this.rejectedConnections, authFailures, peers };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    // No TIME_WAIT left behind (see PeerLink.close); a TLS socket cannot be reset, only destroyed.
    for (const s of this.sockets) {
      if (s instanceof TLSSocket) s.destroy();
      else s.resetAndDestroy();
    }
    this.sockets.clear();
    this.pending.clear();
    for (const raw of this.handshakes.values()) raw.destroy();
    this.handshakes.clear();
    this.inbound.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Connections in their TLS handshake are few, like those without a hello: the oldest makes room
   * for a new one, so a flood of handshakes (or of silent sockets) cannot pile up. Keyed by the
   * remote address, which the TLS socket of the same connection reports too.
   */
  private startHandshake(raw: Socket): void {
    const maxPending = this.o.maxPendingConnections ?? 4 * Math.max(1, this.links.size);
    if (this.handshakes.size >= maxPending) {
      const [oldestKey, oldest] = this.handshakes.entries().next().value as [string, Socket];
      this.handshakes.delete(oldestKey);
      this.rejectedConnections++;
      this.o.logger.warn({ remote: oldestKey, maxPending }, `rejected raft connection: ${maxPending} TLS handshakes pending, closing the oldest`);
      oldest.destroy();
    }
    const key = remoteOf(raw);
    this.handshakes.set(key, raw);
    raw.once('close', () => {
      if (this.handshakes.get(key) === raw) this.handshakes.delete(key);
    });
  }

  private accept(s: Socket): void {
    if (this.closed) {
      s.destroy();
      return;
    }
    const maxPending = this.o.maxPendingConnections ?? 4 * Math.max(1, this.links.size);
    if (this.pending.size >= maxPending) {
      const oldest = this.pending.values().next().value as Socket;
      this.pending.delete(oldest);
      this.reject(oldest, new TransportError('ERR_TRANSPORT_BAD_HELLO', `no hello yet and ${maxPending} connections wait for theirs: closing the oldest`), null);
    }
    this.sockets.add(s);
    this.pending.add(s);
    s.setNoDelay(true);
    // Until it names itself, a connection may only send a small hello, and only for a while:
    // a stranger must not make this node buffer big frames or hold sockets open.
    const reader = new FrameReader(MAX_HELLO_BYTES);
    let peer: NodeId | null = null;
    const helloTimeoutMs = this.o.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
    const idleMs = this.o.inboundIdleMs ?? DEFAULT_INBOUND_IDLE_MS;
    const helloTimer = setTimeout(() => {
      if (peer === null) this.reject(s, new TransportError('ERR_TRANSPORT_BAD_HELLO', `no hello within ${helloTimeoutMs} ms`), null);
    }, helloTimeoutMs);
    // Set once the authenticated hello is answered: the proof must then match this challenge.
    let challenged: { hello: AuthHello; nonce: Buffer } | null = null;
    const onFrame = (body: Buffer): void => {
      if (peer === null) {
        if (this.secrets.length > 0) {
          if (challenged === null) {
            const hello = this.checkAuthHello(body);
            const nonce = newNonce();
            challenged = { hello, nonce };
            s.write(encodeChallenge(nonce, peerMac(this.secrets[0]!, 'acceptor', hello.from, hello.to, hello.nonce, nonce)));
            return;
          }
          const { hello, nonce } = challenged;
          if (!macMatches(this.secrets, decodeProof(body), 'dialer', hello.from, hello.to, hello.nonce, nonce)) {
            this.inboundAuthFailures++;
            throw new TransportError('ERR_TRANSPORT_PEER_AUTH', `connection claiming to be ${hello.from} did not prove it holds the group's peer secret`);
          }
          peer = hello.from;
        } else {
          peer = this.checkHello(body);
        }
        clearTimeout(helloTimer);
        this.pending.delete(s);
        reader.setMaxFrameBytes(this.maxFrameBytes);
        // Newest wins: a restarted peer's new connection must not wait behind its old one (or,
        // without peer secrets, behind a stranger that said hello in its name: a squatter loses
        // its place to the next genuine reconnect). With secrets only the peer itself gets here.
        const older = this.inbound.get(peer);
        if (older !== undefined && older !== s) {
          this.o.logger.info({ peer }, 'newer connection of a peer replaces the older one');
          older.destroy();
        }
        this.inbound.set(peer, s);
        // Node re-arms the timer on every read; a peer's connection with no frames is dead weight.
        s.setTimeout(idleMs, () => {
          this.o.logger.debug({ peer, idleMs }, 'closing idle inbound raft connection');
          s.destroy();
        });
        return;
      }
      const m = decodeMessage(body);
      if (m.from !== peer) throw new TransportError('ERR_TRANSPORT_UNKNOWN_PEER', `connection of ${peer} carried a message from ${m.from}`);
      if (m.to !== this.o.id) throw new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', `message addressed to ${m.to}, this node is ${this.o.id}`);
      this.receivedFrames++;
      this.o.onMessage(m);
    };
    s.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, onFrame);
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        this.reject(s, err, peer);
      }
    });
    s.on('error', () => {}); // a reset by the peer ends up in 'close'
    s.on('close', () => {
      clearTimeout(helloTimer);
      this.sockets.delete(s);
      this.pending.delete(s);
      if (peer !== null && this.inbound.get(peer) === s) this.inbound.delete(peer);
    });
  }

  private checkHello(body: Buffer): NodeId {
    if (body[0] === FRAME_KIND_AUTH_HELLO) {
      this.inboundAuthFailures++;
      throw new TransportError('ERR_TRANSPORT_PEER_AUTH', 'the other end authenticates with a peer secret but this node has none (dLegerPeerSecret differs between the peers)');
    }
    const hello = decodeHello(body);
    this.checkIds(hello.version, hello.from, hello.to);
    return hello.from;
  }

  private checkAuthHello(body: Buffer): AuthHello {
    if (body[0] !== FRAME_KIND_AUTH_HELLO) {
      this.inboundAuthFailures++;
      throw new TransportError('ERR_TRANSPORT_PEER_AUTH', 'unauthenticated hello: this node requires the group\'s peer secret (dLegerPeerSecret)');
    }
    const hello = decodeAuthHello(body);
    this.checkIds(hello.version, hello.from, hello.to);
    return hello;
  }

  private checkIds(version: number, from: NodeId, to: NodeId): void {
    const hello = { version, from, to };
    if (hello.version !== PROTOCOL_VERSION) throw new TransportError('ERR_TRANSPORT_BAD_HELLO', `protocol version ${hello.version}, expected ${PROTOCOL_VERSION}`);
    if (hello.to !== this.o.id) throw new TransportError('ERR_TRANSPORT_BAD_HELLO', `hello addressed to ${hello.to}, this node is ${this.o.id}`);
    if (!this.links.has(hello.from) && this.o.acceptUnknownPeers?.() !== true) throw new TransportError('ERR_TRANSPORT_UNKNOWN_PEER', `hello from ${hello.from}, which is not a configured peer`);
  }

  private reject(s: Socket, err: TransportError, peer: NodeId | null): void {
    this.rejectedConnections++;
    this.o.logger.warn({ err, code: err.code, peer, remote: `${s.remoteAddress}:${s.remotePort}` }, 'rejected raft connection');
    s.destroy();
  }
}

function remoteOf(s: Socket): string {
  return `${s.remoteAddress}:${s.remotePort}`;
}
