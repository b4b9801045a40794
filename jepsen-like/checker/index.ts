// Public surface of the checkers: checkAll for a whole run, and each checker on its own.
export { checkAll, SAFETY_CHECKERS, type CheckResults, type SafetyChecker } from './check-all.js';
export { checkLost, type LostResult, type LostExample } from './lost.js';
export { checkUnexpected, type UnexpectedResult, type UnexpectedExample } from './unexpected.js';
export { checkDuplicated, possibleWrites, type DuplicatedResult, type DuplicatedExample } from './duplicated.js';
export { checkInconsistentOffsets, type InconsistentOffsetsResult, type InconsistentExample, type InconsistentKind } from './inconsistent-offsets.js';
export { checkReadOrder, type ReadOrderResult, type OrderExample, type SkippedResult } from './read-order.js';
export { checkDivergence, type DivergenceResult, type DivergenceExample } from './divergence.js';
export { checkTransactions, type TransactionsResult, type TransactionExample } from './transactions.js';
export { checkAvailability, type AvailabilityResult, type FaultWindow } from './availability.js';
export { historyStats, type HistoryStats, type OpCounts } from './stats.js';
export { MAX_EXAMPLES, type CheckResult, type Position } from './result.js';
