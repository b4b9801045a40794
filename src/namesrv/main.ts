// Entry point of the NameServer process: `node dist/src/namesrv/main.js --port 9876`.
// Prints one "name server listening on host:port" line to stdout once it accepts connections
// (process harnesses wait for it) and shuts down cleanly on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { configureRootLogger, createLogger } from '../common/logger.js';
import { NameServer } from './namesrv.js';
import { MetricsServer } from '../metrics/metrics-server.js';
import { NamesrvMetrics } from '../metrics/namesrv-metrics.js';
import { DEFAULT_MASTER_SILENCE_MS } from './route-info-manager.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got '${value}'`);
  return n;
}

function envPath(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The certificate and key to serve TLS with, read now so a bad path stops the start with its name. */
function namesrvTls(certPath: string | undefined, keyPath: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) throw new Error('TLS needs both --tls-cert-path and --tls-key-path (or RMQ_NAMESRV_TLS_CERT_PATH and RMQ_NAMESRV_TLS_KEY_PATH)');
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${flag} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  return { cert: read('--tls-cert-path', certPath), key: read('--tls-key-path', keyPath) };
}

async function main(): Promise<void> {
  const program = new Command()
    .name('namesrv')
    .description('RocketMQ-compatible NameServer')
    .option('--port <port>', 'listen port', positiveInt, 9876)
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--broker-expiry-ms <ms>', 'remove a broker not heard from for this long', positiveInt, 120_000)
    .option('--scan-interval-ms <ms>', 'how often to look for silent brokers', positiveInt, 10_000)
    .option('--master-silence-ms <ms>', 'a master silent this long yields brokerId 0 to a live claimant of any Raft term', positiveInt, DEFAULT_MASTER_SILENCE_MS)
    .option('--registration-key-file <file>', 'brokers must sign registrations with a key in this file (one per line; brokers: namesrvRegistrationKey); also RMQ_NAMESRV_REGISTRATION_KEY')
    .option('--tls-cert-path <file>', 'serve TLS only, with this certificate (PEM; with --tls-key-path); also RMQ_NAMESRV_TLS_CERT_PATH')
    .option('--tls-key-path <file>', 'the private key of --tls-cert-path (PEM); also RMQ_NAMESRV_TLS_KEY_PATH')
    .option('--metrics-port <port>', 'HTTP port for /metrics, /healthz and /readyz on --host (0 = off)', positiveInt, 0)
    .option('--log-pretty', 'human-readable log lines (pino-pretty) instead of JSON (also RMQ_LOG_PRETTY=1)')
    .parse(process.argv);
  const opts = program.opts<{ port: number; host: string; brokerExpiryMs: number; scanIntervalMs: number; masterSilenceMs: number; registrationKeyFile?: string; tlsCertPath?: string; tlsKeyPath?: string; metricsPort: number; logPretty?: boolean }>();
  if (opts.logPretty === true) {
    process.env['RMQ_LOG_PRETTY'] = '1';
    configureRootLogger();
  }
  const log = createLogger({ component: 'namesrv' });
  // A file or the environment rather than an argument: arguments are visible to every user in ps.
  const keyText = opts.registrationKeyFile !== undefined ? readFileSync(opts.registrationKeyFile, 'utf8') : (process.env['RMQ_NAMESRV_REGISTRATION_KEY'] ?? '');
  const registrationKeys = keyText.split(/[,\n]/).map((k) => k.trim()).filter((k) => k !== '');
  const tls = namesrvTls(opts.tlsCertPath ?? envPath('RMQ_NAMESRV_TLS_CERT_PATH'), opts.tlsKeyPath ?? envPath('RMQ_NAMESRV_TLS_KEY_PATH'));
  const namesrv = new NameServer({ logger: log, brokerExpiryMs: opts.brokerExpiryMs, scanIntervalMs: opts.scanIntervalMs, masterSilenceMs: opts.masterSilenceMs, registrationKeys, ...(tls !== undefined ? { tls } : {}) });
  const bound = await namesrv.start({ port: opts.port, host: opts.host });
  let metricsServer: MetricsServer | undefined;
  if (opts.metricsPort > 0) {
    const metrics = new NamesrvMetrics({
      liveBrokers: () => namesrv.routes.liveBrokerCount,
      topics: () => namesrv.routes.getTopicNames().length,
      groups: () => Object.values(namesrv.routes.getClusterInfo().brokerAddrTable).map((bd) => ({
        brokerName: bd.brokerName,
        nodes: Object.keys(bd.brokerAddrs).length,
        masterTerm: bd.brokerAddrs['0'] === undefined ? undefined : (namesrv.routes.getMasterTerm(bd.brokerName) ?? 0),
      })),
    });
    namesrv.onRouteQuery((e) => metrics.routeQuery(e.responseCode === 0));
    metricsServer = await MetricsServer.start({ host: opts.host, port: opts.metricsPort, registry: metrics.registry, readiness: () => ({ ready: true, detail: 'answering route queries' }) });
    log.info({ metricsAddr: metricsServer.address }, 'metrics endpoint listening');
  }
  process.stdout.write(`name server listening on ${bound.host}:${bound.port}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    Promise.all([namesrv.close(), metricsServer?.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`name server failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
