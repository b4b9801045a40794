// The logger factory: one pino root per process, and a child per component so every line says
// where it came from ({component, nodeId, group, ...}). Errors are logged under `err`.
// Lines are JSON (one object per line, for log shippers and alerts) unless RMQ_LOG_PRETTY=1
// (`--log-pretty` of `rmq broker`, `rmq namesrv` and `rmq cluster up`) asks for pino-pretty's
// human layout. The `event` field of the lines an operator alerts on is listed in
// docs/operations.md ("Log events").
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerBindings {
  component: string;
  [key: string]: unknown;
}

let root: Logger | undefined;

function defaultLevel(): string {
  // Tests run many servers in one process; RMQ_LOG_LEVEL lets them stay quiet.
  return process.env['RMQ_LOG_LEVEL'] ?? 'info';
}

/** True when the environment asks for human-readable logs (RMQ_LOG_PRETTY=1 or true). */
export function prettyLogsWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['RMQ_LOG_PRETTY'];
  return v === '1' || v === 'true';
}

/**
 * pino-pretty as a synchronous stream on stdout (no worker thread: a process.exit() right after
 * a line must not lose it). Undefined when the package is not installed: the lines stay JSON and
 * one warning says why.
 */
function prettyStream(): DestinationStream | undefined {
  try {
    const build = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
    return build({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    process.stderr.write('RMQ_LOG_PRETTY is set but pino-pretty is not installed; logging JSON lines\n');
    return undefined;
  }
}

/**
 * pino appends a child's bindings to its parent's, so a component's child of a node's logger
 * would carry `component` twice; each line is written with every key once, the innermost value
 * kept (what JSON.parse would keep), so log shippers and `jq` see one `component`.
 */
export function withUniqueKeys(line: string): string {
  try {
    return `${JSON.stringify(JSON.parse(line))}\n`;
  } catch {
    return line;
  }
}

/** Replaces the process-wide root logger (a main() may configure level or destination once). */
export function configureRootLogger(options: LoggerOptions = {}): Logger {
  const pretty = prettyLogsWanted() ? prettyStream() : undefined;
  const o: LoggerOptions = { level: defaultLevel(), ...options, hooks: { streamWrite: withUniqueKeys, ...options.hooks } };
  root = pretty !== undefined ? pino(o, pretty) : pino(o);
  return root;
}

/** A child logger of the process root with the given bindings. */
export function createLogger(bindings: LoggerBindings): Logger {
  root ??= configureRootLogger();
  return root.child(bindings);
}
