// How the CLI ends when something goes wrong. A user mistake or an operating error (a typed
// error with a stable code) prints one line that says what to change and exits 1; anything else
// is a bug and also prints one line, plus the stack only with --verbose, and exits 2.
import type { Command } from 'commander';
import { isRmqError, RmqError } from '../common/errors.js';

/** A mistake in the command line or its environment that the user can fix. */
export class CliError extends RmqError {
  constructor(message: string, code = 'ERR_CLI_USAGE') {
    super(code, message);
  }
}

/** Exit status by kind of failure; documented in docs/cli.md. */
export const ExitCode = {
  OK: 0,
  /** A user mistake or an operating error (bad flag value, unreachable NameServer, lost messages). */
  FAILED: 1,
  /** An unexpected internal error (a bug). */
  INTERNAL: 2,
} as const;

/** Prints the error the way docs/cli.md promises and returns the exit status to use. */
export function reportError(err: unknown, verbose: boolean): number {
  const message = err instanceof Error ? err.message : String(err);
  if (isRmqError(err)) {
    // The stable code last, so scripts can match it and the line still reads as a sentence.
    process.stderr.write(`error: ${message} [${err.code}]\n`);
    if (verbose && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
    return ExitCode.FAILED;
  }
  process.stderr.write(`internal error: ${message}${verbose ? '' : ' (run again with --verbose for details)'}\n`);
  if (verbose && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
  return ExitCode.INTERNAL;
}

/** commander's own refusals (unknown option, missing value, clashing flags) are usage errors. */
export const COMMANDER_ERROR_CODE = 'ERR_CLI_USAGE';

/**
 * Gives commander's error lines of `cmd` and every sub-command the code our own errors carry
 * (`error: unknown option '--x' [ERR_CLI_USAGE]`); call once every command is registered.
 */
export function tagCommanderErrors(cmd: Command): void {
  cmd.configureOutput({ outputError: (str, write) => write(str.replace(/\n?$/, ` [${COMMANDER_ERROR_CODE}]\n`)) });
  for (const sub of cmd.commands) tagCommanderErrors(sub);
}
