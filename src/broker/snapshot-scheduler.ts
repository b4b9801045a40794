// When the leader proposes a metadata snapshot (metadata-snapshot.ts). Retention may delete the
// log only up to the latest snapshot's asOfIndex + 1, so snapshots must follow the log's growth;
// they also cost a few entries each, so they stay rare: only the ready leader with complete
// metadata proposes, at most one snapshot is in flight, at most one per second, and only when
//   - the log grew by a segment (mappedFileSizeCommitLog) since the latest snapshot, or
//   - no snapshot covers the log head (none yet with a deleted head, or retention's 85% rule
//     deleted past the latest one): a replica reset to this head could not install any, or
//   - retention stopped at the snapshot bound and at nothing else.

import type { Logger } from '../common/logger.js';
import type { MetadataState } from './metadata-state.js';
import { encodeSnapshotParts, MetadataSnapshotTooLargeError, type SnapshotMark } from './metadata-snapshot.js';

export type SnapshotReason = 'log-grew' | 'head-uncovered' | 'retention-blocked' | 'asked';

export interface SnapshotSchedulerDeps {
  log: { firstIndex(): number; lastIndex(): number; locate(index: number): { position: number } | undefined };
  metadata: MetadataState;
  /** Log growth (bytes) after which a new snapshot is due: the segment size. */
  segmentBytes: number;
  /** Largest entry a part may be, and most parts one snapshot may take. */
  maxEntryBytes: number;
  maxParts: number;
  /** True while this node is the ready leader (which implies complete metadata). */
  canPropose: () => boolean;
  /** Proposes the parts as consecutive entries; resolves once the last is committed and applied. */
  propose: (parts: Buffer[]) => Promise<{ index: number; lastIndex: number }>;
  logger: Logger;
  nowMs?: () => number;
}

/** Proposals of a snapshot are at least this far apart. */
export const SNAPSHOT_MIN_INTERVAL_MS = 1000;
/** After a snapshot too large to propose, the next attempt waits this long (it is logged each time). */
const TOO_LARGE_RETRY_MS = 60_000;

export class SnapshotScheduler {
  private inFlight = false;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private retryAfterMs = 0;
  private retentionBlocked = false;
  private readonly nowMs: () => number;

  constructor(private readonly d: SnapshotSchedulerDeps) {
    this.nowMs = d.nowMs ?? Date.now;
  }

  /** Retention stopped at the snapshot bound while every other bound allowed more. */
  noteRetentionBlocked(): void {
    this.retentionBlocked = true;
  }

  /** Why a snapshot is due now, or undefined. */
  due(): SnapshotReason | undefined {
    const { log, metadata } = this.d;
    const latest = metadata.latestSnapshot;
    const first = log.firstIndex();
    if (first > 1 && (latest === undefined || latest.asOfIndex + 1 < first)) return 'head-uncovered';
    if (this.retentionBlocked) return 'retention-blocked';
    const end = log.locate(log.lastIndex())?.position;
    const from = (latest !== undefined ? log.locate(latest.index) : undefined) ?? log.locate(first);
    if (end !== undefined && from !== undefined && end - from.position >= this.d.segmentBytes) return 'log-grew';
    return undefined;
  }

  /** The periodic check: proposes when due and allowed. */
  tick(): void {
    if (this.inFlight || !this.d.canPropose()) return;
    const now = this.nowMs();
    if (now - this.lastAttemptMs < Math.max(SNAPSHOT_MIN_INTERVAL_MS, this.retryAfterMs)) return;
    const reason = this.due();
    if (reason !== undefined) void this.propose(reason);
  }

  /**
   * Proposes a snapshot of the current tables now (unless one is in flight or this node may not);
   * resolves with where it landed, or undefined when none was proposed or it did not commit.
   */
  async propose(reason: SnapshotReason): Promise<SnapshotMark | undefined> {
    if (this.inFlight || !this.d.canPropose()) return undefined;
    const { metadata } = this.d;
    this.lastAttemptMs = this.nowMs();
    this.retentionBlocked = false;
    const asOfIndex = metadata.appliedIndex;
    let parts: Buffer[];
    try {
      parts = encodeSnapshotParts(metadata.toTables(), asOfIndex, { maxEntryBytes: this.d.maxEntryBytes, maxParts: this.d.maxParts });
    } catch (err) {
      if (!(err instanceof MetadataSnapshotTooLargeError)) throw err;
      this.retryAfterMs = TOO_LARGE_RETRY_MS;
      this.d.logger.error({ err, asOfIndex }, 'metadata snapshot not proposed: too large; retention stays bounded by the previous snapshot');
      return undefined;
    }
    this.retryAfterMs = 0;
    this.inFlight = true;
    try {
      const r = await this.d.propose(parts);
      this.d.logger.info({ reason, asOfIndex, index: r.lastIndex, parts: parts.length }, 'metadata snapshot committed');
      return { index: r.lastIndex, asOfIndex };
    } catch (err) {
      this.d.logger.warn({ err, reason, asOfIndex }, 'metadata snapshot not committed; the next check retries');
      return undefined;
    } finally {
      this.inFlight = false;
    }
  }
}
