// Operating errors of the dev-cluster kit: a cluster folder that cannot be used, a port block that
// is taken, a process or leader that does not come up. The codes kept the ERR_CLI_ prefix they
// had when the kit was part of the CLI (codes are stable); `rmq` prints them as one line.
import { RmqError } from '../common/errors.js';

export type DevkitErrorCode =
  | 'ERR_CLI_USAGE'
  | 'ERR_CLI_NO_CLUSTER'
  | 'ERR_CLI_BAD_CLUSTER_FILE'
  | 'ERR_CLI_CLUSTER_RUNNING'
  | 'ERR_CLI_PORT_IN_USE'
  | 'ERR_CLI_START_FAILED'
  | 'ERR_CLI_NO_LEADER'
  /** `cluster restart --rolling` stopped at a node (hand-over, no ready leader, no catch-up). */
  | 'ERR_CLI_ROLLING'
  /** `cluster add-node` / `remove-node` stopped at a step (a change refused, a learner that never caught up). */
  | 'ERR_CLI_MEMBERSHIP'
  /** A node id that is not in the local cluster. */
  | 'ERR_DEVKIT_UNKNOWN_NODE';

export class DevkitError extends RmqError<DevkitErrorCode> {
  constructor(message: string, code: DevkitErrorCode = 'ERR_CLI_USAGE', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
