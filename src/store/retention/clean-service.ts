// Retention: decides when head segments of the Raft log (the CommitLog) may go, deletes them
// through `log.deleteHead`, then lets the store drop the ConsumeQueue/IndexFile files and min
// offsets that pointed into them. It also judges disk pressure and tells the broker when to
// refuse writes. RocketMQ's rules (docs/operations.md, "Retention and disk pressure"):
//   - a segment has expired when its last modification is older than fileReservedTime hours
//     (we judge by the segment file's mtime, as RocketMQ does with a CommitLog file's
//     lastModified: it is the time of the newest entry written there, and needs no scan);
//   - expired segments go at a deleteWhen hour (local time), or at once above
//     diskMaxUsedSpaceRatio, or when asked (deleteExpiredNow);
//   - above diskSpaceCleanForciblyRatio the oldest segments go even unexpired;
//   - above diskSpaceWarningLevelRatio writes are refused until space returns.
// Limits that always hold: the segment holding the last entry stays (deleteHead guarantees it),
// nothing not yet dispatched into the ConsumeQueues goes, and entries at or above
// `minRetainIndex()` (what lagging followers still need) stay except under the forcible rule.

import { statSync } from 'node:fs';
import type { CommitLogReader, SegmentedCommitLog } from '../commit-log.js';
import { type DiskUsage, type DiskUsageProbe, statfsUsage } from '../disk-usage.js';
import type { MessageStore } from '../message-store.js';

/** The log retention works on (see commit-log.ts); the name is kept for the broker's imports. */
export type SegmentedLog = SegmentedCommitLog;

export interface RetentionConfig {
  /** Hours a segment is kept after its last write (RocketMQ fileReservedTime, default 72). */
  fileReservedTimeHours: number;
  /** Local hours of the day at which expired segments are deleted (RocketMQ deleteWhen "04"). */
  deleteWhen: readonly number[];
  /** Percent of disk used above which expired segments go at once (default 75). */
  diskMaxUsedSpaceRatio: number;
  /** Percent above which the oldest segments go even unexpired (default 85). */
  diskSpaceCleanForciblyRatio: number;
  /** Percent above which writes are refused (default 90). */
  diskSpaceWarningLevelRatio: number;
  /** Whether the forcible rule applies at all (RocketMQ cleanFileForciblyEnable, default true). */
  cleanFileForciblyEnable: boolean;
  /** Segments deleted per run at most (RocketMQ deletes 10 files per round). */
  maxSegmentsPerRun: number;
  /** Period of the internal timer (RocketMQ cleanResourceInterval, 10 s). */
  checkIntervalMs: number;
}

export const DEFAULT_RETENTION_CONFIG: Readonly<RetentionConfig> = {
  fileReservedTimeHours: 72,
  deleteWhen: [4],
  diskMaxUsedSpaceRatio: 75,
  diskSpaceCleanForciblyRatio: 85,
  diskSpaceWarningLevelRatio: 90,
  cleanFileForciblyEnable: true,
  maxSegmentsPerRun: 10,
  checkIntervalMs: 10_000,
};

export interface CleanServiceDeps {
  log: SegmentedLog;
  store: MessageStore;
  /**
   * Lowest Raft index that must stay because a follower still needs it: the broker computes it
   * from Raft progress on the leader (min over followers of matchIndex + 1) and returns the
   * commit index on a follower, bounded by the latest metadata snapshot (what a reset replica
   * re-applies after it). Asked on every deleting run, and obeyed except under the 85% rule.
   * Default: no constraint.
   */
  minRetainIndex?: () => number;
  /**
   * Called at the start of every deleting run, before anything is judged: the broker makes its
   * derived state (ConsumeQueues, index, checkpoint, metadata) durable there, so a restart never
   * needs a segment this run deletes. Kept apart from minRetainIndex, which only answers.
   */
  beforeHeadDeletion?: () => void;
  nowMs?: () => number;
  /** Disk usage of a path (default: statfs). Tests pass a fake reporting any ratio. */
  diskUsage?: DiskUsageProbe;
  /** Paths whose file systems are watched (default: the log's segment directory and the store root). */
  watchedPaths?: readonly string[];
  /** Last-modified time of a segment file (default: its mtime). */
  segmentModifiedMs?: (path: string) => number;
  /** Called after each run that deleted something, and with errors of timer runs. */
  onDeleted?: (report: CleanReport) => void;
  /** Called with the report of every run, timer or manual (the broker learns what stopped it). */
  onReport?: (report: CleanReport) => void;
  onError?: (err: unknown) => void;
}

