// An in-memory LogStorage for the simulation and the core's tests. It keeps two copies of the
// log: what was appended (as in mapped memory: it survives a process kill) and what `sync()`
// made durable (all that survives a power loss, plus possibly some later pages the OS happened
// to write back). The hard state is durable as soon as setHardState returns.
import type { Membership } from '../core/membership.js';
import type { Entry, HardState, LogStart } from '../core/types.js';
import type { EntryLocation, LogStorage, StartAppSource } from '../storage/log-storage.js';

/** The fixed header the simulated data files put before every payload. */
export const SIM_ENTRY_HEADER_BYTES = 32;

interface Stored {
  entry: Entry;
  position: number;
}

interface LogImage {
  start: LogStart;
  startPosition: number;
  items: Stored[];
}

/** The simulated start data: the position as a float64, then the application's section, if any. */
function startData(position: number, app?: Uint8Array): Uint8Array {
  const data = new Uint8Array(8 + (app?.length ?? 0));
  new DataView(data.buffer).setFloat64(0, position);
  if (app !== undefined) data.set(app, 8);
  return data;
}

/** The application section of a simulated start (see startData), or undefined without one. */
export function startAppOf(start: LogStart): Uint8Array | undefined {
  return start.data.length > 8 ? start.data.subarray(8) : undefined;
}

function positionOf(start: LogStart): number {
  if (start.data.length < 8) return 0;
  return new DataView(start.data.buffer, start.data.byteOffset, 8).getFloat64(0);
}

function assert(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`assertion: ${what}`);
}

export interface MemoryStorageHooks {
  /** Called with every batch actually written (after truncation), for checkers. */
  onAppend?: (entries: readonly Entry[], prevTerm: number) => void;
}

export class MemoryStorage implements LogStorage {
  private live: LogImage;
  private durable: LogImage;
  private hs: HardState;
  private durableLast: number;
  /** Durable at once, like the hard state. */
  private members: Membership | undefined;

  constructor(
    private readonly hooks: MemoryStorageHooks = {},
    initial?: { start: LogStart; hardState: HardState },
  ) {
    const start = initial?.start ?? { index: 0, term: 0, data: startData(0) };
    this.live = { start, startPosition: positionOf(start), items: [] };
    this.durable = { start, startPosition: positionOf(start), items: [] };
    this.hs = initial?.hardState ?? { term: 0, vote: '', commit: 0 };
    this.durableLast = start.index;
  }

  // ---- LogReader ----

  firstIndex(): number {
    return this.live.start.index + 1;
  }

  lastIndex(): number {
    return this.live.start.index + this.live.items.length;
  }

  term(index: number): number | undefined {
    if (index === this.live.start.index) return this.live.start.term;
    return this.live.items[index - this.live.start.index - 1]?.entry.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    const last = Math.min(hi - 1, this.lastIndex());
    for (let i = Math.max(lo, this.firstIndex()); i <= last; i++) {
      const e = this.live.items[i - this.live.start.index - 1]!.entry;
      if (out.length > 0 && bytes + e.payload.length > maxBytes) break;
      bytes += e.payload.length;
      out.push(e);
    }
    return lo < this.firstIndex() ? [] : out;
  }

  logStart(): LogStart {
    return this.live.start;
  }

  // ---- LogStorage ----

  hardState(): HardState {
    return { ...this.hs };
  }

  setHardState(state: HardState): void {
    this.hs = { ...state };
  }

  membership(): Membership | undefined {
    return this.members;
  }

