// `rmq namesrv` and `rmq broker`: run the NameServer or one broker node in this process. They
// hand over to the very entry points `node dist/src/{namesrv,broker}/main.js` run, with the
// arguments those expect, so there is one startup path (logging, signals, exit codes) and not two.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { intInRange } from '../options.js';
import { action, KEEP_RUNNING } from '../run-action.js';

async function runEntryPoint(modulePath: string, args: string[]): Promise<typeof KEEP_RUNNING> {
  // The entry points parse process.argv themselves.
  process.argv = [process.argv[0]!, modulePath, ...args];
  // The CLI silenced the process-wide logger for client commands; servers log as usual.
  const { configureRootLogger } = await import('../../common/logger.js');
  configureRootLogger();
  await import(modulePath);
  return KEEP_RUNNING;
}

export const LOG_PRETTY_FLAG = '--log-pretty';
export const LOG_PRETTY_HELP = 'human-readable log lines (pino-pretty) instead of one JSON object per line';

const prettyArgs = (o: { logPretty?: boolean }): string[] => (o.logPretty === true ? ['--log-pretty'] : []);

export function registerServerCommands(program: Command): void {
  program
    .command('namesrv')
    .description('run a NameServer (RocketMQ mqnamesrv) in the foreground')
    .option('-p, --port <port>', 'listen port', intInRange(1, 65535), 9876)
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--metrics-port <port>', 'HTTP port for /metrics, /healthz and /readyz (0 = off)', intInRange(0, 65535), 0)
    .option('--tls-cert-path <file>', 'serve TLS only with this certificate (PEM; with --tls-key-path; also RMQ_NAMESRV_TLS_CERT_PATH)')
    .option('--tls-key-path <file>', 'the key of --tls-cert-path (PEM; also RMQ_NAMESRV_TLS_KEY_PATH)')
    .option(LOG_PRETTY_FLAG, LOG_PRETTY_HELP)
    .action(action<{ port: number; host: string; metricsPort: number; tlsCertPath?: string; tlsKeyPath?: string; logPretty?: boolean }>((o) => runEntryPoint('../../namesrv/main.js', [
      '--port', String(o.port), '--host', o.host, '--metrics-port', String(o.metricsPort),
      ...(o.tlsCertPath !== undefined ? ['--tls-cert-path', resolve(o.tlsCertPath)] : []),
      ...(o.tlsKeyPath !== undefined ? ['--tls-key-path', resolve(o.tlsKeyPath)] : []),
      ...prettyArgs(o),
    ])));

  program
    .command('broker')
    .description('run one broker node (one Raft peer of its group) in the foreground')
    .requiredOption('-c, --config <file>', 'broker.conf (RocketMQ key=value format; see docs/operations.md)')
    .option(LOG_PRETTY_FLAG, LOG_PRETTY_HELP)
    .action(action<{ config: string; logPretty?: boolean }>((o) => runEntryPoint('../../broker/main.js', ['-c', resolve(o.config), ...prettyArgs(o)])));
}
