// Per assigned queue: the messages pulled but not yet finished, in offset order. It answers the
// two questions the consumer asks all the time: may I pull more (flow control by count and
// bytes) and which offset may be committed (the lowest unfinished one, never past a message still
// being processed, or the next offset to pull when nothing is in flight).
import type { MessageExt, MessageQueue } from './message.js';

export class ProcessQueue {
  /** Set when rebalance gave the queue away: stop pulling and stop recording offsets. */
  dropped = false;
  /** The next offset to pull. */
  nextOffset: number;
  /** Orderly mode: the broker's lock on this queue is held by this client (lock-keeper.ts). */
  locked = false;
  /** Orderly mode: when the request that last granted or renewed the lock was sent (ms since the epoch). */
  lastLockMs = 0;
  /** Orderly mode: a handler is running on one of this queue's messages. */
  consuming = false;
  /** Pull from this brokerId next (the broker's suggestion). */
  suggestBrokerId = 0;
  /** The last offset this queue recorded in the offset store (-1: none yet). */
  recordedOffset = -1;
  private readonly inflight = new Map<number, MessageExt>();
  private bytes = 0;
  /** The end of the pulled range: what may be committed once nothing is in flight. */
  private pulledUpTo: number;

  constructor(
    readonly mq: MessageQueue,
    startOffset: number,
  ) {
    this.nextOffset = startOffset;
    this.pulledUpTo = startOffset;
  }

  get msgCount(): number {
    return this.inflight.size;
  }

  get msgBytes(): number {
    return this.bytes;
  }

  /** Records a pull: its messages (increasing offsets) and the next offset to pull. */
  putMessages(msgs: readonly MessageExt[], nextBeginOffset: number): void {
    for (const m of msgs) {
      if (this.inflight.has(m.queueOffset)) continue;
      this.inflight.set(m.queueOffset, m);
      this.bytes += m.body.length;
    }
    if (nextBeginOffset > this.pulledUpTo) this.pulledUpTo = nextBeginOffset;
    this.nextOffset = nextBeginOffset;
  }

  /** The pulled range jumped (OFFSET_ILLEGAL): nothing before `offset` will be delivered. */
  resetTo(offset: number): void {
    this.nextOffset = offset;
    if (this.inflight.size === 0) this.pulledUpTo = offset;
  }

  /** Marks a message finished; returns the offset that may now be committed. */
  removeMessage(msg: MessageExt): number {
    if (this.inflight.delete(msg.queueOffset)) this.bytes -= msg.body.length;
    return this.commitOffset();
  }

  /** The lowest unfinished offset, or the end of the pulled range when nothing is in flight. */
  commitOffset(): number {
    for (const offset of this.inflight.keys()) return offset;
    return this.pulledUpTo;
  }
}
