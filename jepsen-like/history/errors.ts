// Errors of the history layer. A malformed history file is an operating error (a crashed
// writer, a hand-edited file) with a stable code and the line it broke on; misuse of the recorder
// API (a completion without an invoke) is a programmer error and asserts.

export type HistoryErrorCode =
  /** A line that is not JSON, lacks a field, has a wrong type, or breaks invoke/completion pairing. */
  'ERR_JEPSEN_HISTORY_MALFORMED';

export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
  readonly code: HistoryErrorCode = 'ERR_JEPSEN_HISTORY_MALFORMED';

  constructor(
    /** 1-based line number in the file (or in the parsed text). */
    readonly lineNumber: number,
    /** What is wrong with the line, in words. */
    readonly reason: string,
    /** Where the text came from (a path), for the message. */
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}:${lineNumber}: malformed history line: ${reason}`, options);
  }
}

export class HistoryAssertionError extends Error {
  override readonly name = 'HistoryAssertionError';
}

/** Programmer-error check for the recorder and checkers: crash loudly where the bug is. */
export function historyAssert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new HistoryAssertionError(message);
}
