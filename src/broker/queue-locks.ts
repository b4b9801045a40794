// Orderly consumption locks (LOCK_BATCH_MQ 41 / UNLOCK_BATCH_MQ 42): per consumer group and
// queue, held by one client id, expiring `rebalanceLockMaxLiveTime` (60 s) after the holder's last
// renewal, as RocketMQ's RebalanceLockManager. Kept only on the leader, in memory, NOT replicated:
// a new leader re-establishes them safely instead. It grants nothing for one expiry period after it
// became the ready leader (it cannot know who holds what), then grants to whoever asks first.
// Why that is safe (docs/broker.md, "Orderly consumption locks"): every grant is confirmed by a
// Raft ReadIndex round before it is answered, so an old leader's last grant was decided before the
// new leader's election; our client treats a lock as valid for at most half the expiry after it
// sent the request that won it (lockMaxLiveTimeMs, 30 s), so every lock an old leader handed out
// has lapsed in its holder before the new leader's pause ends. Only durations are compared, each
// on one machine's monotonic clock; no clock is compared with another's.

import type { RoleState } from './broker-context.js';

export interface LockedQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

interface Holder {
  clientId: string;
  lastUpdateMs: number;
}

const keyOf = (q: LockedQueue): string => `${q.topic}@${q.brokerName}@${q.queueId}`;

export class QueueLockTable {
  private readonly groups = new Map<string, Map<string, Holder>>();
  /** When this node last became the ready leader (monotonic ms), or undefined when not leading. */
  private leaderSinceMs: number | undefined;
  private leaderTerm = -1;

  constructor(
    private readonly expiryMs: number,
    private readonly nowMs: () => number,
  ) {}

  /** Follows the role: a new term of leadership starts empty and paused; losing it forgets all. */
  onRole(state: RoleState): void {
    const leading = state.role === 'leader' && state.ready;
    if (!leading) {
      this.leaderSinceMs = undefined;
      this.groups.clear();
      return;
    }
    if (this.leaderSinceMs !== undefined && this.leaderTerm === state.term) return;
    this.leaderTerm = state.term;
    this.leaderSinceMs = this.nowMs();
    this.groups.clear();
  }

  /** Ms left of the pause a new leader keeps before its first grant (0 once over). */
  pauseLeftMs(): number {
    if (this.leaderSinceMs === undefined) return this.expiryMs;
    return Math.max(0, this.leaderSinceMs + this.expiryMs - this.nowMs());
  }

  /** Grants or renews what `clientId` may hold now; returns the queues it holds. */
  tryLock(group: string, clientId: string, queues: readonly LockedQueue[]): LockedQueue[] {
    const now = this.nowMs();
    let table = this.groups.get(group);
    const out: LockedQueue[] = [];
    for (const q of queues) {
      const key = keyOf(q);
      const held = table?.get(key);
      const expired = held === undefined || now - held.lastUpdateMs > this.expiryMs;
      if (held !== undefined && held.clientId === clientId && !expired) {
        held.lastUpdateMs = now;
        out.push(q);
        continue;
      }
      if (!expired || this.pauseLeftMs() > 0) continue;
      if (table === undefined) this.groups.set(group, (table = new Map()));
      table.set(key, { clientId, lastUpdateMs: now });
      out.push(q);
    }
    return out;
  }

  /** Releases the queues `clientId` holds; others' locks are left alone. */
  unlock(group: string, clientId: string, queues: readonly LockedQueue[]): void {
    const table = this.groups.get(group);
    if (table === undefined) return;
    for (const q of queues) {
      const key = keyOf(q);
      if (table.get(key)?.clientId === clientId) table.delete(key);
    }
    if (table.size === 0) this.groups.delete(group);
  }

  /** Holder of a queue now (expired locks read as none); for tests and status. */
  holder(group: string, q: LockedQueue): string | undefined {
    const h = this.groups.get(group)?.get(keyOf(q));
    return h === undefined || this.nowMs() - h.lastUpdateMs > this.expiryMs ? undefined : h.clientId;
  }

  /** Drops expired locks (called periodically) so the table holds only live ones. */
  sweep(): void {
    const now = this.nowMs();
    for (const [group, table] of this.groups) {
      for (const [k, h] of table) if (now - h.lastUpdateMs > this.expiryMs) table.delete(k);
      if (table.size === 0) this.groups.delete(group);
    }
  }
}
