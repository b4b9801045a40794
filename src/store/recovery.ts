// Start-up recovery of the dispatched state: decide from which Raft index dispatch resumes and cut
// every ConsumeQueue unit and IndexFile entry that points at or past the matching log position, so
// the redo rebuilds exactly what a never-interrupted run would have built.
//   - A checkpoint says how far dispatch got; it is capped by the log's last index (the log may
//     have lost an unflushed tail, or been cut).
//   - Without a (valid) checkpoint, the ConsumeQueues themselves say how far dispatch got: the
//     entry holding the newest unit is redone whole.
//   - Either way, units past the cut are removed; after an unclean shutdown the redone range is
//     also CRC-checked (see Dispatcher.verifyCrcUpTo).
//   - When dispatch resumes at the log's first entry (a new store, a lost checkpoint, a head cut
//     past the checkpoint), every queue starts at the offset the log's start record gives it
//     (queue-start.ts), so a rebuild numbers messages as the store that first dispatched them.
//   - Queues the start record names and the store has no file of are created at their offset.

import type { CommitLogReader } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { IndexService } from './index-service.js';
import { readInt64BE } from '../common/message/int64.js';
import type { StoreCheckpoint } from './checkpoint.js';
import { RecordOffset } from '../common/message/record-layout.js';
import { addMissingQueues, logQueueStarts, startQueuesAt } from './queue-start.js';

export interface RecoveryReport {
  /** The abort file was present: the last run did not close cleanly. */
  unclean: boolean;
  /** 'checkpoint' when resumed from it, 'consume-queues' when derived from them, 'empty' otherwise. */
  source: 'checkpoint' | 'consume-queues' | 'empty';
  /** Why the checkpoint was not used, when there was one. */
  checkpointProblem?: string;
  dispatchedIndex: number;
  dispatchedPhysicalOffset: number;
  /**
   * How many queues the log's start record names (undefined: the log has no record); with
   * `queuesStartedAtLogStart`, whether dispatch resumed at the log's first entry, so every
   * queue was started where the record says.
   */
  logStartQueues?: number;
  queuesStartedAtLogStart?: boolean;
}

/** Position just past entry `index`, or the position where the log's first entry starts. */
function endOf(log: CommitLogReader, index: number): number {
  const loc = log.locate(index);
  if (loc) return loc.payloadPosition + loc.payloadBytes;
  return firstPosition(log);
}

/** Byte position of the first entry present (the log's end when it is empty). */
export function firstPosition(log: CommitLogReader): number {
  const loc = log.locate(log.firstIndex());
  return loc ? loc.position : log.endPosition();
}

/** The Raft index whose entry holds byte `position` (binary search over entry positions). */
function indexHolding(log: CommitLogReader, position: number): number {
  let lo = log.firstIndex();
  let hi = log.lastIndex();
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (log.locate(mid)!.position <= position) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function storeTimestampAt(log: CommitLogReader, physicalOffset: number): number {
  return readInt64BE(log.slice(physicalOffset + RecordOffset.STORE_TIMESTAMP, 8), 0);
}

export function recoverDispatchState(
  log: CommitLogReader,
  queues: ConsumeQueueTable,
  index: IndexService,
  checkpoint: StoreCheckpoint | undefined,
  unclean: boolean,
  checkpointProblem?: string,
  trustedLogIndex?: number,
): RecoveryReport {
  const first = log.firstIndex();
  const last = log.lastIndex();
  // Past `trustedLogIndex` the log may hold stale entries (a power loss under async flush): what
  // was dispatched from there is redone once Raft has confirmed those entries again.
  const trusted = Math.min(last, trustedLogIndex ?? last);
  const starts = logQueueStarts(log);
  if (starts !== undefined) addMissingQueues(queues, starts);
  let dispatchedIndex: number;
  let cut: number;
  let source: RecoveryReport['source'];
  if (checkpoint) {
    source = 'checkpoint';
    dispatchedIndex = Math.min(checkpoint.dispatchedIndex, trusted);
    if (dispatchedIndex < first) {
      dispatchedIndex = first - 1;
      cut = firstPosition(log);
    } else {
      cut = endOf(log, dispatchedIndex);
    }
  } else {
    let newest = index.lastPhysicalOffset();
    for (const cq of queues.all()) if (cq.maxOffset > cq.minOffset) newest = Math.max(newest, cq.physicalOffsetAt(cq.maxOffset - 1));
    if (newest < 0 || trusted < first) {
      source = 'empty';
      dispatchedIndex = first - 1;
      cut = firstPosition(log);
    } else {
      source = 'consume-queues';
      const holding = indexHolding(log, Math.min(newest, log.endPosition() - 1, endOf(log, trusted) - 1));
      dispatchedIndex = holding - 1;
      cut = log.locate(holding)!.position;
    }
  }
  for (const cq of queues.all()) cq.truncateFrom(cut);
  index.truncateFrom(cut, (p) => {
    // A failed read leaves the end timestamp at the second precision the entries keep.
    try {
      return storeTimestampAt(log, p);
    } catch {
      return 0;
    }
  });
  const resumesAtStart = starts !== undefined && dispatchedIndex === first - 1;
  // Nothing from the first entry on is left after the cut: a rebuild from the log start.
  if (resumesAtStart) startQueuesAt(queues, starts);
  // Finishes what retention started if it was cut short (files wholly below the log start go).
  const minPhysicalOffset = firstPosition(log);
  for (const cq of queues.all()) cq.deleteBelow(minPhysicalOffset, starts === undefined);
  const report: RecoveryReport = { unclean, source, dispatchedIndex, dispatchedPhysicalOffset: cut };
  if (checkpointProblem !== undefined) report.checkpointProblem = checkpointProblem;
  if (starts !== undefined) {
    let named = 0;
    for (const byId of starts.values()) named += byId.size;
    report.logStartQueues = named;
    report.queuesStartedAtLogStart = resumesAtStart;
  }
  return report;
}
