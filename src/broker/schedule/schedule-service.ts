// The delay schedule service: delivers messages parked in SCHEDULE_TOPIC_XXXX (queue level-1)
// to their REAL_TOPIC / REAL_QID once store time + the level's delay has passed. It runs only
// on the ready leader (started when this node becomes a ready leader, stopped when it is not),
// so exactly one node delivers at a time. A cycle appends every due message (due-scan.ts) plus a
// progress record holding the offsets past them (schedule-progress.ts) as ONE payload, so one
// Raft entry carries both: a failover or a timeout can never separate a delivery from its offset
// advance, and a new leader resumes exactly after the last committed delivery (exactly once).
// An append whose outcome is unknown (a timeout: the entry may still commit) is never replayed:
// the service waits until the log shows that cycle's progress record (it committed) or leadership
// ends (a new ready leader reads the decided log). A `delay-offsets` control entry then copies the
// offsets into the replicated metadata for status and metadata snapshots.

import type { Logger } from '../../common/logger.js';
import type { BrokerContext, BrokerService, BrokerServiceFactory, RoleState } from '../broker-context.js';
import { parseDelayLevels } from './delay-levels.js';
import { scanDue } from './due-scan.js';
import { buildProgressRecord, PROGRESS_RECORD_MAX_BYTES, readLatestProgress } from './schedule-progress.js';

export interface ScheduleServiceOptions {
  /** Delay per level in ms; defaults to the broker's messageDelayLevel (tests use short levels). */
  delayLevelsMs?: readonly number[];
  /** Longest sleep between scans (new parked messages are noticed within this). */
  pollIntervalMs?: number;
  /** Messages appended per Raft entry; a backlog is worked off in back-to-back cycles. */
  maxMessagesPerCycle?: number;
  /** Bytes per cycle's entry; never more than a quarter of a CommitLog segment. */
  maxBytesPerCycle?: number;
  /** Wait after a failed append, or between checks of an append whose outcome is unknown. */
  retryAfterFailureMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 100;
const DEFAULT_MAX_MESSAGES_PER_CYCLE = 256;
const DEFAULT_MAX_BYTES_PER_CYCLE = 2 * 1024 * 1024;
/** A cycle's entry stays below this share of a segment (the entry batcher and Raft need room). */
const SEGMENT_SHARE = 4;
/** Units examined per cycle = this × the message cap (bounds the skipping of unreadable ones). */
const SCAN_FACTOR = 4;
const DEFAULT_RETRY_AFTER_FAILURE_MS = 500;
/**
 * Errors after which the append may have happened or may still happen (docs/errors.md): the cycle
 * is not tried again until the log decides it. Every other error means nothing was stored
 * (refused before the proposal, or replaced by a later leader), so the next cycle may retry.
 */
const OUTCOME_UNKNOWN = new Set(['ERR_BROKER_OUTCOME_UNKNOWN', 'ERR_BROKER_DISPATCH_FAILED', 'ERR_RAFT_PROPOSAL_TIMEOUT']);

/** An append whose outcome is not known yet. */
interface PendingCycle {
  cycle: string;
  offsets: Map<number, number>;
  count: number;
  nextStartIndex: number;
}

export class ScheduleService implements BrokerService {
  readonly name = 'schedule';
  readonly levelsMs: readonly number[];
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly retryAfterFailureMs: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private active = false;
  private stopped = false;
  /** Bumped on every activation and deactivation: a cycle that sees it change drops its result. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Per level (1-based), the schedule-queue offset delivered up to; loaded from the log on first use. */
  private next: Map<number, number> | undefined;
  private startIndex = 0;
  private sequence = 0;
  private pending: PendingCycle | undefined;
  /** Why this leader does not deliver (its levels differ from the group's), or undefined. */
  private refusal: string | undefined;
  /** Messages delivered since start (for tests and status). */
  deliveredCount = 0;

