// A TCP proxy for one directed link (listen port → target host:port) that can cut the link, as
// a network partition would, outside the processes under test: no root, no namespaces.
//
// What "blocked" means (the default mode, `hang`), chosen to look like packets silently dropped
// by a firewall rather than like a crashed peer:
// - existing connections stay open but nothing crosses in either direction; the proxy stops
//   reading, so the sender's socket buffers fill and its writes back up (a hang, not a reset);
// - a new connection is accepted (the kernel completes the handshake before any userland code
//   could refuse it) but the proxy does not dial the target, so nothing reaches it;
// - a close or reset by one side during the block is not passed on either;
// - on heal, held connections are dialed, held bytes are delivered in order, and held closes
//   are applied: what TCP retransmission does when a partition ends within its patience.
// The other mode, `reset`, destroys every connection with a RST and resets new ones at once: a
// REJECT rule or a host that is down, for faults that should be noticed immediately.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { DirectedPipe, type PipeLink } from './directed-pipe.js';
import { NO_LINK_FAULTS, validateLinkFaults, type LinkFaults } from './link-faults.js';
import { NetError } from './net-errors.js';
import { SeededRandom } from './seeded-random.js';

export type ProxyState = 'open' | 'blocked';
export type BlockMode = 'hang' | 'reset';

export interface TcpProxyOptions {
  /** 0 picks a free port (tests); the harness gives fixed ports so peer strings are known up front. */
  listenPort: number;
  targetPort: number;
  targetHost?: string;
  /** For logs and errors, e.g. `n0->n1`. */
  name?: string;
  /** Seeds the per-chunk loss draws. */
  seed?: number;
  /** Connections beyond this are closed by the kernel-facing server at accept. */
  maxConnections?: number;
  /** Bytes one direction of one connection may hold before its sender is paused. */
  maxBufferedBytes?: number;
}

export interface TcpProxyStats {
  connectionsAccepted: number;
  connectionsActive: number;
  bytesToTarget: number;
  bytesToClient: number;
  chunksLost: number;
}

const LISTEN_HOST = '127.0.0.1';
const DEFAULT_MAX_CONNECTIONS = 256;
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Both halves of one proxied connection. */
class ProxiedConnection {
  upstream: Socket | null = null;
  readonly toTarget: DirectedPipe;
  toClient: DirectedPipe | null = null;
  /** A reset or error seen while the link was blocked, to apply at heal. */
  teardownPending = false;
  tornDown = false;

  constructor(
    readonly client: Socket,
    private readonly registry: Set<ProxiedConnection>,
    toTargetLink: PipeLink,
  ) {
    this.toTarget = new DirectedPipe(client, toTargetLink);
  }

  /**
   * Resets both sockets (they may already be gone). Always a RST: it models a peer's reset, and
   * unlike a FIN it leaves no TIME_WAIT on the proxy's ephemeral upstream port, a range that
   * overlaps the fixed ports the harness listens on.
   */
  teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.toTarget.close();
    this.toClient?.close();
    this.registry.delete(this);
    for (const s of [this.client, this.upstream]) {
      if (s === null || s.destroyed) continue;
      resetSocket(s);
    }
  }
}

export class TcpProxy {
  private state_: ProxyState = 'open';
  private blockMode_: BlockMode = 'hang';
  private faults_: LinkFaults = { ...NO_LINK_FAULTS };
  private readonly connections = new Set<ProxiedConnection>();
  private readonly toTargetLink: PipeLink;
  private readonly toClientLink: PipeLink;
  private accepted = 0;
  private closed = false;
  readonly name: string;
  readonly targetHost: string;
  readonly targetPort: number;

  private constructor(
    private readonly server: Server,
    readonly listenPort: number,
    options: TcpProxyOptions,
  ) {
    this.name = options.name ?? `:${listenPort}->:${options.targetPort}`;
    this.targetHost = options.targetHost ?? LISTEN_HOST;
    this.targetPort = options.targetPort;
    const rng = new SeededRandom(options.seed ?? listenPort);
    const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    assert(maxBufferedBytes > 0, 'maxBufferedBytes must be positive');
    const makeLink = (): PipeLink => ({
      faults: () => this.faults_,
      isBlocked: () => this.state_ === 'blocked',
      rng,
      maxBufferedBytes,
      counters: { bytesForwarded: 0, chunksLost: 0 },
    });
    this.toTargetLink = makeLink();
    this.toClientLink = makeLink();
    server.on('connection', (socket: Socket) => this.onConnection(socket));
  }

