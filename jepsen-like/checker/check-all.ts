// Runs every checker over one history and assembles results.json: `valid` is the AND of the
// safety checkers; availability and stats are there to read, never to fail a run.
import type { History } from '../history/types.js';
import { checkAvailability, type AvailabilityResult } from './availability.js';
import { checkDivergence, type DivergenceResult } from './divergence.js';
import { checkDuplicated, type DuplicatedResult } from './duplicated.js';
import { checkInconsistentOffsets, type InconsistentOffsetsResult } from './inconsistent-offsets.js';
import { checkLost, type LostResult } from './lost.js';
import { checkReadOrder, type OrderExample, type SkippedResult } from './read-order.js';
import type { CheckResult } from './result.js';
import { historyStats, type HistoryStats } from './stats.js';
import { checkTransactions, type TransactionsResult } from './transactions.js';
import { checkUnexpected, type UnexpectedResult } from './unexpected.js';
import { groupHistory, historyGroups } from './per-group.js';

export interface CheckResults {
  valid: boolean;
  lost: LostResult;
  unexpected: UnexpectedResult;
  duplicated: DuplicatedResult;
  inconsistentOffsets: InconsistentOffsetsResult;
  nonmonotonic: CheckResult<OrderExample>;
  skipped: SkippedResult;
  divergence: DivergenceResult;
  transactions: TransactionsResult;
  availability: AvailabilityResult;
  stats: HistoryStats;
  /**
   * A run over several groups: each safety checker's count over each group's part of the history
   * (per-group.ts), so an anomaly is placed in its group. The verdict stays the whole history's.
   */
  byGroup?: Record<string, { valid: boolean } & Record<SafetyChecker, number>>;
}

/** The checkers whose verdict decides `valid`, in the order the report lists them. */
export const SAFETY_CHECKERS = ['lost', 'unexpected', 'duplicated', 'inconsistentOffsets', 'nonmonotonic', 'skipped', 'divergence', 'transactions'] as const;
export type SafetyChecker = (typeof SAFETY_CHECKERS)[number];

export function checkAll(history: History): CheckResults {
  const results = checkOnce(history);
  const groups = historyGroups(history);
  if (groups.length < 2) return results;
  const byGroup: NonNullable<CheckResults['byGroup']> = {};
  for (const g of groups) {
    const r = checkOnce(groupHistory(history, g));
    byGroup[g] = { valid: r.valid, ...(Object.fromEntries(SAFETY_CHECKERS.map((name) => [name, r[name].count])) as Record<SafetyChecker, number>) };
  }
  return { ...results, byGroup };
}

function checkOnce(history: History): CheckResults {
  const order = checkReadOrder(history);
  const results: Omit<CheckResults, 'valid'> = {
    lost: checkLost(history),
    unexpected: checkUnexpected(history),
    duplicated: checkDuplicated(history),
    inconsistentOffsets: checkInconsistentOffsets(history),
    nonmonotonic: order.nonmonotonic,
    skipped: order.skipped,
    divergence: checkDivergence(history),
    transactions: checkTransactions(history),
    availability: checkAvailability(history),
    stats: historyStats(history),
  };
  const valid = SAFETY_CHECKERS.every((name) => results[name].valid);
  return { valid, ...results };
}
