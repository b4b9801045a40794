// Operating errors of the Raft node process's IPC handler. A reply carries the code back to the
// parent (control-protocol.ts), which switches on it.
import { CodedError } from '../../coded-error.js';

export type NodeProcessErrorCode =
  /** A `load` request while an earlier load is still running; wait for it or send `stop-load`. */
  'ERR_DEMO_LOAD_RUNNING';

export class NodeProcessError extends CodedError<NodeProcessErrorCode> {}
