// The state of a node that restarted after a power loss (or an OS crash) under async flush,
// after Protocol-Aware Recovery (Alagappan et al., FAST 2018). Under async flush a follower
// acknowledges entries before they are synced, and the commit index is persisted lazily; a power
// loss can therefore take back entries this node acknowledged (a quorum may have counted on
// them) and bring back an older, stale tail that a leader had already replaced. Until a leader
// has confirmed its log, such a node must not:
//   - vote or grant pre-votes: its log may look less (or differently) up to date than the one
//     it acknowledged, so its vote could elect a candidate missing committed entries;
//   - campaign: same reason, and it may hold a stale tail a leader would replicate;
//   - apply past the commit index it had made durable: the tail past it may be stale;
//   - take a commit index from a heartbeat: the leader bounds it by what it believes this node
//     matches, which may be what was lost.
// It still accepts and acknowledges a leader's entries (appends are checked against the
// leader's log like any other). It leaves this state once an App from the leader has matched
// its log and carried a commit index it now holds, and that commit index is at least the one
// it had made durable (a leader that has not yet committed in its own term does not know it).
// A one-voter group has no one to ask: the guard is never active there.

export class RecoveryGuard {
  private on: boolean;
  /** The highest index an App of the leader of `matchedTerm` matched since the restart. */
  private matched = 0;
  private matchedTerm = -1;

  /** `durableCommit` is the commit index recovered from disk (bounded by the durable log). */
  constructor(active: boolean, private readonly durableCommit: number) {
    this.on = active;
  }

  get active(): boolean {
    return this.on;
  }

  /** The highest commit index the application may be handed now. */
  applyLimit(commit: number): number {
    return this.on ? Math.min(commit, this.durableCommit) : commit;
  }

  /**
   * An App from the leader matched this node's log up to `lastNew`; `leaderCommit` is the
   * commit it carried and `commit` ours after it. Returns true when this ends the recovery.
   */
  onAppendMatched(lastNew: number, leaderCommit: number, commit: number, term: number): boolean {
    if (!this.on) return false;
    // Within one term the leader's log only grows, so what matched it once still does.
    if (term !== this.matchedTerm) {
      this.matchedTerm = term;
      this.matched = 0;
    }
    if (lastNew > this.matched) this.matched = lastNew;
    if (lastNew >= leaderCommit && commit >= leaderCommit && leaderCommit >= this.durableCommit) {
      this.on = false;
      return true;
    }
    return false;
  }

  /**
   * What a heartbeat answer tells the leader of `term` this node is known to match: the commit
   * index, or more once that leader's entries have matched. The leader lowers its match to it.
   */
  confirmedMatch(term: number, commit: number): number {
    return term === this.matchedTerm ? Math.max(commit, this.matched) : commit;
  }
}
