// Transactions (the `transactions` workload): every transactional send names how its transaction
// is decided (`txn`). Three anomalies: a visible rollback (a value of a rolled-back transaction
// was read), a lost commit (a committed transaction whose half message was acknowledged was never
// read, not even by the final drain after healing, by when every check has been answered), and a
// double commit (a committed value read at more than one position: committed twice). A history
// without transactional sends has nothing to check and is valid.
import type { History, MessageValue } from '../history/types.js';
import { indexHistory } from './history-index.js';
import { ExampleList, type CheckResult } from './result.js';

export interface TransactionExample {
  kind: 'visible-rollback' | 'lost-commit' | 'double-commit';
  value: MessageValue;
  /** Where the value was read (none for a lost commit). */
  positions: { queue: string; offset: number }[];
}

export interface TransactionsResult extends CheckResult<TransactionExample> {
  /** Distinct values sent as transactions. */
  transactions: number;
  visibleRollbacks: number;
  lostCommits: number;
  doubleCommits: number;
}

export function checkTransactions(history: History): TransactionsResult {
  const { sendsByValue, positionsByValue } = indexHistory(history);
  const examples = new ExampleList<TransactionExample>();
  let transactions = 0;
  let visibleRollbacks = 0;
  let lostCommits = 0;
  let doubleCommits = 0;
  for (const [value, attempts] of sendsByValue) {
    const decisions = new Set(attempts.map((a) => a.invoke.value.txn).filter((d) => d !== undefined));
    if (decisions.size === 0) continue;
    transactions++;
    const read = [...(positionsByValue.get(value)?.values() ?? [])];
    let kind: TransactionExample['kind'] | undefined;
    if (decisions.has('rollback')) {
      if (read.length > 0) kind = 'visible-rollback';
    } else if (read.length > 1) {
      kind = 'double-commit';
    } else if (read.length === 0 && attempts.some((a) => a.completion?.type === 'ok')) {
      kind = 'lost-commit';
    }
    if (kind === undefined) continue;
    if (kind === 'visible-rollback') visibleRollbacks++;
    else if (kind === 'double-commit') doubleCommits++;
    else lostCommits++;
    examples.push({ kind, value, positions: read });
  }
  const count = visibleRollbacks + lostCommits + doubleCommits;
  return { valid: count === 0, count, examples: examples.items, transactions, visibleRollbacks, lostCommits, doubleCommits };
}
