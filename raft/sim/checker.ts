// The safety invariants the simulation checks as events happen, and the end-of-run checks:
//   Election Safety: at most one leader per term, ever.
//   Log Matching: one (index, term) names one entry ever, with one predecessor term, so two
//     logs that share an (index, term) agree on everything before it (induction on index).
//   Leader Completeness: a new leader's log holds every entry committed so far.
//   State Machine Safety: every node applies, in order and without gaps, exactly the entry
//     committed at each index.
//   Monotonic commit: within one incarnation a node's commit index never decreases.
//   No committed entry lost: enough voters of the configuration in force hold it that every
//     majority of them includes one (for an odd count, a majority), through every crash.
//   Read index: a read's index is at least what was committed when the read was asked.
//   Membership: the configuration in force is the last committed Config entry; a node whose
//     removal committed never leads again, and its copy never counts toward "no committed entry
//     lost" (only the voters in force do); it may still learn committed entries (a leader tells a
//     departing node the commit so it learns of its removal), which State Machine Safety checks. Election
//     Safety above holds across configurations (one leader per term, whatever its config).
// Configurations are learned from committed Config entries as they are first applied; the
// first application of each index happens in index order, so this is the commit order.
import type { ReadState, Ready } from '../core/messages.js';
import { decodeMembership, type Membership } from '../core/membership.js';
import { majority } from '../core/quorum.js';
import { EntryType, type Entry, type LogReader, type LogStart, type NodeId } from '../core/types.js';
import { startAppOf } from './memory-storage.js';

/**
 * The application section the simulation's retention gives a log start whose first entry is
 * `firstIndex` (as an application would summarise what it deletes): a reset must hand exactly
 * this to the follower, however the core carried it.
 */
export function simStartApp(firstIndex: number): Uint8Array {
  const app = new Uint8Array(12);
  const dv = new DataView(app.buffer);
  dv.setFloat64(0, firstIndex);
  dv.setUint32(8, (firstIndex * 2654435761) >>> 0);
  return app;
}

interface EntryRecord {
  prevTerm: number;
  payload: Uint8Array;
  type: number;
}

