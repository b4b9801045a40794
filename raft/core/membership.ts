// Group membership: who votes (voters) and who only receives the log (learners), how a change is
// encoded in a Config entry, and the tracking of configurations through the log.
//
// Changes are single-server (one node added as a learner, promoted, or removed per entry): any
// majority of the configuration before a change and any majority of the one after it share a
// voter, so nodes that still use the older one cannot elect a second leader or commit apart.
// A configuration takes effect when its entry COMMITS (not when it is appended): the committed
// configuration only moves forward, so it is durable state of its own (persisted whole with its
// index), a reset follower can be handed it, and a truncated suffix never has to be undone.
// Two rules keep any two configurations in use adjacent (see docs/raft.md, "Membership"):
// a leader appends a change only once it has committed an entry of its own term, and only while
// no Config entry is in its log above the commit (one change in flight).
import type { Entry, NodeId } from './types.js';
import { EntryType } from './types.js';

export interface Membership {
  /** Index of the Config entry that made this configuration (0: the bootstrap one). */
  index: number;
  voters: readonly NodeId[];
  learners: readonly NodeId[];
  /**
   * Where members listen ("host:port"), opaque to the core: the node runner connects to them.
   * Every change fills in the members the proposer knows (MembershipChange.knownAddresses), so
   * once one change committed the configuration names them all; before that the bootstrap list
   * is the only source.
   */
  addresses?: Readonly<Record<NodeId, string>>;
}

export type MembershipChange = (
  | { kind: 'add-learner'; node: NodeId; address?: string }
  | { kind: 'promote'; node: NodeId }
  | { kind: 'remove'; node: NodeId }
) & {
  /**
   * Where the proposer reaches members that have no address in the configuration yet (the
   * bootstrap ones): the new configuration takes them, so it names every member's address and
   * a joiner needs to be told only one member.
   */
  knownAddresses?: Readonly<Record<NodeId, string>>;
};

export function bootstrapMembership(voters: readonly NodeId[], learners: readonly NodeId[] = []): Membership {
  return { index: 0, voters: voters.slice(), learners: learners.slice() };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A Config entry's payload: the whole new configuration (so it reads without its predecessors). */
export function encodeMembership(m: Pick<Membership, 'voters' | 'learners' | 'addresses'>): Uint8Array {
  const body: { v: readonly NodeId[]; l: readonly NodeId[]; a?: Readonly<Record<NodeId, string>> } = { v: m.voters, l: m.learners };
  if (m.addresses !== undefined && Object.keys(m.addresses).length > 0) body.a = m.addresses;
  return encoder.encode(JSON.stringify(body));
}

function isAddressMap(a: unknown): a is Record<NodeId, string> {
  return typeof a === 'object' && a !== null && !Array.isArray(a) && Object.values(a).every((x) => typeof x === 'string');
}

function isIdList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0) && new Set(v).size === v.length;
}

/** The configuration a Config entry at `index` carries, or undefined when its payload is not one. */
export function decodeMembership(payload: Uint8Array, index: number): Membership | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(payload));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { v, l, a } = parsed as { v?: unknown; l?: unknown; a?: unknown };
  if (!isIdList(v) || !isIdList(l) || v.length === 0 || v.some((id) => l.includes(id))) return undefined;
  if (a !== undefined && !isAddressMap(a)) return undefined;
  return a === undefined ? { index, voters: v, learners: l } : { index, voters: v, learners: l, addresses: a };
}

export type ChangeRefusal = { ok: false; code: 'invalid-change'; detail: string };

/** The configuration `change` makes from `cur`, or why it is not a valid single-server change. */
export function applyChange(cur: Membership, change: MembershipChange): ChangeResult | ChangeRefusal {
  const res = applyToSets(cur, change);
  if (!res.ok) return res;
  // Addresses follow the members: a new learner's is added, a removed node's dropped.
  const addresses: Record<NodeId, string> = { ...(cur.addresses ?? {}) };
  if (change.kind === 'add-learner' && change.address !== undefined) addresses[change.node] = change.address;
  if (change.kind === 'remove') delete addresses[change.node];
  for (const id of [...res.voters, ...res.learners]) {
    const known = change.knownAddresses?.[id];
    if (addresses[id] === undefined && typeof known === 'string') addresses[id] = known;
  }
  return Object.keys(addresses).length > 0 ? { ...res, addresses } : res;
}

