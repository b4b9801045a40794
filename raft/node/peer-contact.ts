// When this node last heard from each peer (any Raft message), and whether that makes a write
// likely to commit: a node that heard its leader, or a majority of the voters (itself counted),
// within the window is in contact; one cut off from its quorum (an old leader whose followers
// died keeps its role until check-quorum steps it down) is not, and a broker can then refuse
// writes at once instead of letting them time out. A node that started listening less than a
// window ago has had no chance to hear anyone yet: it counts as in contact until the window has
// passed (a write then waits out the first election instead of being refused).
import type { NodeId } from '../core/index.js';

export class PeerContact {
  private readonly heardAtMs = new Map<NodeId, number>();
  /** When listen() wired the node's handler (its start), or undefined before. */
  private listeningSinceMs: number | undefined;

  constructor(
    private readonly nowMs: () => number,
    /** How far back a message still counts (RaftNode: three election timeouts). */
    private readonly windowMs: () => number,
  ) {}

  /** Wraps a message handler so that every message first marks its sender as heard. */
  listen<M extends { from: NodeId }>(handler: (m: M) => void): (m: M) => void {
    this.listeningSinceMs ??= this.nowMs();
    return (m) => {
      this.heardAtMs.set(m.from, this.nowMs());
      handler(m);
    };
  }

  /** Whether `self` heard `leader` (when another node) or a majority of `voters` within the window. */
  inContact(self: NodeId, leader: NodeId | '', voters: readonly NodeId[]): boolean {
    const sinceMs = this.nowMs() - this.windowMs();
    if (this.listeningSinceMs === undefined || this.listeningSinceMs > sinceMs) return true;
    const heard = (id: NodeId): boolean => id === self || (this.heardAtMs.get(id) ?? -Infinity) >= sinceMs;
    if (leader !== '' && leader !== self && heard(leader)) return true;
    return voters.filter(heard).length > voters.length / 2;
  }
}
