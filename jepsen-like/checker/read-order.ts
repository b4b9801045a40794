// Read order per consumer: one process reading one queue must see offsets 0,1,2,... with no
// gap (a skip: messages it never saw) and no step back (nonmonotonic: messages it saw twice or
// out of order). The rule, kept simple on purpose:
//   - reads are grouped by (f, process, queue); polls and drains never share a sequence;
//   - an `assign` record starts a new epoch for that process on each queue it lists (a rebalance
//     handed the queue over, and the consumer resumes from the group's committed offset); the
//     first read of an epoch may be at any offset, unless the assign gave `startOffsets`, in
//     which case it must be exactly that offset (after: skip; before: nonmonotonic);
//   - within an epoch each read's offset is the previous one + 1: greater is a skip, equal or
//     smaller is nonmonotonic;
//   - only `ok` reads count (an info poll returned nothing the client could use).
import type { History, ProcessId, ReadF } from '../history/types.js';
import { ExampleList, type CheckResult } from './result.js';
import { retentionFloor } from './retention-floor.js';

export interface OrderExample {
  f: ReadF;
  process: ProcessId;
  queue: string;
  /** The previous offset read in this epoch, or the assign's start offset minus one. */
  previousOffset: number;
  offset: number;
  /** Index of the read's completion record. */
  index: number;
  epoch: number;
}

export interface SkippedResult extends CheckResult<OrderExample> {
  /** Offsets jumped over in total. */
  offsetsSkipped: number;
  /** Jumps that landed at or below the final retention floor: over deleted messages, not counted. */
  skippedExpired: number;
}

export interface ReadOrderResult {
  nonmonotonic: CheckResult<OrderExample>;
  skipped: SkippedResult;
}

interface Sequence {
  epoch: number;
  /** The offset the next read must have, once known. */
  expectedOffset: number | undefined;
}

export function checkReadOrder(history: History): ReadOrderResult {
  const sequences = new Map<string, Sequence>();
  const keyOf = (f: ReadF, process: ProcessId, queue: string): string => `${f}\u0000${JSON.stringify(process)}\u0000${queue}`;
  const backward = new ExampleList<OrderExample>();
  const gaps = new ExampleList<OrderExample>();
  let nonmonotonicCount = 0;
  let skippedCount = 0;
  let offsetsSkipped = 0;
  let skippedExpired = 0;
  const floor = retentionFloor(history);

  for (const op of history) {
    if (op.f === 'assign') {
      for (const queue of op.value.queues) {
        const key = keyOf('poll', op.process, queue);
        const epoch = (sequences.get(key)?.epoch ?? 0) + 1;
        sequences.set(key, { epoch, expectedOffset: op.value.startOffsets?.[queue] });
      }
      continue;
    }
    if ((op.f !== 'poll' && op.f !== 'drain') || op.type !== 'ok' || op.value === null) continue;
    for (const item of op.value) {
      const key = keyOf(op.f, op.process, item.queue);
      let seq = sequences.get(key);
      if (seq === undefined) {
        seq = { epoch: 0, expectedOffset: undefined };
        sequences.set(key, seq);
      }
      const expected = seq.expectedOffset;
      if (expected !== undefined && item.offset !== expected) {
        const example = { f: op.f, process: op.process, queue: item.queue, previousOffset: expected - 1, offset: item.offset, index: op.index, epoch: seq.epoch };
        if (item.offset > expected && item.offset <= (floor.get(item.queue) ?? 0)) {
          // Everything jumped over lies below what retention kept: deleted, not skipped.
          skippedExpired++;
        } else if (item.offset > expected) {
          skippedCount++;
          offsetsSkipped += item.offset - expected;
          gaps.push(example);
        } else {
          nonmonotonicCount++;
          backward.push(example);
        }
      }
      seq.expectedOffset = item.offset + 1;
    }
  }
  return {
    nonmonotonic: { valid: nonmonotonicCount === 0, count: nonmonotonicCount, examples: backward.items },
    skipped: { valid: skippedCount === 0, count: skippedCount, examples: gaps.items, offsetsSkipped, skippedExpired },
  };
}
