// RaftNode's side of membership changes: the configuration it starts from (the saved one wins
// over the bootstrap peers, said loudly when they differ) and the changes waiting for their
// commit.
import type { Logger } from 'pino';
import type { Membership } from '../core/membership.js';
import type { NodeId } from '../core/types.js';
import type { LogStorage } from '../storage/log-storage.js';
import type { PeerAddress } from '../transport/tcp-transport.js';
import type { BatchOutcome } from './batch-outcome.js';
import { ProposalDroppedError, ProposalTimeoutError } from './errors.js';

/** The saved configuration, if any; a bootstrap list that disagrees with it is only logged. */
export function membershipAtStart(storage: LogStorage, bootstrap: readonly NodeId[], log: Logger): Membership | undefined {
  const saved = storage.membership?.();
  if (saved === undefined) return undefined;
  const same = saved.voters.length === bootstrap.length && saved.voters.every((v) => bootstrap.includes(v));
  if (!same) {
    log.warn(
      { savedVoters: saved.voters, savedLearners: saved.learners, savedIndex: saved.index, bootstrapVoters: bootstrap },
      'dLegerPeers differs from the saved membership: it is only the bootstrap configuration, this node follows the log',
    );
  }
  return saved;
}

function outcome(c: PendingChange, droppedFrom: number): BatchOutcome {
  return { firstIndex: c.index, lastIndex: c.index, term: c.term, committedThrough: c.index - 1, droppedFrom };
}

interface PendingChange {
  index: number;
  term: number;
  deadlineMs: number;
  resolve: (r: { index: number; term: number }) => void;
  reject: (err: Error) => void;
}

/** Changes appended by this leader, settled once the application has applied past their index. */
export class PendingChanges {
  private items: PendingChange[] = [];

  constructor(private readonly timeoutMs: number) {}

  add(index: number, term: number, deadlineMs: number): Promise<{ index: number; term: number }> {
    return new Promise((resolve, reject) => this.items.push({ index, term, deadlineMs, resolve, reject }));
  }

  /** Committed with its term: in force; with another: replaced; past the deadline: unknown. */
  settle(applied: number, termAt: (index: number) => number | undefined, nowMs: number): void {
    if (this.items.length === 0) return;
    const left: PendingChange[] = [];
    for (const c of this.items) {
      if (c.index <= applied) {
        const t = termAt(c.index);
        if (t === c.term) c.resolve({ index: c.index, term: c.term });
        else if (t !== undefined) c.reject(new ProposalDroppedError(outcome(c, c.index)));
        // Left the log before this node saw it: a committed change is in force, so it held.
        else c.resolve({ index: c.index, term: c.term });
      } else if (nowMs >= c.deadlineMs) {
        c.reject(new ProposalTimeoutError(outcome(c, c.index + 1), this.timeoutMs));
      } else left.push(c);
    }
    this.items = left;
  }

  failAll(err: Error): void {
    for (const c of this.items) c.reject(err);
    this.items = [];
  }
}

/** The addresses a configuration carries for members added by changes ("host:port"). */
export function peersOf(m: Membership | undefined): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (const [id, address] of Object.entries(m?.addresses ?? {})) {
    const colon = address.lastIndexOf(':');
    const port = Number(address.slice(colon + 1));
    if (colon > 0 && Number.isInteger(port) && port > 0 && port < 65536) out.push({ id, host: address.slice(0, colon), port });
  }
  return out;
}

/** The proposer's own address book ("host:port" by id) for a change, beside what the caller gave. */
export function knownAddresses(peers: readonly PeerAddress[], given?: Readonly<Record<NodeId, string>>): Record<NodeId, string> {
  const out: Record<NodeId, string> = {};
  for (const p of peers) out[p.id] = `${p.host}:${p.port}`;
  return { ...out, ...(given ?? {}) };
}

export function isMemberOf(m: Pick<Membership, 'voters' | 'learners'>, id: NodeId): boolean {
  return m.voters.includes(id) || m.learners.includes(id);
}
