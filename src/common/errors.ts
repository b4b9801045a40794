// The base class for operating errors: every error a caller may meet while the program is correct
// carries a stable `code` (documented in docs/errors.md, never reused) and, when it maps onto the
// wire, the RocketMQ response code a server should answer with.

export interface RmqErrorOptions {
  cause?: unknown;
  /** The RocketMQ response code a server answers with when this error ends a request. */
  responseCode?: number;
}

export class RmqError extends Error {
  readonly code: string;
  readonly responseCode: number | undefined;

  constructor(code: string, message: string, options: RmqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.responseCode = options.responseCode;
  }
}

/** True for errors of this project (typed, with a stable code). */
export function isRmqError(err: unknown): err is RmqError {
  return err instanceof RmqError;
}
