// The transactions checker over hand-built histories: a clean transactional run passes every
// safety checker; the same run mutated to show a rolled-back value, to lose a committed one, or
// to read a committed one at two positions fails it with the anomaly named.
import { describe, expect, it } from 'vitest';
import { checkAll } from '../jepsen-like/checker/check-all.js';
import { checkTransactions } from '../jepsen-like/checker/transactions.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { CompletionType, History, ReadItem, TxnDecision } from '../jepsen-like/history/types.js';

const Q0 = 'jepsen/0';
const Q1 = 'jepsen/1';

interface Txn {
  value: number;
  txn: TxnDecision;
  outcome: CompletionType;
}

/** Transactions on process p<i>, then one drain of `reads` (what the final drain saw). */
function history(txns: readonly Txn[], reads: readonly ReadItem[]): History {
  const b = new HistoryBuilder();
  let t = 0;
  for (const x of txns) {
    const p = `p${x.value}`;
    b.at((t += 10)).invokeSend(p, { value: x.value, queue: Q0, txn: x.txn });
    b.at((t += 10)).completeSend(p, x.outcome, x.outcome === 'ok' ? { value: x.value, queue: Q0, txn: x.txn } : { value: x.value, txn: x.txn });
  }
  b.at((t += 10)).invokeRead('drain', 'drain');
  b.at((t += 10)).completeRead('drain', 'drain', 'ok', [...reads]);
  return b.history();
}

const TXNS: Txn[] = [
  { value: 1, txn: 'commit', outcome: 'ok' },
  { value: 2, txn: 'rollback', outcome: 'ok' },
  { value: 3, txn: 'commit', outcome: 'ok' },
  // Unknown outcome of the half message: it may or may not have been stored.
  { value: 4, txn: 'commit', outcome: 'info' },
  { value: 5, txn: 'rollback', outcome: 'info' },
  { value: 6, txn: 'commit', outcome: 'fail' },
];
const CLEAN_READS: ReadItem[] = [
  { queue: Q0, offset: 0, value: 1 },
  { queue: Q0, offset: 1, value: 3 },
];

describe('the transactions checker', () => {
  it('passes a run where every committed transaction is read once and no rolled-back one is read', () => {
    const results = checkAll(history(TXNS, CLEAN_READS));
    expect(results.valid).toBe(true);
    expect(results.transactions).toMatchObject({ valid: true, count: 0, transactions: 6 });
    // A rolled-back, acknowledged transaction is not a lost write.
    expect(results.lost.count).toBe(0);
  });

  it('finds a visible rollback', () => {
    const mutated = history(TXNS, [...CLEAN_READS, { queue: Q1, offset: 0, value: 2 }]);
    const r = checkTransactions(mutated);
    expect(r).toMatchObject({ valid: false, visibleRollbacks: 1, lostCommits: 0, doubleCommits: 0 });
    expect(r.examples[0]).toEqual({ kind: 'visible-rollback', value: 2, positions: [{ queue: Q1, offset: 0 }] });
    expect(checkAll(mutated).valid).toBe(false);
  });

  it('finds a visible rollback whose half message had an unknown outcome', () => {
    expect(checkTransactions(history(TXNS, [...CLEAN_READS, { queue: Q1, offset: 0, value: 5 }]))).toMatchObject({ valid: false, visibleRollbacks: 1 });
  });

  it('finds a lost commit', () => {
    const r = checkTransactions(history(TXNS, CLEAN_READS.slice(0, 1)));
    expect(r).toMatchObject({ valid: false, visibleRollbacks: 0, lostCommits: 1, doubleCommits: 0 });
    expect(r.examples[0]).toEqual({ kind: 'lost-commit', value: 3, positions: [] });
  });

  it('finds a double commit', () => {
    const r = checkTransactions(history(TXNS, [...CLEAN_READS, { queue: Q1, offset: 0, value: 1 }]));
    expect(r).toMatchObject({ valid: false, doubleCommits: 1 });
    expect(r.examples[0]!.positions).toHaveLength(2);
  });

  it('has nothing to check in a history without transactions', () => {
    const b = new HistoryBuilder();
    b.at(1).invokeSend(0, { value: 1, queue: Q0 });
    b.at(2).completeSend(0, 'ok', { value: 1, queue: Q0, offset: 0 });
    expect(checkTransactions(b.history())).toMatchObject({ valid: true, count: 0, transactions: 0 });
  });
});
