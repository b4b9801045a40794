// Where the derived store files live. By default everything is under the store's root; an
// operator may put ConsumeQueues and indexes on another disk (broker.conf storePathConsumeQueue,
// storePathindex, storeCheckpoint, abortFile), as RocketMQ allows.
import { join } from 'node:path';

export interface StorePaths {
  /** Holds one folder per topic, each with one folder per queue id. */
  consumeQueueDir: string;
  /** Holds the IndexFiles. */
  indexDir: string;
  /** The checkpoint file (how far the derived files are known to be flushed). */
  checkpointFile: string;
  /** Present while the store is open: found at start, the last run did not close cleanly. */
  abortFile: string;
}

export function defaultStorePaths(root: string): StorePaths {
  return { consumeQueueDir: join(root, 'consumequeue'), indexDir: join(root, 'index'), checkpointFile: join(root, 'checkpoint'), abortFile: join(root, 'abort') };
}
