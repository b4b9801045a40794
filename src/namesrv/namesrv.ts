// The NameServer process core: a RemotingServer with the NameServer processors, the routing
// state, and the expiry scan that drops brokers silent for longer than brokerExpiryMs. A closed
// broker connection does not remove the broker: only silence or UNREGISTER_BROKER does, so a
// NameServer restart or a flapping link never empties the routes.
import type { TlsOptions } from 'node:tls';
import { assert } from '../common/assert.js';
import { createLogger, type Logger } from '../common/logger.js';
import { RemotingServer } from '../protocol/remoting-server.js';
import { registerNamesrvProcessors, type RouteQueryEvent } from './namesrv-processors.js';
import { RegistrationGuard, type RegistrationGuardStats } from './registration-guard.js';
import { RouteInfoManager } from './route-info-manager.js';

export interface NameServerOptions {
  logger?: Logger;
  /** A broker address not refreshed for this long is removed (RocketMQ: 120 s). */
  brokerExpiryMs?: number;
  /** How often to look for expired brokers (RocketMQ: 10 s). */
  scanIntervalMs?: number;
  /** A master silent this long yields brokerId 0 to a live claimant of any term (default 45 s). */
  masterSilenceMs?: number;
  /**
   * Keys a broker must sign REGISTER_BROKER and UNREGISTER_BROKER with (any of them verifies, for
   * rotation); empty: anyone may register (a warning at start-up).
   */
  registrationKeys?: readonly string[];
  /** Clock for the live table; tests inject one. */
  nowMs?: () => number;
  /** Serve TLS only (certificate and key) instead of plain TCP; brokers then need namesrvTlsEnable. */
  tls?: TlsOptions;
}

export type RouteQueryListener = (event: RouteQueryEvent) => void;

export class NameServer {
  readonly routes: RouteInfoManager;
  private readonly log: Logger;
  private readonly brokerExpiryMs: number;
  private readonly scanIntervalMs: number;
  private readonly nowMs: () => number;
  private readonly routeQueryListeners: RouteQueryListener[] = [];
  private readonly guard: RegistrationGuard;
  private readonly tls: TlsOptions | undefined;
  private server: RemotingServer | undefined;
  private scanTimer: NodeJS.Timeout | undefined;

  constructor(options: NameServerOptions = {}) {
    this.log = options.logger ?? createLogger({ component: 'namesrv' });
    this.brokerExpiryMs = options.brokerExpiryMs ?? 120_000;
    this.scanIntervalMs = options.scanIntervalMs ?? 10_000;
    this.nowMs = options.nowMs ?? Date.now;
    this.tls = options.tls;
    this.routes = new RouteInfoManager(options.masterSilenceMs !== undefined ? { masterSilenceMs: options.masterSilenceMs } : {});
    this.guard = new RegistrationGuard((options.registrationKeys ?? []).filter((k) => k !== ''), this.log.child({ component: 'registration-guard' }));
    assert(this.brokerExpiryMs > 0 && this.scanIntervalMs > 0, 'expiry and scan interval must be positive');
  }

  /** Route changes refused for a missing or wrong registration signature. */
  stats(): RegistrationGuardStats {
    return this.guard.stats();
  }

  /** Called after each GET_ROUTEINFO_BY_TOPIC is answered (tests, metrics). */
  onRouteQuery(listener: RouteQueryListener): void {
    this.routeQueryListeners.push(listener);
  }

  async start(options: { port: number; host?: string }): Promise<{ host: string; port: number }> {
    assert(this.server === undefined, 'NameServer.start called twice');
    const server = new RemotingServer({ logger: this.log.child({ component: 'remoting-server' }), ...(this.tls !== undefined ? { tls: this.tls } : {}) });
    registerNamesrvProcessors(server, {
      routes: this.routes,
      log: this.log,
      nowMs: this.nowMs,
      guard: this.guard,
      onRouteQuery: (event) => {
        for (const listener of this.routeQueryListeners) listener(event);
      },
    });
    this.server = server;
    const bound = await server.listen(options.port, options.host ?? '127.0.0.1');
    this.scanTimer = setInterval(() => this.scanNotActiveBrokers(), this.scanIntervalMs);
    this.scanTimer.unref();
    this.log.info({ ...bound, brokerExpiryMs: this.brokerExpiryMs, registrationSigned: this.guard.enabled, tls: this.tls !== undefined }, 'name server started');
    if (!this.guard.enabled) this.log.warn('no registration key: any process that reaches this NameServer can register or unregister brokers (docs/security.md)');
    return bound;
  }

  /** Runs one expiry scan now; returns the removed addresses. */
  scanNotActiveBrokers(): string[] {
    const expired = this.routes.expire(this.nowMs(), this.brokerExpiryMs);
    if (expired.length > 0) this.log.warn({ expired, brokerExpiryMs: this.brokerExpiryMs }, 'removed brokers that stopped registering');
    return expired;
  }

  async close(): Promise<void> {
    if (this.scanTimer !== undefined) clearInterval(this.scanTimer);
    this.scanTimer = undefined;
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }
}
