// Operating errors of the process supervisor: a program that cannot be started, or a process
// that does not exit in time. Each has a stable code and names the process.

export type ProcessErrorCode =
  /** spawn failed (missing executable, bad cwd); `cause` has the system error. */
  | 'ERR_PROCESS_SPAWN'
  /** A process did not exit within the wait after a signal (a SIGKILLed process always should). */
  | 'ERR_PROCESS_EXIT_TIMEOUT'
  /** A compiled entry point (dist/...) is missing: build first. */
  | 'ERR_NOT_BUILT';

export class ProcessError extends Error {
  override readonly name = 'ProcessError';

  constructor(
    readonly code: ProcessErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
