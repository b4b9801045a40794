// What the leader knows about half messages, as a fold over the op queue: per half message
// (by physical offset) whether it was decided (committed, rolled back, discarded) and how often
// and when it was last checked. Only ops are folded, and only the ready leader writes ops, so a
// new ready leader (whose log holds every committed entry, all dispatched) rebuilds exactly what
// the old one knew from the log alone.
//
// Progress, so that a restart does not re-read every op ever written: `halfProgress` is the half
// queue offset below which every half message is decided; `opProgress` the op queue offset below
// which every op concerns a half message below halfProgress. Both are stored as consumer offsets
// of the system group CID_RMQ_SYS_TRANS (replicated control entries); they only ever lag, which
// costs a longer re-read, never a wrong answer.

import { decodeMessageRecord, type MessageStore } from '../../store/index.js';
import { TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../topic-rules.js';
import { OpKind, parseOpBody } from './half-message.js';

/** The consumer group under which the check progress is stored. */
export const TRANSACTION_PROGRESS_GROUP = 'CID_RMQ_SYS_TRANS';
const OPS_PER_READ = 256;
const READ_BYTES = 4 * 1024 * 1024;

export interface HalfInfo {
  halfQueueOffset: number;
  /** 'c' committed, 'r' rolled back, 'x' discarded after too many checks; undefined while open. */
  decided: 'c' | 'r' | 'x' | undefined;
  checks: number;
  /** Store time of the last check op (0 if none). */
  lastCheckMs: number;
  /** Op queue offset of the first op about this half message (for opProgress). */
  firstOpOffset: number;
}

export class TransactionState {
  readonly halves = new Map<number, HalfInfo>();
  /** Next op queue offset to fold. */
  opNext: number;
  halfProgress: number;
  opProgress: number;

  constructor(private readonly store: MessageStore, halfProgress: number, opProgress: number) {
    this.halfProgress = Math.max(halfProgress, store.getMinOffsetInQueue(TRANS_HALF_TOPIC, 0));
    this.opProgress = Math.max(opProgress, store.getMinOffsetInQueue(TRANS_OP_HALF_TOPIC, 0));
    this.opNext = this.opProgress;
  }

  /** Folds every op dispatched since the last call. */
  fold(): void {
    const max = this.store.getMaxOffsetInQueue(TRANS_OP_HALF_TOPIC, 0);
    // Bounded: each read moves opNext forward by at least one until it reaches max.
    while (this.opNext < max) {
      const got = this.store.getMessage(TRANS_OP_HALF_TOPIC, 0, this.opNext, OPS_PER_READ, READ_BYTES);
      if (got.messages.length === 0) {
        // Retention removed the head (or nothing readable yet): skip to where the store says.
        if (got.nextBeginOffset <= this.opNext) return;
        this.opNext = got.nextBeginOffset;
        continue;
      }
      for (const bytes of got.messages) {
        const rec = decodeMessageRecord(bytes, 0, { verifyCrc: false });
        const op = parseOpBody(rec.body);
        if (op !== undefined && op.halfQueueOffset >= this.halfProgress) this.apply(op.kind, op.halfQueueOffset, op.halfPhysicalOffset, rec.storeTimestamp, rec.queueOffset);
      }
      this.opNext = got.nextBeginOffset;
    }
  }

  info(halfPhysicalOffset: number, halfQueueOffset: number): HalfInfo {
    let info = this.halves.get(halfPhysicalOffset);
    if (info === undefined) {
      info = { halfQueueOffset, decided: undefined, checks: 0, lastCheckMs: 0, firstOpOffset: Number.POSITIVE_INFINITY };
      this.halves.set(halfPhysicalOffset, info);
    }
    return info;
  }

  private apply(kind: OpKind, halfQueueOffset: number, halfPhysicalOffset: number, storeMs: number, opOffset: number): void {
    const info = this.info(halfPhysicalOffset, halfQueueOffset);
    info.firstOpOffset = Math.min(info.firstOpOffset, opOffset);
    if (kind === OpKind.CHECK) {
      info.checks++;
      info.lastCheckMs = Math.max(info.lastCheckMs, storeMs);
    } else if (info.decided === undefined) {
      // The first decision wins; the service never writes a second one (it folds before deciding).
      info.decided = kind;
    }
  }

  /**
   * Moves halfProgress past the decided half messages at its head (reading at most `maxScan`
   * units), drops what is below it, and recomputes opProgress. Returns true if either moved.
   */
  advance(maxScan: number): boolean {
    const before = [this.halfProgress, this.opProgress];
    const max = this.store.getMaxOffsetInQueue(TRANS_HALF_TOPIC, 0);
    let scanned = 0;
    while (this.halfProgress < max && scanned < maxScan) {
      const got = this.store.getMessage(TRANS_HALF_TOPIC, 0, this.halfProgress, OPS_PER_READ, READ_BYTES);
      if (got.messages.length === 0) {
        if (got.nextBeginOffset <= this.halfProgress) break;
        this.halfProgress = got.nextBeginOffset;
        continue;
      }
      let stop = false;
      for (const bytes of got.messages) {
        scanned++;
        const physical = physicalOffsetOf(bytes);
        if (this.halves.get(physical)?.decided === undefined) {
          stop = true;
          break;
        }
        this.halfProgress++;
      }
      if (stop) break;
    }
    let opProgress = this.opNext;
    for (const [physical, info] of this.halves) {
      if (info.halfQueueOffset < this.halfProgress) this.halves.delete(physical);
      else opProgress = Math.min(opProgress, info.firstOpOffset);
    }
    this.opProgress = Math.max(this.opProgress, opProgress);
    return before[0] !== this.halfProgress || before[1] !== this.opProgress;
  }
}

/** The physical offset patched into a record read from the store. */
export function physicalOffsetOf(record: Buffer): number {
  return decodeMessageRecord(record, 0, { verifyCrc: false }).physicalOffset;
}
