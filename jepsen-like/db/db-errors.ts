// Operating errors of the process layer: a program that cannot be started, or a process that
// does not exit or come up in time. Each has a stable code and names the process.

export type DbErrorCode =
  /** spawn failed (missing executable, bad cwd); `cause` has the system error. */
  | 'ERR_PROCESS_SPAWN'
  /** A process did not exit within the wait after a signal (a SIGKILLed process always should). */
  | 'ERR_PROCESS_EXIT_TIMEOUT'
  /** A node or NameServer did not accept connections on its port in time after (re)start. */
  | 'ERR_NODE_NOT_READY'
  /** A node's own small file system (for disk-full faults) could not be mounted (needs root). */
  | 'ERR_NODE_FS';

export class DbError extends Error {
  override readonly name = 'DbError';

  constructor(
    readonly code: DbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
