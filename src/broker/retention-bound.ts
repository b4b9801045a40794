// The lowest log index retention must keep on this node. A leader keeps what its slowest follower
// still needs (a follower behind the head must otherwise be reset); every node keeps what it has
// not committed and dispatched; and every node keeps what follows its latest metadata snapshot's
// asOfIndex (a replica reset to this head re-applies from there), nothing while it has no
// snapshot to offer (metadataRetainIndex). Under the forcible disk rule (85%) retention ignores
// this bound, as RocketMQ does; the leader then proposes a new snapshot at once.
import type { RaftNodeStatus } from '../../raft/index.js';
import type { MetadataState } from './metadata-state.js';
import { metadataRetainIndex } from './metadata-snapshot.js';

export interface RetentionBound {
  /** Entries at or above this index stay. */
  keepFrom: number;
  /** The metadata-snapshot bound is the one that binds (it is below every other bound). */
  snapshotBinding: boolean;
}

export function retentionBound(status: RaftNodeStatus, selfId: string, dispatchedIndex: number, metadata: MetadataState, firstIndex: number): RetentionBound {
  let keep = Math.min(status.commit, dispatchedIndex) + 1;
  if (status.role === 'leader') {
    for (const [id, p] of Object.entries(status.progress)) if (id !== selfId) keep = Math.min(keep, p.match + 1);
  }
  const snapshotBound = metadataRetainIndex(metadata, firstIndex);
  return { keepFrom: Math.min(keep, snapshotBound), snapshotBinding: snapshotBound < keep };
}
