// Operating errors of the cluster db: a node that does not come up in time, or a node file system
// that cannot be mounted. Each has a stable code and names the node. (A process that cannot be
// spawned or does not exit is the supervisor's ProcessError, raft/tools/process/process-errors.ts.)
import { CodedError } from '../../raft/coded-error.js';

export type DbErrorCode =
  /** A node or NameServer did not accept connections on its port in time after (re)start. */
  | 'ERR_JEPSEN_NODE_NOT_READY'
  /** A node's own small file system (for disk-full faults) could not be mounted (needs root). */
  | 'ERR_JEPSEN_NODE_FS';

export class DbError extends CodedError<DbErrorCode> {}
