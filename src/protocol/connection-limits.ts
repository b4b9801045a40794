// The bounds a remoting server keeps under hostile or broken clients: how long a connection may
// stay silent, how long one frame may take to arrive, how many connections one address and all
// addresses may hold, how many bytes of partly received frames all connections together may make
// the server hold, and how many unwritten response bytes one connection may pile up. The broker
// and the NameServer share them (both run a RemotingServer).

/** RocketMQ's serverChannelMaxIdleTimeSeconds default: a connection silent this long is closed. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/** Once its first byte arrived, a frame must be complete within this. */
export const DEFAULT_FRAME_READ_TIMEOUT_MS = 30_000;
/** Local clusters run every broker, NameServer and client on 127.0.0.1, so this stays generous. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 1_000;
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** Bytes of partly received frames (as announced by their length fields) across all connections. */
export const DEFAULT_INBOUND_FRAME_BUDGET_BYTES = 256 * 1024 * 1024;
/** Frames this small are always accepted, so heartbeats and small requests pass a full budget. */
export const BUDGET_EXEMPT_FRAME_BYTES = 64 * 1024;
/** Unwritten bytes on one connection past which the server stops reading that connection's requests. */
export const DEFAULT_WRITE_BACKLOG_PAUSE_BYTES = 4 * 1024 * 1024;
/** Unwritten bytes on one connection past which the connection is closed as not reading. */
export const DEFAULT_SERVER_MAX_WRITE_BACKLOG_BYTES = 64 * 1024 * 1024;

export interface ConnectionLimits {
  idleTimeoutMs: number;
  frameReadTimeoutMs: number;
  maxConnectionsPerAddress: number;
  maxConnections: number;
  inboundFrameBudgetBytes: number;
  writeBacklogPauseBytes: number;
  maxWriteBacklogBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
  frameReadTimeoutMs: DEFAULT_FRAME_READ_TIMEOUT_MS,
  maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  inboundFrameBudgetBytes: DEFAULT_INBOUND_FRAME_BUDGET_BYTES,
  writeBacklogPauseBytes: DEFAULT_WRITE_BACKLOG_PAUSE_BYTES,
  maxWriteBacklogBytes: DEFAULT_SERVER_MAX_WRITE_BACKLOG_BYTES,
};

/** The host part of a normalized "ip:port" address (IPv6 addresses keep their colons). */
export function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}

/** Counts open connections per host. */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  count(host: string): number {
    return this.counts.get(host) ?? 0;
  }

  add(host: string): void {
    this.counts.set(host, this.count(host) + 1);
  }

  remove(host: string): void {
    const n = this.count(host) - 1;
    if (n <= 0) this.counts.delete(host);
    else this.counts.set(host, n);
  }
}

/**
 * Open connections counted against the caps, in all and per host. A TCP connection is counted from
 * its arrival (before any TLS handshake) until its release, which may be called more than once.
 */
export class ConnectionGate {
  private open = 0;
  private readonly perAddress = new AddressCounter();

  constructor(private readonly limits: Pick<ConnectionLimits, 'maxConnections' | 'maxConnectionsPerAddress'>) {}

  get count(): number {
    return this.open;
  }

  /** The release of an admitted connection, or which cap refused it. */
  admit(host: string): (() => void) | 'too many connections' | 'too many connections from this address' {
    if (this.open >= this.limits.maxConnections) return 'too many connections';
    if (this.perAddress.count(host) >= this.limits.maxConnectionsPerAddress) return 'too many connections from this address';
    this.open++;
    this.perAddress.add(host);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      this.perAddress.remove(host);
    };
  }
}

/**
 * The inbound byte budget: each connection reserves the announced size of the frame it is
 * receiving. A reservation that would overrun the budget is refused unless the frame is small.
 */
export class InboundBudget {
  private reserved = 0;

  constructor(readonly budgetBytes: number) {}

  get reservedBytes(): number {
    return this.reserved;
  }

  /** Moves a connection's reservation from `held` to `wanted`; false (and no change) if refused. */
  update(held: number, wanted: number): boolean {
    const next = this.reserved - held + wanted;
    if (wanted > held && wanted > BUDGET_EXEMPT_FRAME_BYTES && next > this.budgetBytes) return false;
    this.reserved = next;
    return true;
  }
}
