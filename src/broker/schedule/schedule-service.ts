// The delay schedule service: delivers messages parked in SCHEDULE_TOPIC_XXXX (queue level-1)
// to their REAL_TOPIC / REAL_QID once store time + the level's delay has passed. It runs only
// on the ready leader (started when this node becomes a ready leader, stopped when it is not),
// so exactly one node delivers at a time. Per level it reads the schedule queue from the
// replicated delay offset, appends every due message as one Raft entry, and only then advances
// the delay offsets through a control entry: a new leader resumes from the last committed
// offsets, so a failover can deliver a message twice but never loses one (at-least-once).

import type { Logger } from '../../common/logger.js';
import { decodeMessageRecord, type ConsumeQueueUnit, type MessageRecord } from '../../store/index.js';
import type { BrokerContext, BrokerService, BrokerServiceFactory, RoleState } from '../broker-context.js';
import { SCHEDULE_TOPIC } from '../topic-rules.js';
import { parseDelayLevels } from './delay-levels.js';
import { buildDueRecord } from './due-record.js';

export interface ScheduleServiceOptions {
  /** Delay per level in ms; defaults to the broker's messageDelayLevel (tests use short levels). */
  delayLevelsMs?: readonly number[];
  /** Longest sleep between scans (new parked messages are noticed within this). */
  pollIntervalMs?: number;
  /** Messages appended per Raft entry; a backlog is worked off in back-to-back cycles. */
  maxMessagesPerCycle?: number;
  maxBytesPerCycle?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 100;
const DEFAULT_MAX_MESSAGES_PER_CYCLE = 256;
const DEFAULT_MAX_BYTES_PER_CYCLE = 2 * 1024 * 1024;
/** Units examined per cycle = this × the message cap (bounds the skipping of unreadable ones). */
const SCAN_FACTOR = 4;
/** After a failed append or proposal, wait this long before trying again. */
const RETRY_AFTER_FAILURE_MS = 500;

export class ScheduleService implements BrokerService {
  readonly name = 'schedule';
  readonly levelsMs: readonly number[];
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly unit: ConsumeQueueUnit = { physicalOffset: 0, size: 0, tagHash: 0 };
  private active = false;
  private stopped = false;
  /** Bumped on every activation and deactivation: a cycle that sees it change drops its result. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Per level (index level-1), the schedule-queue offset this leader has delivered up to. */
  private next: number[] = [];
  /** Messages delivered since start (for tests and status). */
  deliveredCount = 0;

  constructor(private readonly ctx: BrokerContext, options: ScheduleServiceOptions = {}) {
    this.levelsMs = options.delayLevelsMs ?? parseDelayLevels(ctx.config.messageDelayLevel);
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.maxMessages = options.maxMessagesPerCycle ?? DEFAULT_MAX_MESSAGES_PER_CYCLE;
    this.maxBytes = options.maxBytesPerCycle ?? DEFAULT_MAX_BYTES_PER_CYCLE;
    this.log = ctx.log.child({ component: 'schedule' });
  }

  get isActive(): boolean {
    return this.active;
  }

  /** The offsets this node has delivered up to, per level 1..n (for status and tests). */
  deliveredOffsets(): readonly number[] {
    return [...this.next];
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
    this.generation++;
    // A ready leader has applied every committed control entry: resume where the group stopped.
    this.next = this.levelsMs.map((_, i) => this.ctx.metadata.delayOffset(i + 1) ?? 0);
    this.log.info({ offsets: this.next }, 'schedule service active on the leader');
    this.schedule(0);
  }

  private deactivate(): void {
    if (!this.active) return;
    this.active = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.log.info('schedule service stopped: not the ready leader');
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
        sleepMs = RETRY_AFTER_FAILURE_MS;
        if (gen === this.generation) this.log.warn({ err }, 'delivering due delayed messages failed; retrying');
      })
      .finally(() => {
        this.running = undefined;
        if (gen === this.generation) this.schedule(sleepMs);
      });
  }

  /**
   * One scan over every level: appends what is due, then records the new offsets. Returns how
   * long to sleep: 0 when a cap was hit (more is due), else until the earliest next due time.
   */
  async cycle(gen = this.generation): Promise<number> {
    const now = this.ctx.nowMs();
    const { records, advanced, nextDueMs, full } = this.collectDue(now);
    if (records.length > 0) await this.ctx.putMessages(records);
    if (gen !== this.generation) return this.pollIntervalMs;
    this.next = advanced;
    this.deliveredCount += records.length;
    await this.recordOffsets(gen);
    if (full) return 0;
    return Math.min(this.pollIntervalMs, Math.max(1, nextDueMs - this.ctx.nowMs()));
  }

  private collectDue(now: number): { records: MessageRecord[]; advanced: number[]; nextDueMs: number; full: boolean } {
    const store = this.ctx.store;
    const records: MessageRecord[] = [];
    const advanced = [...this.next];
    let bytes = 0;
    let scanned = 0;
    const scanMax = this.maxMessages * SCAN_FACTOR;
    let nextDueMs = Number.POSITIVE_INFINITY;
    let full = false;
    const u = this.unit;
    for (let i = 0; i < this.levelsMs.length && !full; i++) {
      const cq = store.queues.find(SCHEDULE_TOPIC, i);
      if (!cq) continue;
      let off = Math.max(advanced[i] ?? 0, cq.minOffset);
      // Bounded by the queue length and by the per-cycle caps.
      while (off < cq.maxOffset) {
        if (records.length >= this.maxMessages || bytes >= this.maxBytes || scanned >= scanMax) {
          full = true;
          break;
        }
        if (!cq.read(off, u)) break;
        scanned++;
        let storedAtMs: number;
        try {
          storedAtMs = store.storeTimestampAt(u.physicalOffset);
        } catch {
          off++; // retention removed it: nothing left to deliver
          continue;
        }
        const dueAtMs = storedAtMs + this.levelsMs[i]!;
        if (dueAtMs > now) {
          // A level's queue is in store-time order, so nothing after this one is due either.
          nextDueMs = Math.min(nextDueMs, dueAtMs);
          break;
        }
        const raw = store.lookMessageByOffset(u.physicalOffset);
        off++;
        if (!raw) {
          this.log.warn({ level: i + 1, physicalOffset: u.physicalOffset }, 'parked message is no longer readable; skipped');
          continue;
        }
        const due = buildDueRecord(decodeMessageRecord(raw, 0, { verifyCrc: false }), now, this.ctx.storeHost);
        if (!due.ok) {
          this.log.error({ level: i + 1, physicalOffset: u.physicalOffset, reason: due.reason }, 'parked message cannot be delivered; skipped');
          continue;
        }
        records.push(due.record);
        bytes += raw.length;
      }
      advanced[i] = off;
    }
    return { records, advanced, nextDueMs, full };
  }

  /** Proposes the levels whose offset moved past the replicated one (one control entry). */
  private async recordOffsets(gen: number): Promise<void> {
    const offsets: { level: number; offset: number }[] = [];
    for (let i = 0; i < this.next.length; i++) {
      const offset = this.next[i]!;
      if (offset !== (this.ctx.metadata.delayOffset(i + 1) ?? 0)) offsets.push({ level: i + 1, offset });
    }
    if (offsets.length === 0 || gen !== this.generation) return;
    await this.ctx.raft.proposeControl({ kind: 'delay-offsets', offsets });
  }
}

export const scheduleServiceFactory: BrokerServiceFactory = (ctx) => new ScheduleService(ctx);
