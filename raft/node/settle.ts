// Small helpers of RaftNode for answering callers: settling a proposal batch from its outcome,
// and waiting for a leadership transfer to show in the role events.
import type { EventEmitter } from 'node:events';
import type { NodeId } from '../core/types.js';
import type { BatchOutcome } from './batch-outcome.js';
import { proposalFailure, RaftNodeError } from './errors.js';
import type { RaftNodeClock } from './node-runtime.js';
import type { PendingBatch } from './pending-proposals.js';
import type { RoleChange } from './raft-node-options.js';

/** Every entry of the batch is committed or certainly not (no entry's outcome is still open). */
export function isFinal(o: BatchOutcome): boolean {
  return o.droppedFrom === o.committedThrough + 1;
}

export function settle(b: PendingBatch, o: BatchOutcome): void {
  if (o.committedThrough === b.lastIndex) b.resolve({ index: b.firstIndex, lastIndex: b.lastIndex, term: b.term });
  else b.reject(proposalFailure(o));
}

/** Resolves once a 'role' event names `to` as leader; rejects (ERR_TRANSFER_FAILED) after `waitMs`. */
export function waitForLeader(node: EventEmitter, clock: RaftNodeClock, to: NodeId, waitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      node.off('role', onRole);
      reject(new RaftNodeError('ERR_TRANSFER_FAILED', `${to} did not become leader within ${waitMs} ms`));
    }, waitMs);
    const onRole = (c: RoleChange): void => {
      if (c.leader !== to) return;
      clock.clearTimeout(timer);
      node.off('role', onRole);
      resolve();
    };
    node.on('role', onRole);
  });
}
