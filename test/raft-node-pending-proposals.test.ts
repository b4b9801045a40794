// Judging a proposed batch entry by entry from the committed log, and the pending list that
// holds batches until the log decides them: a committed entry is never reported dropped, a
// dropped one never committed, whatever another leader did to the rest of the batch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeBatch, type TermAt } from '../raft/node/batch-outcome.js';
import { PendingProposals, type DecidedBatch, type PendingBatch } from '../raft/node/pending-proposals.js';

function batch(firstIndex: number, lastIndex: number, term: number, deadlineMs = 1000): PendingBatch {
  return { firstIndex, lastIndex, term, deadlineMs, resolve: () => undefined, reject: () => undefined };
}

/** A committed log given as the term of each index from 1; indexes below `first` are gone. */
function log(terms: number[], first = 1): TermAt {
  return (i) => (i >= first && i <= terms.length ? terms[i - 1] : undefined);
}

describe('judgeBatch', () => {
  it('never calls an entry committed that is not ours, nor dropped one that is, and decides once the log shows it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }), // entries before the batch
        fc.integer({ min: 1, max: 8 }), // batch size
        fc.integer({ min: 0, max: 8 }), // entries of the batch that are ours in the committed log
        fc.integer({ min: 0, max: 8 }), // entries after the batch
        fc.integer({ min: 0, max: 20 }), // commit index
        fc.integer({ min: 1, max: 20 }), // first index still in the log
        fc.boolean(), // whether the other leader's entries carry a term below ours before ours
        (before, size, oursRaw, afterCount, commit, logFirst, lowerFirst) => {
          const term = 5;
          const firstIndex = before + 1;
          const lastIndex = before + size;
          const ours = Math.min(oursRaw, size);
          // Terms never decrease along a log: 1s before, then ours (term 5), then a later leader's 7s.
          const terms: number[] = [];
          for (let i = 1; i <= before; i++) terms.push(1);
          for (let i = 0; i < ours; i++) terms.push(term);
          // With no entry ours, the replacing entries may come from an older or a newer term.
          const other = ours === 0 && lowerFirst ? 3 : 7;
          for (let i = ours; i < size + afterCount; i++) terms.push(i === ours ? other : 7);
          const { outcome, decided } = judgeBatch({ firstIndex, lastIndex, term }, commit, log(terms, logFirst));
          const visible = (i: number): boolean => i <= commit && i >= logFirst;
          for (let i = firstIndex; i <= lastIndex; i++) {
            const isOurs = i < firstIndex + ours;
            if (i <= outcome.committedThrough) {
              expect(isOurs).toBe(true);
              expect(i).toBeLessThanOrEqual(commit);
            }
            if (i >= outcome.droppedFrom) expect(isOurs).toBe(false);
          }
          // With the whole batch visible, the answer is exact and final.
          if (visible(firstIndex) && commit >= lastIndex) {
            expect(decided).toBe(true);
            expect(outcome.committedThrough).toBe(firstIndex + ours - 1);
            expect(outcome.droppedFrom).toBe(firstIndex + ours);
          }
          if (commit < firstIndex) expect(decided).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('decides a cut batch as soon as another term is committed inside it, before its last index commits', () => {
    const termAt = log([1, 5, 5, 7]);
    expect(judgeBatch({ firstIndex: 2, lastIndex: 6, term: 5 }, 4, termAt)).toEqual({
      decided: true,
      outcome: { firstIndex: 2, lastIndex: 6, term: 5, committedThrough: 3, droppedFrom: 4 },
    });
    // Entry 3 is committed and ours, entry 4 not yet committed: nothing is known of 4..6.
    expect(judgeBatch({ firstIndex: 2, lastIndex: 6, term: 5 }, 3, termAt).decided).toBe(false);
  });

  it('leaves entries that left the log before the node saw them committed unknown', () => {
    // Entries 1..3 were compacted away; 4 carries another leader's term.
    const { outcome, decided } = judgeBatch({ firstIndex: 2, lastIndex: 5, term: 5 }, 5, log([1, 5, 5, 7, 7], 4));
    expect(decided).toBe(true);
    expect(outcome).toMatchObject({ committedThrough: 1, droppedFrom: 4 });
  });
});

describe('PendingProposals', () => {
  it('hands out decided batches in order and counts entries', () => {
    const p = new PendingProposals();
    p.push(batch(1, 3, 1));
    p.push(batch(4, 4, 1));
    p.push(batch(5, 9, 1));
    expect(p.entryCount).toBe(9);
    const out: DecidedBatch[] = [];
    p.takeDecided(4, log([1, 1, 1, 1]), out);
    expect(out.map((d) => [d.batch.firstIndex, d.outcome.committedThrough])).toEqual([[1, 3], [4, 4]]);
    expect(p.entryCount).toBe(5);
  });

  it('keeps a batch a new leader appends over, and reports its committed prefix once commits decide it', () => {
    const p = new PendingProposals();
    p.push(batch(5, 10, 1));
    // A new leader (this node again, term 3) whose log ends at 7 appends at 8.
    expect(p.push(batch(8, 8, 3))).toEqual([]);
    expect(p.entryCount).toBe(7);
    const out: DecidedBatch[] = [];
    // Entries 5..6 are ours, 7 came from the leader of term 2, 8 is the new proposal.
    p.takeDecided(8, log([1, 1, 1, 1, 1, 1, 2, 3]), out);
    expect(out.map((d) => [d.batch.firstIndex, d.outcome.committedThrough, d.outcome.droppedFrom])).toEqual([[8, 8, 9], [5, 6, 7]]);
    expect(p.batchCount).toBe(0);
    expect(p.entryCount).toBe(0);
  });

  it('judges a committed batch by every entry, not by the term at its last index', () => {
    const p = new PendingProposals();
    p.push(batch(5, 10, 1));
    const out: DecidedBatch[] = [];
    p.takeDecided(10, log([1, 1, 1, 1, 1, 1, 2, 2, 2, 2]), out);
    expect(out[0]!.outcome).toMatchObject({ committedThrough: 6, droppedFrom: 7 });
  });

  it('with the test-only legacy switch, drops a committed prefix (the bug the simulator must find)', () => {
    const p = new PendingProposals({ legacyBatchOutcome: true });
    p.push(batch(5, 10, 1));
    const dropped = p.push(batch(8, 8, 3));
    expect(dropped.map((d) => d.outcome)).toEqual([{ firstIndex: 5, lastIndex: 10, term: 1, committedThrough: 4, droppedFrom: 5 }]);
    const q = new PendingProposals({ legacyBatchOutcome: true });
    q.push(batch(5, 10, 1));
    const out: DecidedBatch[] = [];
    q.takeDecided(10, log([1, 1, 1, 1, 1, 1, 2, 2, 2, 2]), out);
    expect(out[0]!.outcome).toMatchObject({ committedThrough: 4, droppedFrom: 5 });
  });

  it('expires batches past their deadline, oldest first, with what is known committed so far', () => {
    const p = new PendingProposals();
    p.push(batch(5, 8, 1, 100));
    p.push(batch(9, 9, 1, 120));
    p.push(batch(10, 10, 1, 200));
    const out: DecidedBatch[] = [];
    p.takeExpired(150, 6, log([1, 1, 1, 1, 1, 1]), out);
    expect(out.map((d) => d.outcome)).toEqual([
      { firstIndex: 5, lastIndex: 8, term: 1, committedThrough: 6, droppedFrom: 9 },
      { firstIndex: 9, lastIndex: 9, term: 1, committedThrough: 8, droppedFrom: 10 },
    ]);
    expect(p.batchCount).toBe(1);
    expect(p.entryCount).toBe(1);
  });
});
