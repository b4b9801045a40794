// Operating errors of the dev-cluster kit: a cluster folder that cannot be used, a port block that
// is taken, a process or leader that does not come up. The codes carry the kit's prefix,
// ERR_DEVKIT_ (docs/errors.md, "Prefixes by layer"); `rmq` prints them as one line.
import { RmqError } from '../common/errors.js';

export type DevkitErrorCode =
  | 'ERR_DEVKIT_USAGE'
  | 'ERR_DEVKIT_NO_CLUSTER'
  | 'ERR_DEVKIT_BAD_CLUSTER_FILE'
  | 'ERR_DEVKIT_CLUSTER_RUNNING'
  | 'ERR_DEVKIT_PORT_IN_USE'
  | 'ERR_DEVKIT_START_FAILED'
  | 'ERR_DEVKIT_NO_LEADER'
  /** `cluster restart --rolling` stopped at a node (hand-over, no ready leader, no catch-up). */
  | 'ERR_DEVKIT_ROLLING'
  /** `cluster add-node` / `remove-node` stopped at a step (a change refused, a learner that never caught up). */
  | 'ERR_DEVKIT_MEMBERSHIP'
  /** A node id that is not in the local cluster. */
  | 'ERR_DEVKIT_UNKNOWN_NODE';

export class DevkitError extends RmqError<DevkitErrorCode> {
  constructor(message: string, code: DevkitErrorCode = 'ERR_DEVKIT_USAGE', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
