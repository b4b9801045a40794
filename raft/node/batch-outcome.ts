// What became of each entry of one proposed batch, judged from the committed log alone. A
// batch proposed by the leader of `term` holds the only entries (index, term) of that term at
// its indexes, so an index committed with `term` is ours and one committed with another term
// certainly is not. By log matching the entries of ours that commit are always a prefix of the
// batch: once one index is committed with another term, no later entry of the batch can commit.
// A batch is therefore decided entry by entry, never by the term at its last index alone.

/**
 * The outcome of a batch firstIndex..lastIndex proposed in `term`: entries
 * firstIndex..committedThrough committed, entries droppedFrom..lastIndex certainly did not,
 * and those in between may have (unknown: not committed yet when the answer was due, or
 * compacted away before the node could look).
 */
export interface BatchOutcome {
  firstIndex: number;
  lastIndex: number;
  term: number;
  /** firstIndex - 1 when no entry is known committed. */
  committedThrough: number;
  /** lastIndex + 1 when no entry is known dropped. */
  droppedFrom: number;
}

export interface ProposedRange {
  firstIndex: number;
  lastIndex: number;
  term: number;
}

/** Term of a committed index, undefined when it is no longer in the log (compacted or reset). */
export type TermAt = (index: number) => number | undefined;

/**
 * What the committed log (every index up to `commit`) says about `b`: the outcome known so far
 * and whether it is final (every entry committed, dropped, or past knowing). Cheap in the usual
 * case (one term lookup); a batch cut short by another leader costs a binary search.
 */
export function judgeBatch(b: ProposedRange, commit: number, termAt: TermAt): { outcome: BatchOutcome; decided: boolean } {
  const { firstIndex, lastIndex, term } = b;
  const outcome: BatchOutcome = { firstIndex, lastIndex, term, committedThrough: firstIndex - 1, droppedFrom: lastIndex + 1 };
  if (commit < firstIndex) return { outcome, decided: false };
  const upTo = Math.min(commit, lastIndex);
  const last = termAt(upTo);
  if (last === term) {
    outcome.committedThrough = upTo;
    return { outcome, decided: upTo === lastIndex };
  }
  // Committed terms never decrease along the log, and indexes gone from the log all precede
  // those still in it, so "gone or term <= ours" holds on a prefix of firstIndex..upTo: find
  // its last index k. Everything after k carries a later term and is not ours.
  let lo = firstIndex;
  let hi = upTo;
  let k = firstIndex - 1;
  while (lo <= hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const t = termAt(mid);
    if (t === undefined || t <= term) {
      k = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const atK = k >= firstIndex ? termAt(k) : undefined;
  if (k >= firstIndex && atK === term) {
    outcome.committedThrough = k;
    outcome.droppedFrom = k + 1;
    return { outcome, decided: true };
  }
  if (k >= firstIndex && atK === undefined) {
    // firstIndex..k are gone from the log: whether they were ours cannot be known any more.
    if (k < upTo) outcome.droppedFrom = k + 1;
    return { outcome, decided: k < upTo || upTo === lastIndex };
  }
  // The first entry is committed with another term (or every one up to `upTo` is): none of
  // the batch can be ours, since ours would be a prefix.
  outcome.droppedFrom = firstIndex;
  return { outcome, decided: true };
}

/** The all-or-nothing judgement from the term at the last index (kept for the test-only legacy switch). */
export function judgeBatchByLastIndex(b: ProposedRange, termAt: TermAt): BatchOutcome {
  const ok = termAt(b.lastIndex) === b.term;
  return { ...rangeOf(b), committedThrough: ok ? b.lastIndex : b.firstIndex - 1, droppedFrom: ok ? b.lastIndex + 1 : b.firstIndex };
}

/** Every entry of `b` certainly not committed (the legacy drop of a batch a new append overlaps). */
export function droppedWhole(b: ProposedRange): BatchOutcome {
  return { ...rangeOf(b), committedThrough: b.firstIndex - 1, droppedFrom: b.firstIndex };
}

function rangeOf(b: ProposedRange): ProposedRange {
  return { firstIndex: b.firstIndex, lastIndex: b.lastIndex, term: b.term };
}
