// Operating errors of the network-fault layer: a proxy that cannot listen (the port is taken by
// something else) is a setup problem the harness reports with the port, not a crash.
import { CodedError } from '../../raft/coded-error.js';

export type NetErrorCode =
  /** A proxy could not listen on its port (EADDRINUSE, EACCES); `cause` has the system error. */
  | 'ERR_JEPSEN_PROXY_LISTEN'
  /** A port did not accept a TCP connection before the deadline (a process that never came up). */
  | 'ERR_JEPSEN_PORT_WAIT_TIMEOUT';

export class NetError extends CodedError<NetErrorCode> {}
