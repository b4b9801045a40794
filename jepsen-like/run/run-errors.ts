// Operating errors of a jepsen-like run as a whole (the launcher's own failures; the processes',
// the proxies' and the checkers' have their own classes): each has a stable code.
import { CodedError } from '../../raft/coded-error.js';

export type RunErrorCode =
  /** --out already holds a run (history.jsonl): a run never overwrites another. */
  | 'ERR_JEPSEN_RUN_DIR_USED'
  /** The cluster did not come up on any free port block, or the topic never got every queue. */
  | 'ERR_JEPSEN_RUN_SETUP'
  /** The run passed its hard deadline. */
  | 'ERR_JEPSEN_RUN_DEADLINE'
  /** The body of a run went on after the run began stopping (its hard deadline passed). */
  | 'ERR_JEPSEN_RUN_STOPPED';

export class RunError extends CodedError<RunErrorCode> {}
