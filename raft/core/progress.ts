// What a leader knows about one follower's log: match/next indexes and the replication state.
//   probe:     one App at a time, until the follower tells where its log matches;
//   replicate: optimistic pipelining, bounded by the inflight window;
//   reset:     a Reset was sent (the follower is behind the leader's first index); wait for its answer.
import { Inflights } from './inflights.js';

export type ProgressState = 'probe' | 'replicate' | 'reset';

/** How urgently the leader should send to this follower at the next flush. */
export const SendNeed = { None: 0, Entries: 1, EvenEmpty: 2 } as const;
export type SendNeed = (typeof SendNeed)[keyof typeof SendNeed];

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe state: an App is outstanding; pause until an answer or a heartbeat answer. */
  probeSent = false;
  /** Reset state: the index the follower restarts after. */
  resetIndex = 0;
  /** Heard from within the current check-quorum window. */
  recentActive = false;
  /** Highest read-index sequence this follower has echoed in this term. */
  readAck = 0;
  sendNeed: SendNeed = SendNeed.None;
  /** The commit index the last App to this follower carried (what it was told it may commit). */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    // From reset, the follower restarts after resetIndex at the earliest.
    this.next = this.state === 'reset' ? Math.max(this.match + 1, this.resetIndex + 1) : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.resetIndex = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.resetIndex = 0;
    this.inflights.reset();
  }

  becomeReset(resetIndex: number): void {
    this.state = 'reset';
    this.resetIndex = resetIndex;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** An acknowledged `index`; returns whether match moved forward. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = index + 1;
    return updated;
  }

  /** Paused: nothing more may be sent now. */
  paused(): boolean {
    if (this.state === 'probe') return this.probeSent;
    if (this.state === 'replicate') return this.inflights.full();
    return true;
  }
}
