// Lost writes: a send the broker acknowledged (ok) whose value no poll and no final drain ever
// read. This is the claim the whole system exists to keep ("nothing acknowledged is lost"); the
// final drain after healing reads every queue to its end, so an acknowledged value missing from
// every read is gone.
import type { History, MessageValue } from '../history/types.js';
import { acknowledgedPosition, indexHistory } from './history-index.js';
import { ExampleList, type CheckResult } from './result.js';
import { belowFloor, retentionFloor } from './retention-floor.js';

export interface LostExample {
  value: MessageValue;
  queue: string | undefined;
  offset: number | undefined;
  process: number | string;
  /** When the ok arrived (ms since run start). */
  okTimeMs: number;
}

export interface LostResult extends CheckResult<LostExample> {
  /** Distinct values with at least one ok send. */
  acknowledgedCount: number;
  /**
   * Acknowledged values never read whose acknowledged offset lies below what every replica's
   * retention kept at the end: deleted with their segment (not counted as lost).
   */
  expiredByRetention: number;
}

export function checkLost(history: History): LostResult {
  const { sendsByValue, positionsByValue } = indexHistory(history);
  const examples = new ExampleList<LostExample>();
  let count = 0;
  let acknowledgedCount = 0;
  let expiredByRetention = 0;
  const floor = retentionFloor(history);
  for (const [value, attempts] of sendsByValue) {
    const ok = attempts.find((a) => a.outcome === 'ok');
    if (ok === undefined) continue;
    acknowledgedCount++;
    if (positionsByValue.has(value)) continue;
    const at = acknowledgedPosition(ok);
    if (belowFloor(floor, at?.queue, at?.offset)) {
      expiredByRetention++;
      continue;
    }
    count++;
    examples.push({ value, queue: at?.queue, offset: at?.offset, process: ok.invoke.process, okTimeMs: ok.completion!.time });
  }
  return { valid: count === 0, count, examples: examples.items, acknowledgedCount, expiredByRetention };
}