type ChangeResult = { ok: true; voters: NodeId[]; learners: NodeId[]; addresses?: Record<NodeId, string> };

function applyToSets(cur: Membership, change: MembershipChange): ChangeResult | ChangeRefusal {
  const { node } = change;
  const isVoter = cur.voters.includes(node);
  const isLearner = cur.learners.includes(node);
  const refuse = (detail: string): ChangeRefusal => ({ ok: false, code: 'invalid-change', detail });
  if (typeof node !== 'string' || node.length === 0) return refuse('a node id is required');
  switch (change.kind) {
    case 'add-learner':
      if (isVoter || isLearner) return refuse(`${node} is already a ${isVoter ? 'voter' : 'learner'}`);
      return { ok: true, voters: cur.voters.slice(), learners: [...cur.learners, node] };
    case 'promote':
      if (!isLearner) return refuse(`${node} is not a learner`);
      return { ok: true, voters: [...cur.voters, node], learners: cur.learners.filter((x) => x !== node) };
    case 'remove':
      if (!isVoter && !isLearner) return refuse(`${node} is not a member`);
      if (isVoter && cur.voters.length === 1) return refuse(`${node} is the last voter`);
      return { ok: true, voters: cur.voters.filter((x) => x !== node), learners: cur.learners.filter((x) => x !== node) };
    default:
      return refuse('unknown change kind');
  }
}

/**
 * The committed configuration and the Config entries in the log above the commit. The log
 * reports every append (a first index at or below the last truncates the suffix from there)
 * and every reset; the host reports every commit advance.
 */
export class MembershipTracker {
  private current: Membership;
  /** Config entries above the commit, in index order. */
  private pending: Membership[] = [];

  constructor(initial: Membership) {
    this.current = initial;
  }

  get committed(): Membership {
    return this.current;
  }

  appended(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    while (this.pending.length > 0 && this.pending[this.pending.length - 1]!.index >= first) this.pending.pop();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.type !== EntryType.Config) continue;
      const m = decodeMembership(e.payload, e.index);
      // validate-message refuses a Config entry that does not decode; a local one always does.
      if (m !== undefined) this.pending.push(m);
    }
  }

  /** The log was discarded: the Config entries that were above the commit went with it. */
  reset(): void {
    this.pending = [];
  }

  /** The commit reached `commit`: returns whether the committed configuration changed. */
  committedTo(commit: number): boolean {
    let changed = false;
    while (this.pending.length > 0 && this.pending[0]!.index <= commit) {
      const m = this.pending.shift()!;
      if (m.index > this.current.index) {
        this.current = m;
        changed = true;
      }
    }
    return changed;
  }

  /** A configuration known committed elsewhere (a leader's Reset); only a newer one is taken. */
  adopt(m: Membership): boolean {
    if (m.index <= this.current.index) return false;
    this.current = { ...m, voters: m.voters.slice(), learners: m.learners.slice() };
    this.pending = this.pending.filter((p) => p.index > m.index);
    return true;
  }

  /** The newest configuration in the log, committed or not (only the unsafe test switch uses it). */
  latest(): Membership {
    return this.pending[this.pending.length - 1] ?? this.current;
  }

  /** Whether `id` is named by the committed configuration or a change in the log. */
  isKnown(id: NodeId, self: NodeId): boolean {
    if (id === self) return false;
    if (this.isMember(id)) return true;
    for (const p of this.pending) if (p.voters.includes(id) || p.learners.includes(id)) return true;
    return false;
  }

  /** A Config entry is in the log above the commit: a change is in flight. */
  hasPending(): boolean {
    return this.pending.length > 0;
  }

  isVoter(id: NodeId): boolean {
    return this.current.voters.includes(id);
  }

  isMember(id: NodeId): boolean {
    return this.current.voters.includes(id) || this.current.learners.includes(id);
  }

  /**
   * Whether `id` may campaign: a voter now, and still one in every change already in its log.
   * A node that holds the entry removing it (or not yet promoting it) waits for the outcome, so
   * a removed node never starts an election once its removal could have committed.
   */
  mayCampaign(id: NodeId): boolean {
    if (!this.isVoter(id)) return false;
    for (const p of this.pending) if (!p.voters.includes(id)) return false;
    return true;
  }
}
