// One cycle's scan of the schedule queues: which parked messages are due now, as records for
// their real topics, within the cycle's caps. Two rules keep the scan fair and bounded:
// - the scan starts at the level after the one that filled the previous cycle (round robin), so a
//   backlog at one level (a retry storm at level 3, say) cannot starve the levels after it;
// - a message is added only if the batch stays within the byte cap (the first one of a cycle goes
//   even if larger, alone), so a cycle's entry never grows past the cap.
// Queues of levels the current `messageDelayLevel` does not define (the setting shrank after they
// were parked) are scanned too: their messages are due at once and counted, so the caller can say
// so loudly instead of leaving them parked forever.

import type { Logger } from '../../common/logger.js';
import { decodeMessageRecord, messageRecordSize, type ConsumeQueueUnit, type MessageRecord, type MessageStore } from '../../store/index.js';
import { SCHEDULE_TOPIC } from '../topic-rules.js';
import { MAX_DELAY_LEVELS } from './delay-levels.js';
import { buildDueRecord } from './due-record.js';

export interface DueScanInput {
  store: MessageStore;
  levelsMs: readonly number[];
  /** Next schedule-queue offset per level (1-based); absent levels start at the queue's head. */
  offsets: ReadonlyMap<number, number>;
  /** 0-based level index the scan starts at. */
  startIndex: number;
  maxMessages: number;
  /** Bytes of due records (as stored) per cycle. */
  maxBytes: number;
  /** Units examined per cycle, skipped ones included. */
  maxScanned: number;
  nowMs: number;
  storeHost: { host: string; port: number };
  log: Logger;
}

export interface DueScan {
  records: MessageRecord[];
  bytes: number;
  /** Offsets after this cycle, every scanned level included. */
  offsets: Map<number, number>;
  /** Earliest due time of a message not due yet (Infinity if none). */
  nextDueMs: number;
  /** A cap was hit: more may be due now. */
  full: boolean;
  /** Where the next cycle's scan starts. */
  nextStartIndex: number;
  /** Level (1-based) → messages delivered at once because the level is not configured. */
  undefinedLevels: Map<number, number>;
}

export function scanDue(i: DueScanInput): DueScan {
  const { store, levelsMs, nowMs } = i;
  const records: MessageRecord[] = [];
  const offsets = new Map(i.offsets);
  const undefinedLevels = new Map<number, number>();
  const unit: ConsumeQueueUnit = { physicalOffset: 0, size: 0, tagHash: 0 };
  let bytes = 0;
  let scanned = 0;
  let nextDueMs = Number.POSITIVE_INFINITY;
  let full = false;
  let nextStartIndex = i.startIndex;
  // Bounded: every level once, each by its queue length and the cycle's caps.
  for (let k = 0; k < MAX_DELAY_LEVELS && !full; k++) {
    const index = (i.startIndex + k) % MAX_DELAY_LEVELS;
    const level = index + 1;
    const cq = store.queues.find(SCHEDULE_TOPIC, index);
    if (!cq) continue;
    const delayMs = index < levelsMs.length ? levelsMs[index]! : 0;
    let off = Math.max(offsets.get(level) ?? 0, cq.minOffset);
    while (off < cq.maxOffset) {
      if (records.length >= i.maxMessages || scanned >= i.maxScanned) {
        full = true;
        break;
      }
      if (!cq.read(off, unit)) break;
      scanned++;
      let storedAtMs: number;
      try {
        storedAtMs = store.storeTimestampAt(unit.physicalOffset);
      } catch {
        off++; // retention removed it: nothing left to deliver
        continue;
      }
      const dueAtMs = storedAtMs + delayMs;
      if (dueAtMs > nowMs) {
        // A level's queue is in store-time order, so nothing after this one is due either.
        nextDueMs = Math.min(nextDueMs, dueAtMs);
        break;
      }
      const raw = store.lookMessageByOffset(unit.physicalOffset);
      if (!raw) {
        off++;
        i.log.warn({ delayLevel: level, physicalOffset: unit.physicalOffset }, 'parked message is no longer readable; skipped');
        continue;
      }
      const due = buildDueRecord(decodeMessageRecord(raw, 0, { verifyCrc: false }), nowMs, i.storeHost);
      if (!due.ok) {
        off++;
        i.log.error({ delayLevel: level, physicalOffset: unit.physicalOffset, reason: due.reason }, 'parked message cannot be delivered; skipped');
        continue;
      }
      let size: number;
      try {
        size = messageRecordSize(due.record);
      } catch (err) {
        off++; // it could never be appended: skipping it keeps the level moving
        i.log.error({ err, delayLevel: level, physicalOffset: unit.physicalOffset }, 'parked message cannot be delivered as a record; skipped');
        continue;
      }
      if (records.length > 0 && bytes + size > i.maxBytes) {
        full = true; // this message opens the next cycle
        break;
      }
      off++;
      records.push(due.record);
      bytes += size;
      if (index >= levelsMs.length) undefinedLevels.set(level, (undefinedLevels.get(level) ?? 0) + 1);
    }
    if (off !== (offsets.get(level) ?? 0)) offsets.set(level, off);
    if (full) nextStartIndex = (index + 1) % MAX_DELAY_LEVELS;
  }
  return { records, bytes, offsets, nextDueMs, full, nextStartIndex, undefinedLevels };
}
