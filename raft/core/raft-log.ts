// The core's view of its log: the driver's LogReader plus the entries (and the pending reset)
// that were produced in memory but not yet handed over through Ready/advance ("unstable").
// Unstable entries may overwrite a suffix of the stored log; they win over it until advance().
import type { Entry, LogReader, LogStart } from './types.js';

/** Told of every append and reset, for the Config entries they carry (membership.ts). */
export interface RaftLogListener {
  appended(entries: readonly Entry[]): void;
  reset(): void;
}

export class RaftLog {
  listener: RaftLogListener | undefined;
  /** Entries not yet acknowledged by advance(); `unstable[0].index === offset`. */
  private unstable: Entry[] = [];
  private offset = 0;
  /** The unstable array was handed out in a Ready: copy before changing it (copy on write). */
  private shared = false;
  /** A reset not yet acknowledged by advance(): the stored log is logically empty after it. */
  private resetStart: LogStart | undefined;

  constructor(readonly reader: LogReader) {}

  firstIndex(): number {
    return this.resetStart !== undefined ? this.resetStart.index + 1 : this.reader.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1;
    return this.resetStart !== undefined ? this.resetStart.index : this.reader.lastIndex();
  }

  term(index: number): number | undefined {
    if (this.unstable.length > 0 && index >= this.offset) return this.unstable[index - this.offset]?.term;
    if (this.resetStart !== undefined) return index === this.resetStart.index ? this.resetStart.term : undefined;
    return this.reader.term(index);
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new Error('assertion: the term of the last index must be known');
    return t;
  }

  logStart(): LogStart {
    return this.resetStart ?? this.reader.logStart();
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Whether a log ending at (lastTerm, lastIndex) is at least as up to date as ours (Raft §5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in [lo, hi) stopping before `maxBytes` (at least one). Stored entries come from the
   * reader; unstable ones are sliced from the in-memory array: no payload is copied.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const split = this.unstable.length > 0 ? this.offset : hi;
    let out: Entry[] = [];
    let bytes = 0;
    if (lo < split) {
      if (this.resetStart !== undefined) throw new Error('assertion: no stored entries after a pending reset');
      out = this.reader.entries(lo, Math.min(hi, split), maxBytes);
      for (let i = 0; i < out.length; i++) bytes += out[i]!.payload.length;
      if (out.length < Math.min(hi, split) - lo) return out;
      lo = split;
    }
    if (lo >= hi) return out;
    const from = lo - this.offset;
    const to = Math.min(hi - this.offset, this.unstable.length);
    let end = from;
    while (end < to) {
      const size = this.unstable[end]!.payload.length;
      if (bytes + size > maxBytes && (end > from || out.length > 0)) break;
      bytes += size;
      end++;
    }
    const tail = this.unstable.slice(from, end);
    return out.length === 0 ? tail : out.concat(tail);
  }

  /**
   * Appends entries (copying only the array of references). A first index at or below the last
   * one truncates the conflicting suffix. Returns the index from which the log was rewritten.
   */
  append(entries: readonly Entry[], owned = false): number {
    if (entries.length === 0) return this.lastIndex() + 1;
    const first = entries[0]!.index;
    const last = this.lastIndex();
    if (first > last + 1 || first <= this.logStart().index) {
      throw new Error(`assertion: append at ${first} does not fit a log ending at ${last}`);
    }
    if (this.shared && this.unstable.length > 0 && first > this.offset) {
      this.unstable = this.unstable.slice(0, first - this.offset);
      this.shared = false;
    }
    if (this.unstable.length > 0 && first === this.offset + this.unstable.length) {
      for (let i = 0; i < entries.length; i++) this.unstable.push(entries[i]!);
    } else if (this.unstable.length > 0 && first > this.offset) {
      this.unstable.length = first - this.offset;
      for (let i = 0; i < entries.length; i++) this.unstable.push(entries[i]!);
    } else {
      this.unstable = owned ? (entries as Entry[]) : entries.slice();
      this.offset = first;
      this.shared = false;
    }
    this.listener?.appended(entries);
    return first;
  }

  /** Discards the log: it restarts after `start`. */
  reset(start: LogStart): void {
    this.unstable = [];
    this.shared = false;
    this.resetStart = start;
    this.listener?.reset();
  }

  pendingReset(): LogStart | undefined {
    return this.resetStart;
  }

  /** The unstable entries for a Ready; later appends copy rather than mutate the array given. */
  unstableEntries(): Entry[] {
    this.shared = true;
    return this.unstable;
  }

  hasUnstable(): boolean {
    return this.unstable.length > 0;
  }

  /** The driver stored everything up to `index` (term `term`) and the reset it was given. */
  stableTo(index: number, term: number, reset: LogStart | undefined): void {
    if (reset !== undefined && reset === this.resetStart) this.resetStart = undefined;
    if (this.unstable.length === 0 || index < this.offset) return;
    const pos = index - this.offset;
    // A term mismatch means a later step replaced these entries: they stay unstable.
    if (pos >= this.unstable.length || this.unstable[pos]!.term !== term) return;
    this.unstable = this.unstable.slice(pos + 1);
    this.offset = index + 1;
    this.shared = false;
  }

  /** The first index whose term differs from `entries` (or the first one past our log); 0 if none. */
  findConflict(entries: readonly Entry[]): number {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (this.term(e.index) !== e.term) return e.index;
    }
    return 0;
  }

  /**
   * The last index <= `atMost` whose term is <= `term`, by binary search (terms never decrease
   * along a log). Returns logStart().index - 1 ... i.e. below the first index, when none is known.
   */
  lastIndexWithTermAtMost(term: number, atMost: number): number {
    let lo = this.logStart().index;
    let hi = Math.min(atMost, this.lastIndex());
    const startTerm = this.term(lo);
    if (startTerm === undefined || startTerm > term) return lo - 1;
    // Invariant: term(lo) <= term; answer in [lo, hi].
    while (lo < hi) {
      const mid = lo + Math.ceil((hi - lo) / 2);
      const t = this.term(mid);
      if (t !== undefined && t <= term) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The first index >= firstIndex whose term is >= `term`, searching up to `atMost` (atMost + 1 if none). */
  firstIndexWithTermAtLeast(term: number, atMost: number): number {
    let lo = this.firstIndex();
    let hi = Math.min(atMost, this.lastIndex());
    const end = hi + 1;
    if (lo > hi || (this.term(hi) ?? 0) < term) return end;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const t = this.term(mid);
      if (t !== undefined && t >= term) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