export type CleanReason = 'none' | 'scheduled-hour' | 'disk-over-max' | 'forcible' | 'manual-expired' | 'manual-oldest';

export interface CleanReport {
  reason: CleanReason;
  /** Highest used ratio (0..1) over the watched file systems at the start of the run. */
  usedRatio: number;
  deletedSegments: number;
  /** ConsumeQueue and IndexFile files deleted after the log head moved. */
  deletedStoreFiles: number;
  /** The log's first index after the run. */
  firstIndex: number;
  /** Why fewer segments went than the rule allowed, when that is the case. */
  stoppedBy?: 'unexpired' | 'undispatched' | 'min-retain-index' | 'last-segment' | 'run-limit';
}

const HOUR_MS = 3_600_000;
/** admitWrite measures the disk again when its last measure is this old... */
export const WRITE_CHECK_MAX_AGE_MS = 100;
/** ...or this many bytes were admitted since (statfs costs microseconds; a full disk costs the node). */
export const WRITE_CHECK_MAX_BYTES = 8 * 1024 * 1024;

export class CleanService {
  readonly config: Readonly<RetentionConfig>;
  private readonly nowMs: () => number;
  private readonly probe: DiskUsageProbe;
  private readonly paths: readonly string[];
  private readonly modifiedMs: (path: string) => number;
  private timer: NodeJS.Timeout | undefined;
  private lastUsedRatio = 0;
  private refusal: string | undefined;
  /** The fullest watched file system at the last check, for estimating between checks. */
  private worstUsage: { path: string; usedBytes: number; capacityBytes: number } | undefined;
  private lastCheckMs = Number.NEGATIVE_INFINITY;
  /** Bytes admitted for writing since the last check. */
  private admittedBytes = 0;
  /** The error of the last timer run, if it failed. */
  lastError: unknown;

  constructor(
    private readonly deps: CleanServiceDeps,
    config: Partial<RetentionConfig> = {},
  ) {
    const c = { ...DEFAULT_RETENTION_CONFIG, ...config };
    validate(c);
    this.config = c;
    this.nowMs = deps.nowMs ?? Date.now;
    this.probe = deps.diskUsage ?? statfsUsage;
    // ConsumeQueues and indexes may sit on disks of their own (storePathConsumeQueue, storePathindex).
    this.paths = deps.watchedPaths ?? [...new Set([deps.store.root, ...[deps.store.paths.consumeQueueDir, deps.store.paths.indexDir].filter((d) => !d.startsWith(`${deps.store.root}/`)), ...(deps.log.dir !== undefined ? [deps.log.dir] : [])])];
    this.modifiedMs = deps.segmentModifiedMs ?? ((path) => statSync(path).mtimeMs);
  }