  /** Starts listening on 127.0.0.1:listenPort; rejects with ERR_JEPSEN_PROXY_LISTEN if it cannot. */
  static async listen(options: TcpProxyOptions): Promise<TcpProxy> {
    assert(Number.isInteger(options.listenPort) && options.listenPort >= 0 && options.listenPort < 65536, `bad listenPort ${options.listenPort}`);
    assert(Number.isInteger(options.targetPort) && options.targetPort > 0 && options.targetPort < 65536, `bad targetPort ${options.targetPort}`);
    const server = createServer({ allowHalfOpen: true });
    server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new NetError('ERR_JEPSEN_PROXY_LISTEN', `proxy ${options.name ?? ''} cannot listen on ${LISTEN_HOST}:${options.listenPort}: ${err.message}`, { cause: err })),
      );
      server.listen({ host: LISTEN_HOST, port: options.listenPort, exclusive: true }, () => {
        const addr = server.address();
        assert(addr !== null && typeof addr === 'object', 'server has no address after listen');
        resolve(addr.port);
      });
    });
    // After listen, an error on the server (rare: EMFILE on accept) must not crash the harness.
    server.on('error', () => {});
    return new TcpProxy(server, port, options);
  }

  get state(): ProxyState {
    return this.state_;
  }

  get blockMode(): BlockMode {
    return this.blockMode_;
  }

  get faults(): Readonly<LinkFaults> {
    return this.faults_;
  }

  /** Cuts the link (see the header for what each mode does). Blocking twice changes the mode. */
  block(mode: BlockMode = 'hang'): void {
    assert(!this.closed, `proxy ${this.name} used after close`);
    this.state_ = 'blocked';
    this.blockMode_ = mode;
    for (const c of [...this.connections]) {
      if (mode === 'reset') c.teardown();
      else this.pumpBoth(c);
    }
  }

  /** Reopens the link: held connections are dialed, held bytes and closes delivered. */
  heal(): void {
    assert(!this.closed, `proxy ${this.name} used after close`);
    if (this.state_ === 'open') return;
    this.state_ = 'open';
    for (const c of [...this.connections]) {
      if (c.teardownPending) c.teardown();
      else if (c.upstream === null) this.dial(c);
      else this.pumpBoth(c);
    }
  }

  /** Sets latency and loss for every chunk from now on (already queued chunks keep their time). */
  setFaults(faults: Partial<LinkFaults>): void {
    const next = { ...this.faults_, ...faults };
    validateLinkFaults(next);
    this.faults_ = next;
  }

  clearFaults(): void {
    this.faults_ = { ...NO_LINK_FAULTS };
    for (const c of this.connections) this.pumpBoth(c);
  }

  stats(): TcpProxyStats {
    return {
      connectionsAccepted: this.accepted,
      connectionsActive: this.connections.size,
      bytesToTarget: this.toTargetLink.counters.bytesForwarded,
      bytesToClient: this.toClientLink.counters.bytesForwarded,
      chunksLost: this.toTargetLink.counters.chunksLost + this.toClientLink.counters.chunksLost,
    };
  }

  /** Stops listening and destroys every socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.connections]) c.teardown();
    assert(this.connections.size === 0, 'a connection survived proxy close');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    this.accepted++;
    if (this.state_ === 'blocked' && this.blockMode_ === 'reset') {
      client.on('error', () => {});
      resetSocket(client);
      return;
    }
    client.setNoDelay(true);
    const c = new ProxiedConnection(client, this.connections, this.toTargetLink);
    this.connections.add(c);
    this.watchClose(c, client);
    if (this.state_ === 'open') this.dial(c);
    else c.toTarget.pump();
  }

  private dial(c: ProxiedConnection): void {
    assert(c.upstream === null, 'connection dialed twice');
    const upstream = connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
    upstream.setNoDelay(true);
    c.upstream = upstream;
    c.toClient = new DirectedPipe(upstream, this.toClientLink);
    this.watchClose(c, upstream);
    upstream.once('connect', () => {
      c.toTarget.attach(upstream);
      c.toClient!.attach(c.client);
    });
  }

  private watchClose(c: ProxiedConnection, socket: Socket): void {
    // Errors surface as 'close' with hadError; the listener keeps them from being uncaught.
    socket.on('error', () => {});
    socket.on('close', (hadError: boolean) => {
      const bothClosed = c.client.destroyed && (c.upstream === null || c.upstream.destroyed);
      if (hadError || !socketEndedCleanly(socket)) {
        // A reset, a refused dial or a crash of one side. During a block the other side must
        // not learn of it yet; afterwards it gets a reset too, as TCP would on its next packet.
        if (this.state_ === 'blocked' && this.blockMode_ === 'hang') c.teardownPending = true;
        else c.teardown();
      }
      if (bothClosed) c.teardown();
    });
  }

  private pumpBoth(c: ProxiedConnection): void {
    c.toTarget.pump();
    c.toClient?.pump();
  }
}

/** A socket that closed after both a FIN in and its own FIN out (a graceful close). */
function socketEndedCleanly(socket: Socket): boolean {
  return socket.readableEnded && socket.writableFinished;
}

/** Closes with a RST (what a REJECT rule or a dead host sends), falling back to a plain destroy. */
function resetSocket(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
