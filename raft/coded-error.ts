// The coded-error base of the Raft library and of the tools and harness built on it (raft/ stands
// alone, so it cannot share src/common's RmqError, which is the same idea for src/): an
// operating error carries a stable `code` from its layer's union of codes (documented in
// docs/errors.md), and callers switch on the code, never on the message text.

export class CodedError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