  /** Runs a check now and then every `checkIntervalMs` (the timer does not keep Node alive). */
  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.config.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    try {
      const report = this.runOnce();
      this.lastError = undefined;
      if (report.deletedSegments > 0) this.deps.onDeleted?.(report);
    } catch (err) {
      this.lastError = err;
      this.deps.onError?.(err);
    }
  }

  /** Highest used ratio (0..1) seen at the last check. */
  get usedRatio(): number {
    return this.lastUsedRatio;
  }

  /**
   * Why writes must be refused now, or undefined when they may proceed: the disk passed the
   * warning level at the last check, or the store hit a full disk while dispatching. Cheap: the
   * broker may call it on every send.
   */
  writeRefusal(): string | undefined {
    const diskFull = this.deps.store.diskFullError;
    if (diskFull) return `disk full: ${diskFull.message}`;
    return this.refusal;
  }

  isWritable(): boolean {
    return this.writeRefusal() === undefined;
  }

  /**
   * Like writeRefusal(), for a write of `bytes` about to be made, and fresh enough that a fast
   * producer cannot run the disk full between timer checks: the disk is measured again when the
   * last measure is older than WRITE_CHECK_MAX_AGE_MS or WRITE_CHECK_MAX_BYTES were admitted
   * since, and in between the bytes admitted are added to the last measure.
   */
  admitWrite(bytes: number): string | undefined {
    if (this.nowMs() - this.lastCheckMs >= WRITE_CHECK_MAX_AGE_MS || this.admittedBytes >= WRITE_CHECK_MAX_BYTES) {
      try {
        this.checkDisk();
      } catch (err) {
        // A failed statfs is not a full disk: go on with the last measure; the timer reports it.
        this.deps.onError?.(err);
      }
    }
    const refusal = this.writeRefusal();
    if (refusal !== undefined) return refusal;
    const w = this.worstUsage;
    if (w !== undefined && w.capacityBytes > 0) {
      const percent = ((w.usedBytes + this.admittedBytes + bytes) / w.capacityBytes) * 100;
      if (percent >= this.config.diskSpaceWarningLevelRatio) return this.refusalText(w.path, percent);
    }
    this.admittedBytes += bytes;
    return undefined;
  }

  private refusalText(path: string, percent: number): string {
    return `disk full: the file system of ${path} is ${percent.toFixed(1)}% used, at or above diskSpaceWarningLevelRatio ${this.config.diskSpaceWarningLevelRatio}%; writes are refused until retention or an operator frees space`;
  }

  /** Measures the disk now and updates writeRefusal(); returns the highest used ratio (0..1). */
  checkDisk(): number {
    let worst: DiskUsage | undefined;
    let worstPath = '';
    for (const p of this.paths) {
      const u = this.probe(p);
      if (!worst || u.usedRatio > worst.usedRatio) {
        worst = u;
        worstPath = p;
      }
    }
    const ratio = worst?.usedRatio ?? 0;
    this.lastUsedRatio = ratio;
    this.lastCheckMs = this.nowMs();
    this.admittedBytes = 0;
    if (worst !== undefined) {
      // used / (used + available), as usedRatio is defined; capacity is what a write can reach.
      const capacityBytes = worst.usedRatio < 1 ? worst.availableBytes / (1 - worst.usedRatio) : worst.totalBytes;
      this.worstUsage = { path: worstPath, usedBytes: capacityBytes * worst.usedRatio, capacityBytes };
    }
    const percent = ratio * 100;
    this.refusal = percent >= this.config.diskSpaceWarningLevelRatio ? this.refusalText(worstPath, percent) : undefined;
    return ratio;
  }

  /** One check by the rules in the header. The timer calls it; tests call it with a fake clock. */
  runOnce(): CleanReport {
    const ratio = this.checkDisk();
    const percent = ratio * 100;
    const c = this.config;
    if (c.cleanFileForciblyEnable && percent >= c.diskSpaceCleanForciblyRatio) return this.deleteHead('forcible', ratio, false, false);
    if (percent >= c.diskMaxUsedSpaceRatio) return this.deleteHead('disk-over-max', ratio, true, true);
    const hour = new Date(this.nowMs()).getHours();
    if (c.deleteWhen.includes(hour)) return this.deleteHead('scheduled-hour', ratio, true, true);
    return this.report('none', ratio, 0, 0);
  }

  /** Manual delete of expired segments now, whatever the hour (an admin command). */
  deleteExpiredNow(): CleanReport {
    return this.deleteHead('manual-expired', this.checkDisk(), true, true);
  }

  /**
   * Manual delete of up to `count` oldest segments, expired or not, still keeping what followers
   * need (minRetainIndex), what is not dispatched, and the segment holding the last entry.
   */
  deleteOldestSegments(count: number): CleanReport {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`segment count ${count} must be a non-negative integer`);
    return this.deleteHead('manual-oldest', this.checkDisk(), false, true, count);
  }

  private report(reason: CleanReason, usedRatio: number, deletedSegments: number, deletedStoreFiles: number, stoppedBy?: CleanReport['stoppedBy']): CleanReport {
    const r: CleanReport = { reason, usedRatio, deletedSegments, deletedStoreFiles, firstIndex: this.deps.log.firstIndex() };
    if (stoppedBy) r.stoppedBy = stoppedBy;
    this.deps.onReport?.(r);
    return r;
  }

  /**
   * Deletes head segments in order while each is allowed: expired (when `onlyExpired`), wholly
   * dispatched, below minRetainIndex (when `respectFollowers`), not holding the last entry.
   */
  private deleteHead(reason: CleanReason, usedRatio: number, onlyExpired: boolean, respectFollowers: boolean, maxCount = this.config.maxSegmentsPerRun): CleanReport {
    const { log, store } = this.deps;
    const segments = log.segmentFiles();
    // Entries below `limit` may go: dispatched, and not needed by a follower.
    let limit = store.dispatchedIndex + 1;
    // Even under the 85% rule: a restart must never need a segment deleted by this run.
    this.deps.beforeHeadDeletion?.();
    const minRetainIndex = this.deps.minRetainIndex?.();
    if (respectFollowers && minRetainIndex !== undefined) limit = Math.min(limit, minRetainIndex);
    const expiredBefore = this.nowMs() - this.config.fileReservedTimeHours * HOUR_MS;
    const count = Math.min(maxCount, this.config.maxSegmentsPerRun, segments.length - 1);
    let beforeIndex = 0;
    let deletable = 0;
    let stoppedBy: CleanReport['stoppedBy'];
    // Bounded by `count`, itself at most maxSegmentsPerRun.
    for (let c = 0; c < count && stoppedBy === undefined; c++) {
      // Deleting segment c keeps everything from the first entry of segment c + 1.
      const next = firstIndexAtOrAfter(log, segments[c + 1]!.basePosition);
      if (onlyExpired && !(this.modifiedMs(segments[c]!.path) < expiredBefore)) stoppedBy = 'unexpired';
      else if (next === undefined) stoppedBy = 'last-segment';
      else if (next > store.dispatchedIndex + 1) stoppedBy = 'undispatched';
      else if (next > limit) stoppedBy = 'min-retain-index';
      else {
        beforeIndex = next;
        deletable = c + 1;
      }
    }
    stoppedBy ??= count < segments.length - 1 ? 'run-limit' : 'last-segment';
    if (deletable === 0) return this.report(reason, usedRatio, 0, 0, stoppedBy);
    const before = segments.length;
    // The new start records every queue's offset there, so a store rebuilt from this log (or a
    // replica reset to it) numbers messages as this one did (queue-start.ts).
    log.deleteHead(beforeIndex, (first) => store.queueStartRecord(first));
    const deletedSegments = before - log.segmentFiles().length;
    const deletedStoreFiles = store.deleteBelowLogStart();
    return this.report(reason, usedRatio, deletedSegments, deletedStoreFiles, stoppedBy);
  }
}

