// The logger factory: one pino root per process, and a child per component so every line says
// where it came from ({component, nodeId, group, ...}). Errors are logged under `err`.
import { pino, type Logger, type LoggerOptions } from 'pino';

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

/** Replaces the process-wide root logger (a main() may configure level or destination once). */
export function configureRootLogger(options: LoggerOptions = {}): Logger {
  root = pino({ level: defaultLevel(), ...options });
  return root;
}

/** A child logger of the process root with the given bindings. */
export function createLogger(bindings: LoggerBindings): Logger {
  root ??= configureRootLogger();
  return root.child(bindings);
}
