// Where the derived store files live. By default everything is under the store's root; an
// operator may put ConsumeQueues and indexes on another disk (broker.conf storePathConsumeQueue,
// storePathindex, storeCheckpoint, abortFile), as RocketMQ allows.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileSync } from './file-sync.js';

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

/**
 * The paths a store under `root` uses (the defaults with `overrides` over them), with the root
 * made. Under the root, ConsumeQueue and index folders are made (and their names synced) when
 * first written; a folder elsewhere (another disk) is made now so its disk can be watched for space.
 */
export function prepareStorePaths(root: string, overrides: Partial<StorePaths> | undefined): StorePaths {
  mkdirSync(root, { recursive: true });
  const paths: StorePaths = { ...defaultStorePaths(root), ...overrides };
  for (const dir of [paths.consumeQueueDir, paths.indexDir, dirname(paths.checkpointFile), dirname(paths.abortFile)]) {
    if (isInside(root, dir) || existsSync(dir)) continue;
    mkdirSync(dir, { recursive: true });
    fileSync.dir(dirname(dir));
  }
  return paths;
}

/** Whether `path` is `root` or below it. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