/** First Raft index whose entry starts at or after byte `position` (binary search), if any. */
function firstIndexAtOrAfter(log: CommitLogReader, position: number): number | undefined {
  let lo = log.firstIndex();
  let hi = log.lastIndex() + 1;
  // Bounded: the range halves every round.
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (log.locate(mid)!.position >= position) hi = mid;
    else lo = mid + 1;
  }
  return lo <= log.lastIndex() ? lo : undefined;
}

function validate(c: RetentionConfig): void {
  const percent = (name: keyof RetentionConfig, v: number) => {
    if (!(v >= 0 && v <= 100)) throw new RangeError(`${name} ${v} must be a percentage (0..100)`);
  };
  percent('diskMaxUsedSpaceRatio', c.diskMaxUsedSpaceRatio);
  percent('diskSpaceCleanForciblyRatio', c.diskSpaceCleanForciblyRatio);
  percent('diskSpaceWarningLevelRatio', c.diskSpaceWarningLevelRatio);
  if (!(c.fileReservedTimeHours >= 0)) throw new RangeError(`fileReservedTimeHours ${c.fileReservedTimeHours} must be >= 0`);
  if (!c.deleteWhen.every((h) => Number.isInteger(h) && h >= 0 && h <= 23)) throw new RangeError(`deleteWhen ${c.deleteWhen.join(';')} must be hours 0..23`);
  if (!Number.isInteger(c.maxSegmentsPerRun) || c.maxSegmentsPerRun < 1) throw new RangeError(`maxSegmentsPerRun ${c.maxSegmentsPerRun} must be a positive integer`);
  if (!(c.checkIntervalMs >= 10)) throw new RangeError(`checkIntervalMs ${c.checkIntervalMs} must be >= 10`);
}

/** Parses RocketMQ's deleteWhen ("04", "04;16") into hours. */
export function parseDeleteWhen(text: string): number[] {
  const hours = text.split(';').map((h) => h.trim()).filter((h) => h.length > 0).map(Number);
  if (hours.length === 0 || !hours.every((h) => Number.isInteger(h) && h >= 0 && h <= 23)) {
    throw new RangeError(`deleteWhen "${text}" must be hours 0..23 separated by ';'`);
  }
  return hours;
}
