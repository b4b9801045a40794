// What retention took: per queue, the highest first offset any replica still holds in the
// final state. Messages below it were deleted with their log segments, so a value acknowledged
// there and never read is "expired", and a read that jumped over offsets below it skipped
// deleted messages, not live ones. Both are counted apart from the anomalies, never hidden.
// Runs without retention (no min offsets in the final state, or all 0) get an empty floor, so
// every checker behaves exactly as before.
import type { History, QueueKey } from '../history/types.js';

export function retentionFloor(history: History): Map<QueueKey, number> {
  const floor = new Map<QueueKey, number>();
  let last: History[number] | undefined;
  for (const op of history) if (op.f === 'final-state') last = op;
  if (last === undefined || last.f !== 'final-state') return floor;
  for (const replica of last.value.replicas) {
    for (const [queue, min] of Object.entries(replica.consumeQueueMinOffsets ?? {})) {
      if (min > (floor.get(queue) ?? 0)) floor.set(queue, min);
    }
  }
  return floor;
}

/** True when offset `offset` of `queue` lies below what retention kept. */
export function belowFloor(floor: ReadonlyMap<QueueKey, number>, queue: QueueKey | undefined, offset: number | undefined): boolean {
  if (queue === undefined || offset === undefined) return false;
  return offset < (floor.get(queue) ?? 0);
}
