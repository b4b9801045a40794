// Small helpers of RaftNode for answering callers: settling a proposal batch from its outcome,
// and waiting for a leadership transfer to show in the role changes.
import type { NodeId } from '../core/types.js';
import type { BatchOutcome } from './batch-outcome.js';
import { proposalFailure, RaftNodeError } from './errors.js';
import type { RaftNodeClock } from './node-runtime.js';
import type { PendingBatch } from './pending-proposals.js';

/** Every entry of the batch is committed or certainly not (no entry's outcome is still open). */
export function isFinal(o: BatchOutcome): boolean {
  return o.droppedFrom === o.committedThrough + 1;
}

export function settle(b: PendingBatch, o: BatchOutcome): void {
  if (o.committedThrough === b.lastIndex) b.resolve({ index: b.firstIndex, lastIndex: b.lastIndex, term: b.term });
  else b.reject(proposalFailure(o));
}

/**
 * Transfers waiting for their target to be seen leading, one wait per target: a request for a
 * target already waited for shares that wait and restarts its timer (as the core shares the
 * transfer), so repeated transfers add no 'role' listener and no timer each.
 */
export class TransferWaits {
  private readonly waits = new Map<NodeId, { promise: Promise<void>; settle: (err?: Error) => void; timer: unknown }>();

  constructor(private readonly clock: RaftNodeClock) {}

  /** Resolves once `settle(to)` is called; rejects (ERR_RAFT_TRANSFER_FAILED) after `waitMs`. */
  wait(to: NodeId, waitMs: number): Promise<void> {
    const timeout = (): void => this.settle(to, new RaftNodeError('ERR_RAFT_TRANSFER_FAILED', `${to} did not become leader within ${waitMs} ms`));
    const waiting = this.waits.get(to);
    if (waiting !== undefined) {
      // The core may have started the transfer anew: the wait starts anew with it.
      this.clock.clearTimeout(waiting.timer);
      waiting.timer = this.clock.setTimeout(timeout, waitMs);
      return waiting.promise;
    }
    let settle!: (err?: Error) => void;
    const promise = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.waits.set(to, { promise, settle, timer: this.clock.setTimeout(timeout, waitMs) });
    return promise;
  }

  /** Ends the wait for a transfer to `to`, if one is waiting: resolved without `err`. */
  settle(to: NodeId, err?: Error): void {
    const w = this.waits.get(to);
    if (w === undefined) return;
    this.waits.delete(to);
    this.clock.clearTimeout(w.timer);
    w.settle(err);
  }

  failAll(err: Error): void {
    for (const to of [...this.waits.keys()]) this.settle(to, err);
  }
}
