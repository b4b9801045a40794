// The follower side of replication: accepting a leader's App (with fast-backtracking rejections),
// learning the commit from heartbeats, and restarting the log after a leader's Reset. Unlike the
// Leader it holds no state of its own: every node may act as a follower at any time, so the
// commit, durable index and log stay with the hosting Raft and are reached through the host.
import type { StepError } from './raft-config.js';
import { assert } from './assert.js';
import { MessageType, type Message } from './messages.js';
import type { RaftLog } from './raft-log.js';
import type { NodeId } from './types.js';

/** What the follower side needs from the Raft instance that hosts it. */
export interface FollowerHost {
  readonly log: RaftLog;
  commit(): number;
  setCommit(index: number): void;
  /** The driver's log is durable up to here. */
  persistedIndex(): number;
  setPersistedIndex(index: number): void;
  /** Commits at or below `index` are never handed to the application (a reset skipped them). */
  skipReportsThrough(index: number): void;
  /** A message with every field present, from this node at its term. */
  message(type: MessageType, to: NodeId, index: number): Message;
  send(m: Message): void;
}

export class Follower {
  constructor(private readonly host: FollowerHost) {}

  /** A leader's App must never rewrite what this node knows is committed. */
  checkAppendAgainstCommit(m: Message): StepError | undefined {
    const log = this.host.log;
    const commit = this.host.commit();
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (e.index > commit) break;
      if (log.term(e.index) !== undefined && log.term(e.index) !== e.term) {
        return { code: 'malformed', detail: `App from ${m.from} rewrites committed entry ${e.index}` };
      }
    }
    return undefined;
  }

  /** Returns the last index now known to match the leader's log, or undefined when rejected. */
  onAppend(m: Message): number | undefined {
    const h = this.host;
    const log = h.log;
    const commit = h.commit();
    let prevIndex = m.index;
    let prevTerm = m.logTerm;
    let entries = m.entries;
    if (prevIndex < commit) {
      const lastNew = prevIndex + entries.length;
      if (lastNew <= commit) {
        this.sendAppendResponse(m.from, commit);
        return undefined;
      }
      // Skip the committed prefix: it matches by definition, and the rest can still be used.
      const skip = commit - prevIndex;
      prevTerm = entries[skip - 1]!.term;
      prevIndex = commit;
      entries = entries.slice(skip);
    }
    if (!log.matchTerm(prevIndex, prevTerm)) {
      const conflictTerm = log.term(prevIndex);
      const resp = h.message(MessageType.AppResp, m.from, m.index);
      resp.reject = true;
      if (conflictTerm === undefined) {
        resp.logTerm = 0;
        resp.rejectHint = log.lastIndex() + 1;
      } else {
        resp.logTerm = conflictTerm;
        resp.rejectHint = log.firstIndexWithTermAtLeast(conflictTerm, prevIndex);
      }
      h.send(resp);
      return undefined;
    }
    const conflict = log.findConflict(entries);
    if (conflict !== 0) {
      const from = conflict - entries[0]!.index;
      const rewrittenFrom = from === 0 ? log.append(entries) : log.append(entries.slice(from), true);
      // A rewritten suffix is no longer durable, whatever the driver reported for the old one.
      if (rewrittenFrom <= h.persistedIndex()) h.setPersistedIndex(rewrittenFrom - 1);
    }
    const lastNew = prevIndex + entries.length;
    this.commitTo(Math.min(m.commit, lastNew));
    this.sendAppendResponse(m.from, lastNew);
    return lastNew;
  }

  onHeartbeat(m: Message): void {
    const h = this.host;
    this.commitTo(Math.min(m.commit, h.log.lastIndex()));
    const resp = h.message(MessageType.HeartbeatResp, m.from, 0);
    if (m.context !== undefined) resp.context = m.context;
    h.send(resp);
  }

  /**
   * A heartbeat while recovering after a power loss (see recovery-guard.ts): its commit is not
   * taken, since the leader bounds it by a match this node may have lost. The answer asks the
   * leader to probe again from `confirmed` (our commit index, or the last index its own entries
   * matched since the restart) unless it already believes no more than that.
   */
  onHeartbeatRecovering(m: Message, confirmed: number): void {
    const h = this.host;
    const resp = h.message(MessageType.HeartbeatResp, m.from, confirmed);
    resp.reject = true;
    if (m.context !== undefined) resp.context = m.context;
    h.send(resp);
  }

  onReset(m: Message): void {
    const h = this.host;
    const start = m.start!;
    if (start.index <= h.commit()) {
      this.sendAppendResponse(m.from, h.commit());
      return;
    }
    if (h.log.matchTerm(start.index, start.term)) {
      // Our log already holds the leader's start entry, hence (Log Matching) all before it.
      this.commitTo(start.index);
      this.sendAppendResponse(m.from, start.index);
      return;
    }
    h.log.reset(start);
    h.setCommit(start.index);
    // The application restarts from the reset point; nothing at or below it is applied again.
    h.skipReportsThrough(start.index);
    h.setPersistedIndex(start.index);
    this.sendAppendResponse(m.from, start.index);
  }

  private commitTo(index: number): void {
    const h = this.host;
    if (index > h.commit()) {
      assert(index <= h.log.lastIndex(), `commit ${index} beyond last index ${h.log.lastIndex()}`);
      h.setCommit(index);
    }
  }

  private sendAppendResponse(to: NodeId, index: number): void {
    this.host.send(this.host.message(MessageType.AppResp, to, index));
  }
}
