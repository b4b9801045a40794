// Duplicates: one value stored at more than one (queue, offset) position. Reading the same
// position twice (a rebalance, the final drain) is not a duplicate; a second position is.
// At-least-once delivery allows duplicates that client retries explain, so each one is counted and
// judged: every send request may have written the value once, and a duplicate is explained when
// the value occupies no more positions than requests that might have written it:
//   - a `fail` send wrote nothing (it certainly did not happen);
//   - an `ok` send made `attempts` requests (1 when the SDK does not say);
//   - an `info` send made `attempts` requests, or, when the SDK does not say, an unknown number
//     (the SDK may have retried before timing out), which explains any count.
import type { History, MessageValue } from '../history/types.js';
import { indexHistory, type SendAttempt } from './history-index.js';
import { ExampleList, MAX_EXAMPLES, type CheckResult, type Position } from './result.js';

export interface DuplicatedExample {
  value: MessageValue;
  positions: Position[];
  sendInvokes: number;
  /** Requests that may have written the value (null = unknown, i.e. unbounded). */
  possibleWrites: number | null;
  explained: boolean;
}

export interface DuplicatedResult extends CheckResult<DuplicatedExample> {
  explainedCount: number;
  unexplainedCount: number;
}

/** Requests the attempts may have made that could each store the value once. */
export function possibleWrites(attempts: readonly SendAttempt[]): number {
  let total = 0;
  for (const a of attempts) {
    if (a.outcome === 'fail') continue;
    const reported = a.completion?.attempts;
    if (reported !== undefined) total += reported;
    else if (a.outcome === 'ok') total += 1;
    else return Infinity;
  }
  return total;
}

export function checkDuplicated(history: History): DuplicatedResult {
  const { sendsByValue, positionsByValue } = indexHistory(history);
  const explainedExamples = new ExampleList<DuplicatedExample>();
  const unexplainedExamples = new ExampleList<DuplicatedExample>();
  let explainedCount = 0;
  let unexplainedCount = 0;
  for (const [value, where] of positionsByValue) {
    if (where.size < 2) continue;
    const attempts = sendsByValue.get(value) ?? [];
    const writes = possibleWrites(attempts);
    // A value nobody sent is the unexpected checker's finding; here it cannot be explained.
    const explained = attempts.length > 0 && where.size <= writes;
    if (explained) explainedCount++;
    else unexplainedCount++;
    const example: DuplicatedExample = {
      value,
      positions: [...where.values()],
      sendInvokes: attempts.length,
      possibleWrites: Number.isFinite(writes) ? writes : null,
      explained,
    };
    (explained ? explainedExamples : unexplainedExamples).push(example);
  }
  // Unexplained duplicates matter more, so they lead the examples.
  return {
    valid: unexplainedCount === 0,
    count: explainedCount + unexplainedCount,
    examples: [...unexplainedExamples.items, ...explainedExamples.items].slice(0, MAX_EXAMPLES),
    explainedCount,
    unexplainedCount,
  };
}
