// How a MessageStore is opened: the dispatcher's hooks plus the store's own tuning knobs.
import type { FileLayer } from '../../raft/storage/mapped-file.js';
import type { DispatcherHooks } from './dispatcher.js';
import type { IndexOptions } from './index-service.js';
import type { QueueFilePoolOptions } from './queue-file-pool.js';
import type { StorePaths } from './store-paths.js';

export interface MessageStoreOptions extends DispatcherHooks {
  unitsPerFile?: number;
  index?: Partial<IndexOptions>;
  /** Bytes of log entries read per dispatch batch (default 4 MiB). */
  dispatchBatchBytes?: number;
  /** Check every record's body CRC at dispatch, not only after an unclean shutdown. */
  verifyCrcOnDispatch?: boolean;
  delayLevelsMs?: readonly number[];
  /** Clock for the flush timestamps in the checkpoint. */
  nowMs?: () => number;
  /**
   * Log entries past this index may be stale or missing (the Raft log restarted after a power
   * loss under async flush): ConsumeQueue and IndexFile units built from them are dropped at
   * open and rebuilt as Raft re-applies them. Default: the log's last index.
   */
  trustedLogIndex?: number;
  /** Open ConsumeQueue files: bound and idle time (default 1,024 files, 60 s; queue-file-pool.ts). */
  consumeQueueFiles?: QueueFilePoolOptions;
  /**
   * The layer under the ConsumeQueue and IndexFile mappings (the real one by default; the
   * test-only lazy one keeps their synced bytes apart, see raft/storage/lazy-fs.ts).
   */
  fileLayer?: FileLayer;
  /** Where the derived files live; each defaults to its place under the store's root. */
  paths?: Partial<StorePaths>;
}
