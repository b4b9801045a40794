// The CommitLog is the Raft log, so RocketMQ's flushDiskType becomes the Raft runner's flush
// policy. It lives in the broker because only the broker knows both the config and Raft.

import type { FlushPolicy } from '../../raft/index.js';
import type { FlushDiskType } from './broker-config.js';

/** RocketMQ's default flushIntervalCommitLog. */
export const DEFAULT_FLUSH_INTERVAL_COMMIT_LOG_MS = 500;

/**
 * The Raft log flush policy for a broker's `flushDiskType`: ASYNC_FLUSH flushes every
 * `flushIntervalCommitLogMs` and never makes a send wait for the disk; SYNC_FLUSH makes the
 * runner sync each Ready's appends (one group commit per event-loop turn) before acknowledging,
 * so a send is answered only when its entry is on disk on a quorum.
 */
export function raftFlushPolicy(flushDiskType: FlushDiskType, flushIntervalCommitLogMs = DEFAULT_FLUSH_INTERVAL_COMMIT_LOG_MS): FlushPolicy {
  if (flushDiskType === 'SYNC_FLUSH') return { mode: 'sync' };
  if (flushDiskType !== 'ASYNC_FLUSH') throw new RangeError(`flushDiskType ${String(flushDiskType)} must be ASYNC_FLUSH or SYNC_FLUSH`);
  if (!Number.isInteger(flushIntervalCommitLogMs) || flushIntervalCommitLogMs < 1) {
    throw new RangeError(`flushIntervalCommitLog ${flushIntervalCommitLogMs} must be a positive number of milliseconds`);
  }
  return { mode: 'async', intervalMs: flushIntervalCommitLogMs };
}