  constructor(private readonly ctx: BrokerContext, options: ScheduleServiceOptions = {}) {
    this.levelsMs = options.delayLevelsMs ?? parseDelayLevels(ctx.config.messageDelayLevel);
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? DEFAULT_RETRY_AFTER_FAILURE_MS;
    this.maxMessages = options.maxMessagesPerCycle ?? DEFAULT_MAX_MESSAGES_PER_CYCLE;
    const segmentBytes = ctx.config.mappedFileSizeCommitLog;
    const segmentCap = segmentBytes > 0 ? Math.floor(segmentBytes / SEGMENT_SHARE) : Number.POSITIVE_INFINITY;
    // The progress record rides in the same entry: its room comes off the messages' share.
    this.maxBytes = Math.max(1, Math.min(options.maxBytesPerCycle ?? DEFAULT_MAX_BYTES_PER_CYCLE, segmentCap) - PROGRESS_RECORD_MAX_BYTES);
    this.log = ctx.log.child({ component: 'schedule' });
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Why this node, leading, does not deliver; undefined when it delivers (or does not lead). */
  get refusedBecause(): string | undefined {
    return this.refusal;
  }

  /** True while an append's outcome is unknown and the service waits for it to be decided. */
  get awaitingOutcome(): boolean {
    return this.pending !== undefined;
  }

  /** The offsets this node has delivered up to, per level 1..n (for status and tests). */
  deliveredOffsets(): readonly number[] {
    return this.levelsMs.map((_, i) => this.next?.get(i + 1) ?? 0);
  }

  start(): void {
    if (this.unsubscribe || this.stopped) return;
    this.unsubscribe = this.ctx.raft.onRoleChange((state) => this.onRole(state));
    this.onRole(this.ctx.raft.role());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.deactivate();
    await this.running;
  }

  private onRole(state: RoleState): void {
    const leads = state.role === 'leader' && state.ready;
    if (leads && !this.active) this.activate();
    else if (!leads && this.active) this.deactivate();
  }

  private activate(): void {
    if (this.stopped) return;
    this.active = true;
    this.forget();
    this.log.info('schedule service active on the leader');
    this.schedule(0);
  }

  private deactivate(): void {
    if (!this.active) return;
    this.active = false;
    this.forget();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.log.info('schedule service stopped: not the ready leader');
  }

  /** Drops what this leadership knew: the next one reads the (by then decided) log afresh. */
  private forget(): void {
    this.generation++;
    this.next = undefined;
    this.pending = undefined;
    this.refusal = undefined;
  }

  private schedule(delayMs: number): void {
    if (!this.active || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runCycle(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private runCycle(): void {
    this.timer = undefined;
    if (this.running || !this.active) return;
    const gen = this.generation;
    let sleepMs = this.pollIntervalMs;
    this.running = this.cycle(gen)
      .then((ms) => {
        sleepMs = ms;
      })
      .catch((err: unknown) => {
        sleepMs = this.retryAfterFailureMs;
        if (gen === this.generation) this.log.warn({ err }, 'delivering due delayed messages failed; retrying');
      })
      .finally(() => {
        this.running = undefined;
        // A cycle of an earlier activation still ran when this one began: start this one now.
        if (this.active) this.schedule(gen === this.generation ? sleepMs : 0);
      });
  }

  /**
   * One scan over every level: appends what is due with its progress record, then records the new
   * offsets. Returns how long to sleep: 0 when a cap was hit (more is due), else until the
   * earliest next due time (at most the poll interval).
   */
  async cycle(gen = this.generation): Promise<number> {
    this.next ??= this.resume();
    if (this.refusal !== undefined) return this.pollIntervalMs;
    if (this.pending && !this.settlePending()) return this.retryAfterFailureMs;
    const next = this.next;
    const now = this.ctx.nowMs();
    const scan = scanDue({
      store: this.ctx.store,
      levelsMs: this.levelsMs,
      offsets: next,
      startIndex: this.startIndex,
      maxMessages: this.maxMessages,
      maxBytes: this.maxBytes,
      maxScanned: this.maxMessages * SCAN_FACTOR,
      nowMs: now,
      storeHost: this.ctx.storeHost,
      log: this.log,
    });
    const moved = [...scan.offsets].some(([level, offset]) => offset !== (next.get(level) ?? 0));
    if (moved) {
      const cycle = `${this.ctx.raft.nodeId}/${this.ctx.raft.role().term}/${++this.sequence}`;
      const progress = buildProgressRecord({ cycle, levelsMs: [...this.levelsMs], offsets: [...scan.offsets] }, now, this.ctx.storeHost);
      try {
        await this.ctx.putMessages([...scan.records, progress]);
      } catch (err) {
        if (gen !== this.generation) return this.pollIntervalMs;
        const code = (err as { code?: unknown } | null)?.code;
        if (typeof code !== 'string' || !OUTCOME_UNKNOWN.has(code)) throw err;
        // Timed out or otherwise undecided: it may still commit. Never replay it; wait.
        this.pending = { cycle, offsets: scan.offsets, count: scan.records.length, nextStartIndex: scan.nextStartIndex };
        this.log.warn({ err, cycle, messages: scan.records.length }, 'delivery outcome unknown; waiting until the log decides it before delivering more');
        return this.retryAfterFailureMs;
      }
      if (gen !== this.generation) return this.pollIntervalMs;
      this.advance(scan.offsets, scan.records.length, scan.nextStartIndex);
      for (const [level, count] of scan.undefinedLevels) {
        this.log.warn({ delayLevel: level, count, configuredLevels: this.levelsMs.length }, 'delivered messages parked at a delay level messageDelayLevel does not define, at once');
      }
    } else {
      this.startIndex = scan.nextStartIndex;
    }
    await this.recordOffsets(gen);
    if (scan.full) return 0;
    return Math.min(this.pollIntervalMs, Math.max(1, scan.nextDueMs - this.ctx.nowMs()));
  }

  private advance(offsets: Map<number, number>, count: number, nextStartIndex: number): void {
    this.next = offsets;
    this.deliveredCount += count;
    this.startIndex = nextStartIndex;
  }

  /**
   * Where delivery stands: the newest progress record in the log (exact) and the replicated
   * delay offsets (which outlive progress records deleted by retention), the higher per level.
   * Also checks that the group delivered with the levels this node is configured with.
   */
  private resume(): Map<number, number> {
    const offsets = new Map(this.ctx.metadata.delayOffsets());
    const latest = readLatestProgress(this.ctx.store);
    if (!latest.found) {
      if (latest.reason === 'unreadable') this.log.warn('the newest schedule progress record is unreadable; resuming from the replicated delay offsets');
    } else {
      for (const [level, offset] of latest.progress.offsets) offsets.set(level, Math.max(offsets.get(level) ?? 0, offset));
      const recorded = latest.progress.levelsMs;
      const same = recorded.length === this.levelsMs.length && recorded.every((ms, i) => ms === this.levelsMs[i]);
      if (!same) {
        const fields = { ownLevelsMs: this.levelsMs, groupLevelsMs: recorded, by: latest.progress.cycle };
        if (this.ctx.config.messageDelayLevelChangeAllowed) {
          this.log.warn(fields, 'messageDelayLevel differs from the levels the group last delivered with; delivering with this node\'s levels (messageDelayLevelChangeAllowed=true)');
        } else {
          this.refusal = `this node's messageDelayLevel (${this.levelsMs.length} levels) differs from the levels the group last delivered with (${recorded.length} levels, cycle ${latest.progress.cycle})`;
          this.log.error(fields, 'NOT delivering delayed messages: the nodes of this group disagree on messageDelayLevel. Give every node the same value; to change it on purpose, set messageDelayLevelChangeAllowed=true with the new value');
        }
      }
    }
    this.log.info({ offsets: [...offsets] }, 'schedule service resumes');
    return offsets;
  }

  /** True once the unknown append is decided here: committed (its progress record is the newest). */
  private settlePending(): boolean {
    const p = this.pending!;
    const latest = readLatestProgress(this.ctx.store);
    if (!latest.found || latest.progress.cycle !== p.cycle) return false;
    this.pending = undefined;
    this.advance(p.offsets, p.count, p.nextStartIndex);
    this.log.info({ cycle: p.cycle, messages: p.count }, 'the delivery whose outcome was unknown committed');
    return true;
  }

  /** Proposes the levels whose offset moved past the replicated one (one control entry). */
  private async recordOffsets(gen: number): Promise<void> {
    const offsets: { level: number; offset: number }[] = [];
    for (const [level, offset] of this.next ?? []) {
      if (offset !== (this.ctx.metadata.delayOffset(level) ?? 0)) offsets.push({ level, offset });
    }
    if (offsets.length === 0 || gen !== this.generation) return;
    try {
      await this.ctx.raft.proposeControl({ kind: 'delay-offsets', offsets });
    } catch (err) {
      // The progress record already holds these offsets; the next cycle proposes them again.
      if (gen === this.generation) this.log.warn({ err }, 'copying the delay offsets into the metadata failed; retrying next cycle');
    }
  }
}

export const scheduleServiceFactory: BrokerServiceFactory = (ctx) => new ScheduleService(ctx);
