// What every producer, consumer and admin holds: one RemotingClient (one connection per address),
// the NameServer client, the route cache with its 30 s refresh, and the client id. Requests the
// broker sends us (NOTIFY_CONSUMER_IDS_CHANGED) go to the handler registered for their code;
// any other is answered REQUEST_CODE_NOT_SUPPORTED unless it was one-way (remoting-client.ts).
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { createLogger, type Logger } from '../common/logger.js';
import {
  RemotingClient,
  RemotingClosedError,
  RemotingConnectionError,
  RemotingOverloadError,
  RemotingTimeoutError,
  SerializeType,
  type AclCredentials,
  type RemotingCommand,
  type ServerRequestHandler,
} from '../protocol/index.js';
import { ClientDefaults } from './client-constants.js';
import { BrokerUnreachableError, ClientStateError } from './client-errors.js';
import { localIpv4 } from './message-id.js';
import { NamesrvClient } from './namesrv-client.js';
import { RouteCache } from './route-cache.js';
import { parseNamesrvAddr } from './validation.js';

export interface ClientOptions {
  /** "host:port", several separated by ';', or an array; falls back to the NAMESRV_ADDR variable. */
  namesrvAddr?: string | readonly string[];
  /** Distinguishes several clients in one process; default: the pid, then pid-2, pid-3... */
  instanceName?: string;
  /** Use RocketMQ's binary header (our brokers answer in kind); JSON by default. */
  binaryHeaders?: boolean;
  routeRefreshIntervalMs?: number;
  /** Timeout of NameServer queries and admin-style broker requests. */
  requestTimeoutMs?: number;
  logger?: Logger;
  /**
   * The address to dial for a broker or NameServer address (default: the same): for a client
   * that reaches the brokers through a port forward, NAT or a test proxy. Routes, queues and
   * errors keep the address the NameServer gave.
   */
  dialAddress?: (addr: string) => string;
  /**
   * ACL credentials (RocketMQ ACL 1.0): every request carries AccessKey and a Signature. Falls
   * back to the RMQ_ACCESS_KEY and RMQ_SECRET_KEY variables when both are set.
   */
  credentials?: AclCredentials;
  /**
   * Connect with TLS, to the brokers and the NameServers: true for the system's CAs, or node:tls
   * options (ca, and cert/key for a client certificate). Falls back to RMQ_TLS_CA (a CA file;
   * implies TLS) or RMQ_TLS=true.
   */
  tls?: boolean | ConnectionOptions;
  /**
   * With `tls`: false when the NameServers serve plain TCP while the brokers serve TLS. Falls back
   * to RMQ_NAMESRV_TLS=false; default true.
   */
  namesrvTls?: boolean;
}

let instanceCount = 0;

export class ClientInstance {
  readonly clientId: string;
  readonly remoting: RemotingClient;
  readonly namesrv: NamesrvClient;
  readonly routes: RouteCache;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  /** The ACL credentials every request is signed with, if any. */
  readonly credentials: AclCredentials | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: ClientOptions, component: string) {
    const addrs = parseNamesrvAddr(options.namesrvAddr);
    instanceCount++;
    const instanceName = options.instanceName ?? (instanceCount === 1 ? String(process.pid) : `${process.pid}-${instanceCount}`);
    this.clientId = `${localIpv4()}@${instanceName}`;
    this.log = options.logger ?? createLogger({ component, clientId: this.clientId });
    this.requestTimeoutMs = options.requestTimeoutMs ?? ClientDefaults.requestTimeoutMs;
    this.credentials = options.credentials ?? credentialsFromEnv(process.env);
    this.remoting = new RemotingClient({
      logger: this.log,
      serializeType: options.binaryHeaders === true ? SerializeType.ROCKETMQ : SerializeType.JSON,
      ...(options.dialAddress !== undefined ? { dialAddress: options.dialAddress } : {}),
      ...(this.credentials !== undefined ? { credentials: this.credentials } : {}),
      ...tlsOf(options.tls ?? tlsFromEnv(process.env), options.namesrvTls ?? process.env['RMQ_NAMESRV_TLS'] !== 'false', addrs),
    });
    this.namesrv = new NamesrvClient(this.remoting, addrs, this.requestTimeoutMs, this.log);
    this.routes = new RouteCache(this.namesrv, this.log);
    const intervalMs = options.routeRefreshIntervalMs ?? ClientDefaults.routeRefreshIntervalMs;
    this.refreshTimer = setInterval(() => void this.routes.refreshAll(), intervalMs);
    this.refreshTimer.unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Serves requests with `code` from brokers (one handler per code; see ServerRequestHandler). */
  onServerRequest(code: number, handler: ServerRequestHandler): void {
    this.remoting.registerRequestHandler(code, handler);
  }

  /**
   * A request to a broker. Transport failures become BrokerUnreachableError (carrying whether
   * the outcome is unknown); the response, whatever its code, is returned.
   */
  async invoke(addr: string, req: RemotingCommand, timeoutMs = this.requestTimeoutMs): Promise<RemotingCommand> {
    if (this.closed) throw new ClientStateError('the client is shut down; create a new one');
    try {
      return await this.remoting.invoke(addr, req, timeoutMs);
    } catch (err) {
      throw wrapTransportError(addr, err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer !== undefined) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    await this.remoting.close();
  }
}

/** RMQ_ACCESS_KEY and RMQ_SECRET_KEY, when both are set. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): AclCredentials | undefined {
  const accessKey = env['RMQ_ACCESS_KEY'];
  const secretKey = env['RMQ_SECRET_KEY'];
  return accessKey !== undefined && accessKey !== '' && secretKey !== undefined && secretKey !== '' ? { accessKey, secretKey } : undefined;
}

/** RMQ_TLS_CA (a CA file, implies TLS) or RMQ_TLS=true; undefined when neither is set. */
export function tlsFromEnv(env: NodeJS.ProcessEnv): boolean | ConnectionOptions | undefined {
  const ca = env['RMQ_TLS_CA'];
  if (ca !== undefined && ca !== '') return { ca: readFileSync(ca) };
  return env['RMQ_TLS'] === 'true' ? true : undefined;
}

function tlsOf(tls: boolean | ConnectionOptions | undefined, namesrvTls: boolean, namesrvAddrs: readonly string[]): { tls?: ConnectionOptions; tlsFor?: (addr: string) => boolean } {
  if (tls === undefined || tls === false) return {};
  return { tls: tls === true ? {} : tls, ...(namesrvTls ? {} : { tlsFor: (addr: string) => !namesrvAddrs.includes(addr) }) };
}

export function wrapTransportError(addr: string, err: unknown): unknown {
  if (err instanceof RemotingTimeoutError) return new BrokerUnreachableError(addr, true, { cause: err });
  if (err instanceof RemotingConnectionError) return new BrokerUnreachableError(addr, err.outcomeUnknown, { cause: err });
  if (err instanceof RemotingOverloadError) return new BrokerUnreachableError(addr, false, { cause: err });
  if (err instanceof RemotingClosedError) return new ClientStateError('the client was shut down while the request was pending; the outcome is unknown');
  return err;
}
