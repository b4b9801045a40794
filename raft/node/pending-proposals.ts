// The proposals a node has handed to the core and not yet answered. A batch is answered once
// the committed log decides every one of its entries (batch-outcome.ts): committed with the
// batch's term, or replaced by another term's entry. Nothing is answered from a guess: a new
// leader appending over an older batch's indexes does not prove that batch lost (a prefix of
// it may already be committed, and a node that still holds the rest may yet win an election
// and commit it), so such a batch only moves aside until commits decide it.
//
// The main list holds batches in proposal order with disjoint, increasing index ranges, as an
// array with a moving head (no per-proposal map entry: there can be 100k in flight). Batches a
// new leader's append overlapped go to `overlapped`, which stays short (it only grows at a
// leadership change) and is scanned whole.

import { droppedWhole, judgeBatch, judgeBatchByLastIndex, type BatchOutcome, type TermAt } from './batch-outcome.js';

export interface PendingBatch {
  firstIndex: number;
  lastIndex: number;
  term: number;
  deadlineMs: number;
  resolve: (v: { index: number; lastIndex: number; term: number }) => void;
  reject: (err: Error) => void;
}

export interface DecidedBatch {
  batch: PendingBatch;
  outcome: BatchOutcome;
}

export interface PendingProposalsOptions {
  /**
   * TEST ONLY: the former all-or-nothing judgement (a batch an append overlaps is dropped whole,
   * a committed batch is judged by the term at its last index), which reports committed entries
   * as dropped. Kept so the simulator can show it finds that bug. Never set it in production.
   */
  legacyBatchOutcome?: boolean;
}

export class PendingProposals {
  private items: (PendingBatch | undefined)[] = [];
  private head = 0;
  private overlapped: PendingBatch[] = [];
  private readonly legacy: boolean;
  /** Entries (not batches) pending, for the ERR_RAFT_BUSY bound. */
  entryCount = 0;

  constructor(o: PendingProposalsOptions = {}) {
    this.legacy = o.legacyBatchOutcome ?? false;
  }

  get batchCount(): number {
    return this.items.length - this.head + this.overlapped.length;
  }

  /**
   * Adds a batch the core just accepted. Older batches at or past its first index move aside
   * (their outcome is left to the commits). With the legacy switch they are returned instead,
   * to be rejected as dropped.
   */
  push(b: PendingBatch): DecidedBatch[] {
    const dropped: DecidedBatch[] = [];
    while (this.items.length > this.head) {
      const last = this.items[this.items.length - 1]!;
      if (last.lastIndex < b.firstIndex) break;
      this.items.pop();
      if (this.legacy) {
        this.entryCount -= size(last);
        dropped.push({ batch: last, outcome: droppedWhole(last) });
      } else {
        this.overlapped.push(last);
      }
    }
    this.items.push(b);
    this.entryCount += size(b);
    return dropped;
  }

  /** Removes and returns, with their outcomes, the batches the log committed up to `commitIndex` decides. */
  takeDecided(commitIndex: number, termAt: TermAt, out: DecidedBatch[]): void {
    // The main list is sorted and disjoint: once its head is undecided, so is everything after.
    while (this.head < this.items.length) {
      const b = this.items[this.head]!;
      if (this.legacy) {
        if (b.lastIndex > commitIndex) break;
        out.push({ batch: this.shift(), outcome: judgeBatchByLastIndex(b, termAt) });
        continue;
      }
      const j = judgeBatch(b, commitIndex, termAt);
      if (!j.decided) break;
      out.push({ batch: this.shift(), outcome: j.outcome });
    }
    this.compact();
    if (this.overlapped.length === 0) return;
    const keep: PendingBatch[] = [];
    for (const b of this.overlapped) {
      const j = judgeBatch(b, commitIndex, termAt);
      if (j.decided) {
        this.entryCount -= size(b);
        out.push({ batch: b, outcome: j.outcome });
      } else {
        keep.push(b);
      }
    }
    this.overlapped = keep;
  }

  /**
   * Removes and returns the batches whose deadline passed, with what the log committed up to
   * `commitIndex` says of them so far (the rest of each is unknown).
   */
  takeExpired(nowMs: number, commitIndex: number, termAt: TermAt, out: DecidedBatch[]): void {
    // Deadlines grow in proposal order along the main list.
    while (this.head < this.items.length) {
      const b = this.items[this.head]!;
      if (b.deadlineMs > nowMs) break;
      out.push({ batch: this.shift(), outcome: judgeBatch(b, commitIndex, termAt).outcome });
    }
    this.compact();
    if (this.overlapped.length === 0) return;
    const keep: PendingBatch[] = [];
    for (const b of this.overlapped) {
      if (b.deadlineMs > nowMs) {
        keep.push(b);
        continue;
      }
      this.entryCount -= size(b);
      out.push({ batch: b, outcome: judgeBatch(b, commitIndex, termAt).outcome });
    }
    this.overlapped = keep;
  }

  takeAll(): PendingBatch[] {
    const all = [...this.overlapped, ...(this.items.slice(this.head) as PendingBatch[])];
    this.items = [];
    this.head = 0;
    this.overlapped = [];
    this.entryCount = 0;
    return all;
  }

  private shift(): PendingBatch {
    const b = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.entryCount -= size(b);
    return b;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

function size(b: PendingBatch): number {
  return b.lastIndex - b.firstIndex + 1;
}
