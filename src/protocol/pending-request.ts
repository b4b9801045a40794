// The bookkeeping of one request in flight on the remoting client: where it went, when it times
// out, and who hears its outcome (a ResponseHandler; PromiseHandler adapts invoke's promise).
import type { Connection } from './client-connection.js';
import type { RemotingCommand } from './remoting-command.js';

/**
 * Hears the outcome of one request made with request() or requestFrame(): exactly one call, after
 * the request was queued (never from inside request itself). Neither method may throw: they run
 * inside the socket's data handler and the timeout sweep.
 */
export interface ResponseHandler {
  /**
   * A response's body (like invoke's) is a view of memory this client never writes again — a
   * socket chunk or a reassembly of chunks — so it may be kept without a copy.
   */
  onResponse(cmd: RemotingCommand): void;
  onFailure(err: Error): void;
}

export class Pending {
  constructor(
    readonly opaque: number,
    readonly addr: string,
    readonly code: number,
    readonly timeoutMs: number,
    readonly deadlineMs: number,
    readonly connection: Connection,
    readonly handler: ResponseHandler,
  ) {}
}

/** Adapts a promise's settle functions to a ResponseHandler (the invoke API). */
export class PromiseHandler implements ResponseHandler {
  constructor(
    private readonly resolve: (cmd: RemotingCommand) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  onResponse(cmd: RemotingCommand): void {
    this.resolve(cmd);
  }

  onFailure(err: Error): void {
    this.reject(err);
  }
}
