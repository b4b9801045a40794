// Follows the core's recovering state after a power loss under async flush (recovery-guard.ts) for
// RaftNode: logs its start and end, clears the storage's suspicion once the core has left it (or
// never entered it), and, loud rather than silent, reports a recovery that hears from no leader.
import type { Logger } from 'pino';
import type { RaftStatus } from '../core/raft.js';
import type { NodeId } from '../core/types.js';
import { RecoveryBlockedError } from './errors.js';

export interface RecoveryHost {
  log: Logger;
  status(): RaftStatus;
  lastIndex(): number;
  leader(): NodeId | '';
  electionTimeoutMs: number;
  /** Clears the storage's suspicion of lost writes (best effort). */
  markRecovered(): unknown;
  emit(err: RecoveryBlockedError): void;
}

export class RecoveryReporter {
  /** Since when no leader is known, and when that was last reported; undefined when not recovering. */
  private recovering: { sinceMs: number; reportedMs: number } | undefined;

  constructor(private readonly host: RecoveryHost) {}

  /** After each Ready while recovering (the state may have ended). */
  noteIfRecovering(now: number): void {
    if (this.recovering !== undefined) this.note(now);
  }

  note(now: number): void {
    const h = this.host;
    const active = h.status().recovering;
    if (active && this.recovering === undefined) {
      this.recovering = { sinceMs: now, reportedMs: now };
      h.log.warn({ commit: h.status().commit, lastIndex: h.lastIndex() }, 'restarted after a power loss or OS crash under async flush: not voting, campaigning or applying past the durable commit until a leader brings this log up to date');
    } else if (!active) {
      if (this.recovering !== undefined) h.log.info({ commit: h.status().commit }, 'caught up with the leader after a power loss: voting and applying again');
      this.recovering = undefined;
      h.markRecovered();
    }
  }

  /** Every tick: a recovering node that hears from no leader says so every 10 election timeouts. */
  report(now: number): void {
    const r = this.recovering;
    if (r === undefined) return;
    const h = this.host;
    if (h.leader() !== '') r.sinceMs = now;
    const intervalMs = 10 * h.electionTimeoutMs;
    if (now - r.sinceMs < intervalMs || now - r.reportedMs < intervalMs) return;
    r.reportedMs = now;
    const err = new RecoveryBlockedError(now - r.sinceMs);
    h.log.error({ code: err.code, waitedMs: err.waitedMs }, `${err.message}; if a majority of the group lost power at once, see "Power loss of a majority under ASYNC_FLUSH" in docs/operations.md`);
    h.emit(err);
  }
}