function samePayload(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Violations kept per run; the first one is what matters. */
const MAX_VIOLATIONS = 20;

export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly entries = new Map<number, Map<number, EntryRecord>>();
  /** committed[i]: the entry applied at index i (by anyone). */
  private readonly committed: (Entry | undefined)[] = [];
  private readonly nextApply = new Map<NodeId, number>();
  private readonly lastCommit = new Map<NodeId, number>();
  /** Highest index applied anywhere: a lower bound of the cluster's commit index. */
  maxCommitted = 0;
  /** Read contexts (as numbers) → the commit lower bound when they were asked. */
  private readonly readFloor = new Map<number, number>();
  readsServed = 0;

  /**
   * `startApp`: the application section every log start whose first entry is `firstIndex`
   * carries (the simulation's retention gives one to each); a reset must hand exactly it over.
   */
  constructor(private readonly startApp?: (firstIndex: number) => Uint8Array) {}
  now = 0;
  /** Whether `node` would keep (index, term) through the crashes the run can inflict. */
  survives: ((node: NodeId, index: number, term: number) => boolean) | undefined;
  /** The configuration in force: the bootstrap one until a Config entry commits. */
  config: Membership = { index: 0, voters: [], learners: [] };
  /** Nodes whose removal committed (with the highest leader term known at that moment, for logs). */
  readonly removed = new Map<NodeId, number>();
  private maxLeaderTerm = 0;
  configChanges = 0;

  /** Holders among the voters needed so that every majority of them includes one. */
  private static holdersNeeded(voters: number): number {
    return voters - majority(voters) + 1;
  }

  /** The group starts with these voters. */
  bootstrap(voters: readonly NodeId[]): void {
    this.config = { index: 0, voters: voters.slice(), learners: [] };
  }

  violate(what: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(`step ${this.now}: ${what}`);
  }

  /** A node (re)started: its application restarts after `startIndex`, its commit may restart too. */
  onStart(node: NodeId, startIndex: number): void {
    this.nextApply.set(node, startIndex + 1);
    this.lastCommit.set(node, 0);
  }

  onAppend(node: NodeId, batch: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm;
    for (const e of batch) {
      let byTerm = this.entries.get(e.index);
      if (byTerm === undefined) {
        byTerm = new Map();
        this.entries.set(e.index, byTerm);
      }
      const seen = byTerm.get(e.term);
      if (seen === undefined) byTerm.set(e.term, { prevTerm: prev, payload: e.payload, type: e.type });
      else if (seen.prevTerm !== prev || seen.type !== e.type || !samePayload(seen.payload, e.payload)) {
        this.violate(`log matching: ${node} stored a different entry at (${e.index}, ${e.term})`);
      }
      if (e.term < prev) this.violate(`log matching: ${node} stored term ${e.term} after term ${prev} at ${e.index}`);
      prev = e.term;
    }
  }

  onApply(node: NodeId, e: Entry): void {
    const expected = this.nextApply.get(node) ?? 1;
    if (e.index !== expected) this.violate(`state machine safety: ${node} applied ${e.index}, expected ${expected}`);
    this.nextApply.set(node, e.index + 1);
    const c = this.committed[e.index];
    if (c === undefined) {
      this.committed[e.index] = e;
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      // The moment an entry is first known committed, every majority of voters must hold it.
      const voters = this.config.voters;
      // Without a bootstrap configuration (a checker used alone in a test) there is nothing to count.
      const kept = this.survives === undefined ? voters.length : voters.filter((v) => this.survives!(v, e.index, e.term)).length;
      if (voters.length > 0 && kept < SafetyChecker.holdersNeeded(voters.length)) {
        this.violate(`committed entry (${e.index}, ${e.term}) is kept by only ${kept} of voters [${voters.join(',')}] when committed`);
      }
      if (e.type === EntryType.Config) this.configCommitted(e);
    } else if (c.term !== e.term || c.type !== e.type || !samePayload(c.payload, e.payload)) {
      this.violate(`state machine safety: ${node} applied (${e.index}, ${e.term}) but (${e.index}, ${c.term}) was applied elsewhere`);
    }
  }

  private configCommitted(e: Entry): void {
    const next = decodeMembership(e.payload, e.index);
    if (next === undefined) {
      this.violate(`committed Config entry (${e.index}, ${e.term}) is not a configuration`);
      return;
    }
    const prev = this.config;
    const changed = [...prev.voters, ...next.voters].filter((v) => prev.voters.includes(v) !== next.voters.includes(v));
    if (changed.length > 1) this.violate(`config (${e.index}) changes voters [${changed.join(',')}] at once: not a single-server change`);
    for (const id of [...prev.voters, ...prev.learners]) {
      if (!next.voters.includes(id) && !next.learners.includes(id)) this.removed.set(id, this.maxLeaderTerm);
    }
    this.config = next;
    this.configChanges++;
  }

  onReset(node: NodeId, start: LogStart): void {
    const c = this.committed[start.index];
    if (c !== undefined && c.term !== start.term) this.violate(`reset of ${node} to (${start.index}, ${start.term}) contradicts a committed entry`);
    const app = startAppOf(start);
    if (this.startApp !== undefined && (app === undefined || !samePayload(app, this.startApp(start.index + 1)))) {
      this.violate(`reset of ${node} to (${start.index}, ${start.term}) lost the application section of the leader's start`);
    }
    this.nextApply.set(node, start.index + 1);
  }

  onReady(node: NodeId, rd: Ready, storage: LogReader): void {
    const commit = Math.max(rd.commitTo, rd.hardState?.commit ?? 0);
    const last = this.lastCommit.get(node) ?? 0;
    if (rd.commitTo < last || (rd.hardState !== undefined && rd.hardState.commit < last)) {
      this.violate(`commit of ${node} went back from ${last} to ${Math.min(rd.commitTo, rd.hardState?.commit ?? Infinity)}`);
    }
    if (commit > last) this.lastCommit.set(node, commit);
    if (rd.softState?.role === 'leader') this.onLeader(node, rd.softState.term, storage);
  }

  /** `node` became leader of `term` with `log` (Election Safety, Leader Completeness). */
  onLeader(node: NodeId, term: number, log: LogReader): void {
    if (this.removed.has(node)) this.violate(`removed node ${node} leads term ${term}`);
    if (term > this.maxLeaderTerm) this.maxLeaderTerm = term;
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== node) this.violate(`election safety: ${node} and ${other} both led term ${term}`);
    this.leaderOfTerm.set(term, node);
    if (log.lastIndex() < this.maxCommitted) {
      this.violate(`leader completeness: ${node} leads term ${term} with last index ${log.lastIndex()} < committed ${this.maxCommitted}`);
      return;
    }
    for (let i = Math.max(log.firstIndex() - 1, 1); i <= this.maxCommitted; i++) {
      const c = this.committed[i];
      if (c !== undefined && log.term(i) !== c.term) {
        this.violate(`leader completeness: ${node} leads term ${term} without committed (${i}, ${c.term})`);
        return;
      }
    }
  }

  onReadAsked(context: number): void {
    this.readFloor.set(context, this.maxCommitted);
  }

  onReadState(node: NodeId, rs: ReadState): void {
    const ctx = new DataView(rs.context.buffer, rs.context.byteOffset, rs.context.byteLength).getFloat64(0);
    const floor = this.readFloor.get(ctx);
    if (floor === undefined) return;
    this.readsServed++;
    if (rs.index < floor) this.violate(`read index: ${node} served read ${ctx} at ${rs.index} < committed ${floor} when asked`);
  }

  /**
   * Every committed entry must survive on enough of the voters' logs (a deleted head counts as
   * held) that every majority of the voters includes one. `logs`: the current voters' logs.
   */
  checkNoCommittedLost(logs: readonly LogReader[]): void {
    const need = SafetyChecker.holdersNeeded(logs.length);
    for (let i = 1; i <= this.maxCommitted; i++) {
      const c = this.committed[i];
      if (c === undefined) continue;
      let holders = 0;
      for (const log of logs) if (i <= log.logStart().index || log.term(i) === c.term) holders++;
      if (holders < need) {
        this.violate(`committed entry (${i}, ${c.term}) survives on only ${holders} of ${logs.length} logs`);
        return;
      }
    }
  }

  /** Final Log Matching check on whole logs: two logs agree below any shared (index, term). */
  checkLogsMatch(ids: readonly NodeId[], logs: readonly LogReader[]): void {
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const x = logs[a]!;
        const y = logs[b]!;
        const lo = Math.max(x.firstIndex(), y.firstIndex());
        let agreeFrom = Math.min(x.lastIndex(), y.lastIndex());
        while (agreeFrom >= lo && x.term(agreeFrom) !== y.term(agreeFrom)) agreeFrom--;
        for (let i = lo; i <= agreeFrom; i++) {
          const ex = x.entries(i, i + 1, Infinity)[0]!;
          const ey = y.entries(i, i + 1, Infinity)[0]!;
          if (ex.term !== ey.term || !samePayload(ex.payload, ey.payload)) {
            this.violate(`log matching: ${ids[a]} and ${ids[b]} differ at ${i} below a shared entry at ${agreeFrom}`);
            return;
          }
        }
      }
    }
  }

  committedTermAt(index: number): number | undefined {
    return this.committed[index]?.term;
  }

  committedEntry(index: number): Entry | undefined {
    return this.committed[index];
  }
}
