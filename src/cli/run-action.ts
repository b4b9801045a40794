// Wraps every command's action: quiet client logs unless --verbose, typed errors printed as one
// line (cli-errors.ts), and an explicit exit when the action is done, because client sockets or
// timers must not keep a finished command alive. Server commands return KEEP_RUNNING instead.
import type { Command } from 'commander';
import { configureRootLogger } from '../common/logger.js';
import { ExitCode, reportError } from './cli-errors.js';

export const KEEP_RUNNING = Symbol('keep-running');
export type ActionResult = number | void | typeof KEEP_RUNNING;

export interface GlobalOptions {
  verbose?: boolean;
}

export function isVerbose(cmd: Command): boolean {
  return (cmd.optsWithGlobals() as GlobalOptions).verbose === true;
}

/**
 * Client logs go to stdout (pino's default), where they would corrupt --json output, so a
 * command run silences them unless --verbose or RMQ_LOG_LEVEL asks for them.
 */
export function quietClientLogs(cmd: Command): void {
  configureRootLogger({ level: process.env['RMQ_LOG_LEVEL'] ?? (isVerbose(cmd) ? 'info' : 'silent') });
}

/** commander action wrapper: `(opts, cmd) => body(opts, cmd)` with the exit policy above. */
export function action<O>(body: (opts: O, cmd: Command) => Promise<ActionResult>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts() as O;
    let code: number = ExitCode.OK;
    try {
      quietClientLogs(cmd);
      const result = await body(opts, cmd);
      if (result === KEEP_RUNNING) return;
      if (typeof result === 'number') code = result;
    } catch (err) {
      code = reportError(err, isVerbose(cmd));
    }
    await flushed(process.stdout);
    await flushed(process.stderr);
    process.exit(code);
  };
}

/**
 * Resolves once everything written so far has left the stream: process.exit() drops data still
 * queued for a pipe, which cut large --json documents short.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}
