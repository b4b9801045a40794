// `node dist/src/broker/main.js -c broker.conf`: starts one broker node (one Raft peer of its
// group). A bad broker.conf prints the message naming the key and exits 1; SIGTERM/SIGINT stop
// the node cleanly (stores flushed) and exit 0; a failed Raft log write (ENOSPC, EIO) stops it with
// exit 3. Prints "broker listening on <addr>" when ready.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { configureRootLogger } from '../common/logger.js';
import { parsePeers } from '../../raft/index.js';
import { BrokerConfigError, parseBrokerConfig, peerSecrets } from './broker-config.js';
import { BrokerController } from './broker-controller.js';
import { unsafeTestFaultFrom, warnUnsafeTestFault } from './unsafe-test-faults.js';

// TEST ONLY: RMQ_UNSAFE_TEST_FAULT names a deliberately unsafe behaviour (an unknown name stops here).
const unsafeTestFault = unsafeTestFaultFrom(process.env);
if (unsafeTestFault !== undefined) warnUnsafeTestFault(unsafeTestFault);

const program = new Command()
  .name('broker')
  .requiredOption('-c, --config <file>', 'broker.conf (RocketMQ key=value format)')
  .option('--log-pretty', 'human-readable log lines (pino-pretty) instead of JSON (also RMQ_LOG_PRETTY=1)')
  .parse();
const opts = program.opts<{ config: string; logPretty?: boolean }>();
if (opts.logPretty === true) process.env['RMQ_LOG_PRETTY'] = '1';

let text: string;
try {
  text = readFileSync(opts.config, 'utf8');
} catch (err) {
  console.error(`cannot read ${opts.config}: ${(err as Error).message}`);
  process.exit(1);
}

let parsed: ReturnType<typeof parseBrokerConfig>;
try {
  parsed = parseBrokerConfig(text);
} catch (err) {
  if (err instanceof BrokerConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

// ACL rules live beside broker.conf unless aclFile names them (RocketMQ keeps plain_acl.yml in
// its conf folder next to broker.conf).
if (parsed.config.aclEnable) parsed.config.aclFile = resolve(dirname(resolve(opts.config)), parsed.config.aclFile === '' ? 'plain_acl.yml' : parsed.config.aclFile);

// TLS files, like the ACL file, are relative to broker.conf's folder.
for (const key of ['tlsCertPath', 'tlsKeyPath', 'tlsCaPath'] as const) {
  if (parsed.config[key] !== '') parsed.config[key] = resolve(dirname(resolve(opts.config)), parsed.config[key]);
}

// The Raft peer secret may live in its own file (mode 0600), relative to broker.conf's folder.
if (parsed.config.dLegerPeerSecretFile !== '') {
  const file = resolve(dirname(resolve(opts.config)), parsed.config.dLegerPeerSecretFile);
  try {
    const secrets = peerSecrets('dLegerPeerSecretFile', readFileSync(file, 'utf8'));
    if (secrets.length === 0) throw new BrokerConfigError('dLegerPeerSecretFile', `broker.conf: dLegerPeerSecretFile=${file} holds no secret`);
    parsed.config.dLegerPeerSecret = secrets.join(',');
  } catch (err) {
    console.error(err instanceof BrokerConfigError ? err.message : `broker.conf: dLegerPeerSecretFile=${file} cannot be read: ${(err as Error).message}`);
    process.exit(1);
  }
}

const logger = configureRootLogger().child({ component: 'broker' });
for (const w of parsed.warnings) logger.warn(w);
if (parsed.config.dLegerPeerSecret === '') {
  logger.warn('dLegerPeerSecret is not set: Raft peers are not authenticated, so anyone who reaches the Raft port can disrupt this group (docs/security.md)');
}

/** How long a broker whose Raft log failed may spend closing before it exits anyway. */
const FATAL_CLOSE_BOUND_MS = 5000;
/** Exit code of a fail-stop on a storage error (1 is a bad config or a failed start). */
const EXIT_STORAGE_FAILED = 3;

let broker: BrokerController | undefined;
let stopping = false;

/**
 * Fail-stop: the Raft log failed (ENOSPC, EIO). Close what can be closed within a bound (the
 * disk may refuse that too), then exit non-zero; a restart once the disk is fixed recovers
 * from what is on disk. Never an unhandled exception in the middle of a turn.
 */
function onFatal(err: Error): void {
  if (stopping) return;
  stopping = true;
  console.error(`broker stopped: the raft log failed: ${err.message}`);
  const closing = broker?.close().catch((closeErr: unknown) => logger.error({ err: closeErr }, 'close after a storage failure failed')) ?? Promise.resolve();
  const bound = new Promise((resolve) => setTimeout(resolve, FATAL_CLOSE_BOUND_MS));
  void Promise.race([closing, bound]).finally(() => process.exit(EXIT_STORAGE_FAILED));
}

try {
  broker = await BrokerController.start(parsed.config, { logger, onFatal, ...(unsafeTestFault !== undefined ? { unsafeTestFault } : {}) });
} catch (err) {
  logger.error({ err }, 'broker failed to start');
  console.error(`broker failed to start: ${(err as Error).message}${portHint(err)}`);
  process.exit(1);
}

/** For a port another process holds: which broker.conf key names it, so the user knows what to change. */
function portHint(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e.code !== 'EADDRINUSE' && e.code !== 'EACCES') return '';
  const c = parsed.config;
  // parseBrokerConfig already parsed dLegerPeers with this parser, so it does not throw here.
  const raftPort = parsePeers(c.dLegerPeers).find((p) => p.id === c.dLegerSelfId)?.port;
  const key = e.port === c.listenPort ? `listenPort=${c.listenPort}` : e.port !== undefined && e.port === c.metricsPort ? `metricsPort=${c.metricsPort}` : e.port !== undefined && e.port === raftPort ? `the port of ${c.dLegerSelfId} in dLegerPeers (${raftPort})` : `port ${e.port ?? '?'}`;
  const what = e.code === 'EADDRINUSE' ? 'is already in use by another process' : 'may not be bound by this user';
  return ` (${key} ${what}; stop that process or change broker.conf)`;
}
console.log(`broker listening on ${broker.brokerAddr}`);

async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  try {
    await broker!.close();
    process.exit(0);
  } catch (err) {
    logger.error({ err }, 'unclean stop');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
