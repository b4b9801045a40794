// Operating errors of the process supervisor: a program that cannot be started, or a process
// that does not exit in time. Each has a stable code and names the process.
import { CodedError } from '../../coded-error.js';

export type ProcessErrorCode =
  /** spawn failed (missing executable, bad cwd); `cause` has the system error. */
  | 'ERR_PROCESS_SPAWN'
  /** A process did not exit within the wait after a signal (a SIGKILLed process always should). */
  | 'ERR_PROCESS_EXIT_TIMEOUT'
  /** A compiled entry point (dist/...) is missing: build first. */
  | 'ERR_PROCESS_NOT_BUILT'
  /** The port finder found no block of free ports. */
  | 'ERR_PROCESS_NO_FREE_PORTS';

export class ProcessError extends CodedError<ProcessErrorCode> {}
