// The base class for operating errors of src/ (raft/ has the same idea in raft/coded-error.ts,
// since the library stands alone); a layer's class narrows `code` to its own union of codes.
// Every error a caller may meet while the program is correct
// carries a stable `code` (documented in docs/errors.md, never reused) and, when it maps onto the
// wire, the RocketMQ response code a server should answer with.

export interface RmqErrorOptions {
  cause?: unknown;
  /** The RocketMQ response code a server answers with when this error ends a request. */
  responseCode?: number;
}

export class RmqError<C extends string = string> extends Error {
  readonly code: C;
  readonly responseCode: number | undefined;

  constructor(code: C, message: string, options: RmqErrorOptions = {}) {
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