  setMembership(m: Membership): void {
    this.members = { ...m, voters: m.voters.slice(), learners: m.learners.slice() };
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.live.start.index && first <= this.lastIndex() + 1, `append at ${first} after ${this.lastIndex()}`);
    if (first <= this.lastIndex()) this.truncateSuffix(first);
    let position = this.endPosition();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      assert(e.index === first + i, 'contiguous indexes');
      this.live.items.push({ entry: e, position });
      position += SIM_ENTRY_HEADER_BYTES + e.payload.length;
    }
    this.hooks.onAppend?.(entries, this.term(first - 1)!);
  }

  truncateSuffix(fromIndex: number): void {
    assert(fromIndex > this.live.start.index, `truncate at ${fromIndex} below the start`);
    if (fromIndex > this.lastIndex()) return;
    this.live.items.length = fromIndex - this.live.start.index - 1;
    if (this.durableLast >= fromIndex) this.durableLast = fromIndex - 1;
  }

  deleteHead(beforeIndex: number, startApp?: StartAppSource): number {
    // Keeps the last entry, as the mmap log keeps its last segment.
    const upTo = Math.min(beforeIndex - 1, this.lastIndex() - 1);
    if (upTo <= this.live.start.index) return this.firstIndex();
    const cut = upTo - this.live.start.index;
    const last = this.live.items[cut - 1]!;
    const position = last.position + SIM_ENTRY_HEADER_BYTES + last.entry.payload.length;
    const start: LogStart = { index: upTo, term: last.entry.term, data: startData(position, startApp?.({ index: upTo + 1, position })) };
    this.live = { start, startPosition: positionOf(start), items: this.live.items.slice(cut) };
    // Deleting files is a metadata operation: the durable image loses the same head.
    const durableCut = Math.max(0, Math.min(upTo - this.durable.start.index, this.durable.items.length));
    if (upTo > this.durable.start.index) {
      this.durable = { start, startPosition: positionOf(start), items: this.durable.items.slice(durableCut) };
    }
    return this.firstIndex();
  }

  startAppData(): Uint8Array | undefined {
    return startAppOf(this.live.start);
  }

  reset(start: LogStart): void {
    this.live = { start, startPosition: positionOf(start), items: [] };
    this.durable = { start, startPosition: positionOf(start), items: [] };
    this.durableLast = start.index;
  }

  sync(): void {
    this.durable = { start: this.live.start, startPosition: this.live.startPosition, items: this.live.items.slice() };
    this.durableLast = this.lastIndex();
  }

  durableIndex(): number {
    return this.durableLast;
  }

  locate(index: number): EntryLocation | undefined {
    const item = this.live.items[index - this.live.start.index - 1];
    if (item === undefined) return undefined;
    return {
      position: item.position,
      payloadPosition: item.position + SIM_ENTRY_HEADER_BYTES,
      payloadBytes: item.entry.payload.length,
      term: item.entry.term,
    };
  }

  slice(position: number, length: number): Buffer {
    // Rebuilds the bytes of the simulated files: a zeroed header then the payload, per entry.
    const out = Buffer.alloc(length);
    let lo = 0;
    let hi = this.live.items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.live.items[mid]!.position <= position) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < this.live.items.length; i++) {
      const { entry, position: p } = this.live.items[i]!;
      if (p >= position + length) break;
      const payloadAt = p + SIM_ENTRY_HEADER_BYTES;
      const from = Math.max(payloadAt, position);
      const to = Math.min(payloadAt + entry.payload.length, position + length);
      if (to > from) out.set(entry.payload.subarray(from - payloadAt, to - payloadAt), from - position);
    }
    return out;
  }

  endPosition(): number {
    const last = this.live.items[this.live.items.length - 1];
    return last === undefined ? this.live.startPosition : last.position + SIM_ENTRY_HEADER_BYTES + last.entry.payload.length;
  }

  /** Memory has no segments: any payload fits. */
  maxEntryBytes(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  close(): void {}

  // ---- crash models ----

  /** Whether (index, term) would survive a power loss now (a deleted head counts as kept). */
  durablyHolds(index: number, term: number): boolean {
    const d = this.durable;
    if (index <= d.start.index) return true;
    return d.items[index - d.start.index - 1]?.entry.term === term;
  }

  /** Whether (index, term) would survive a process kill now. */
  holds(index: number, term: number): boolean {
    return index <= this.live.start.index || this.term(index) === term;
  }

  /** A process kill: mapped memory survives, so nothing changes. */
  processKill(): void {}

  /**
   * A power loss: only the durable image survives, plus `extraWrittenBack` of the entries
   * appended after it when they extend it (the OS may have written those pages back already).
   */
  powerLoss(extraWrittenBack: number): void {
    const d = this.durable;
    const items = d.items.slice();
    const extendsDurable = this.live.start === d.start && this.live.items.length >= d.items.length &&
      (d.items.length === 0 || this.live.items[d.items.length - 1]!.entry === d.items[d.items.length - 1]!.entry);
    if (extendsDurable) {
      const extra = this.live.items.slice(d.items.length, d.items.length + Math.max(0, extraWrittenBack));
      for (const it of extra) items.push(it);
    }
    this.live = { start: d.start, startPosition: d.startPosition, items };
    this.durable = { start: d.start, startPosition: d.startPosition, items: items.slice() };
    this.durableLast = this.lastIndex();
  }
}
