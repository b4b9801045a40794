// Group commit of sends on the leader: the encoded records of every send that reaches the Raft
// layer in one event-loop turn travel as one Raft entry (records back to back, as a batch send
// is stored), instead of one entry each. Per-entry costs (entry header and CRC call, index
// record, App framing, the follower's append and acknowledgement, a pending promise) are then
// paid once per turn, not once per message. Semantics do not change: an entry commits or fails
// whole, and each record keeps its own physical offset (entry payload position + its offset).
// A turn may fill several entries, and when a leader changes some of them may commit and the
// rest not: each send is answered from the entry that holds it (entryOutcome), never from the
// turn's one proposal result, so a committed send is never told "not stored".

import { ProposalTooLargeError, entryOutcome } from '../../raft/index.js';
import { assert } from '../common/assert.js';

/** Where one added payload landed: entry `index` of `term`, at byte `offset` of its payload. */
export interface PlacedPayload {
  index: number;
  term: number;
  offset: number;
}

interface Waiter {
  /** Entry number within this flush (0 = the first entry proposed). */
  entry: number;
  offset: number;
  resolve: (p: PlacedPayload) => void;
  reject: (err: unknown) => void;
}

export interface EntryBatcherOptions {
  /** Proposes the entries, contiguous; resolves once the last is committed with the first's index. */
  propose: (entries: Buffer[]) => Promise<{ index: number; term: number }>;
  /** Asks for the turn in which `flush` will be called. */
  requestFlush: () => void;
  /** An entry is closed once adding a payload would pass this; a larger payload is an entry alone. */
  maxEntryBytes: number;
  /**
   * The most one entry may carry (the log's own bound, `LogStorage.maxEntryBytes`): a payload
   * above it is refused alone (ERR_RAFT_PROPOSAL_TOO_LARGE) instead of failing its whole turn.
   */
  maxPayloadBytes: number;
}

export class EntryBatcher {
  private parts: Buffer[] = [];
  /** Entries already full this turn (each a list of payloads), before the open one (`parts`). */
  private fullEntries: Buffer[][] = [];
  private openBytes = 0;
  private waiters: Waiter[] = [];

  constructor(private readonly o: EntryBatcherOptions) {
    assert(o.maxEntryBytes > 0 && o.maxEntryBytes <= o.maxPayloadBytes, 'maxEntryBytes must be positive and within maxPayloadBytes');
  }

  get pendingPayloads(): number {
    return this.waiters.length;
  }

  /** Adds one payload (one or more encoded records) to this turn's entries. */
  add(payload: Buffer): Promise<PlacedPayload> {
    if (payload.length > this.o.maxPayloadBytes) return Promise.reject(new ProposalTooLargeError(payload.length, this.o.maxPayloadBytes));
    if (this.waiters.length === 0) this.o.requestFlush();
    if (this.openBytes > 0 && this.openBytes + payload.length > this.o.maxEntryBytes) {
      this.fullEntries.push(this.parts);
      this.parts = [];
      this.openBytes = 0;
    }
    const offset = this.openBytes;
    const entry = this.fullEntries.length;
    this.parts.push(payload);
    this.openBytes += payload.length;
    return new Promise<PlacedPayload>((resolve, reject) => {
      this.waiters.push({ entry, offset, resolve, reject });
    });
  }

  /** Proposes what was added since the last flush (called at the start of the Raft turn). */
  flush(): void {
    if (this.waiters.length === 0) return;
    const groups = this.fullEntries;
    groups.push(this.parts);
    const waiters = this.waiters;
    this.fullEntries = [];
    this.parts = [];
    this.openBytes = 0;
    this.waiters = [];
    const entries = groups.map((g) => (g.length === 1 ? g[0]! : Buffer.concat(g)));
    let proposed: Promise<{ index: number; term: number }>;
    try {
      proposed = this.o.propose(entries);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    proposed.then(
      (r) => {
        for (const w of waiters) w.resolve({ index: r.index + w.entry, term: r.term, offset: w.offset });
      },
      (err: unknown) => {
        for (const w of waiters) {
          const e = entryOutcome(err, w.entry);
          if ('error' in e) w.reject(e.error);
          else w.resolve({ index: e.index, term: e.term, offset: w.offset });
        }
      },
    );
  }

  /** Fails everything not yet proposed (the node is closing). */
  failAll(err: unknown): void {
    const waiters = this.waiters;
    this.fullEntries = [];
    this.parts = [];
    this.openBytes = 0;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }
}
