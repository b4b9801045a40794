// The schedule service's progress record: one small message record in RMQ_SYS_SCHEDULE_PROGRESS
// queue 0, appended in the SAME payload (hence the same Raft entry) as the messages a cycle
// delivers. It holds the delay offsets per level after that cycle, the cycle's identity and the
// delay levels the delivering leader used. Because a payload commits or fails whole, the delivered
// messages and the offsets past them can never be separated by a failover or a timeout: the latest
// progress record in the log is exactly where delivery stands (exactly once). The `delay-offsets`
// control entry that follows each cycle only keeps the metadata tables (status, snapshots) current.

import type { ConsumeQueueUnit, MessageRecord, MessageStore } from '../../store/index.js';
import { decodeMessageRecord } from '../../store/index.js';
import { SCHEDULE_PROGRESS_TOPIC } from '../topic-rules.js';

export interface ScheduleProgress {
  /** Which cycle wrote it: "<nodeId>/<term>/<sequence>", unique per leader term. */
  cycle: string;
  /** The delay levels (ms per level) of the leader that delivered. */
  levelsMs: number[];
  /** [level, next schedule-queue offset to deliver] for every level scanned so far. */
  offsets: [number, number][];
}

/** Upper bound of a progress record's size (64 levels with 16-digit offsets and levels fit easily). */
export const PROGRESS_RECORD_MAX_BYTES = 4096;

export function buildProgressRecord(p: ScheduleProgress, nowMs: number, storeHost: { host: string; port: number }): MessageRecord {
  return {
    topic: SCHEDULE_PROGRESS_TOPIC,
    queueId: 0,
    flag: 0,
    queueOffset: 0,
    physicalOffset: -1,
    sysFlag: 0,
    bornTimestamp: nowMs,
    bornHost: storeHost.host,
    bornPort: storeHost.port,
    storeTimestamp: nowMs,
    storeHost: storeHost.host,
    storePort: storeHost.port,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: Buffer.from(JSON.stringify({ v: 1, ...p })),
    properties: '',
  };
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The progress a record body holds, or undefined when it is not one this version wrote. */
export function parseProgress(body: Uint8Array): ScheduleProgress | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o['v'] !== 1 || typeof o['cycle'] !== 'string') return undefined;
  const levelsMs = o['levelsMs'];
  const offsets = o['offsets'];
  if (!Array.isArray(levelsMs) || !levelsMs.every(isCount)) return undefined;
  if (!Array.isArray(offsets) || !offsets.every((x) => Array.isArray(x) && x.length === 2 && isCount(x[0]) && isCount(x[1]))) return undefined;
  return { cycle: o['cycle'], levelsMs: levelsMs as number[], offsets: offsets as [number, number][] };
}

export type LatestProgress = { found: true; progress: ScheduleProgress } | { found: false; reason: 'none' | 'unreadable' };

/** The newest progress record dispatched on this node. */
export function readLatestProgress(store: MessageStore): LatestProgress {
  const cq = store.queues.find(SCHEDULE_PROGRESS_TOPIC, 0);
  if (!cq || cq.maxOffset <= cq.minOffset) return { found: false, reason: 'none' };
  const unit: ConsumeQueueUnit = { physicalOffset: 0, size: 0, tagHash: 0 };
  if (!cq.read(cq.maxOffset - 1, unit)) return { found: false, reason: 'unreadable' };
  const raw = store.lookMessageByOffset(unit.physicalOffset);
  if (!raw) return { found: false, reason: 'unreadable' };
  let progress: ScheduleProgress | undefined;
  try {
    progress = parseProgress(decodeMessageRecord(raw, 0, { verifyCrc: false }).body);
  } catch {
    progress = undefined;
  }
  return progress ? { found: true, progress } : { found: false, reason: 'unreadable' };
}
