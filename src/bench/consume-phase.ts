// The read-back half of a run: every queue of the topic is pulled from its first offset to its
// end, all queues at once, and every message is checked: its body byte for byte, that its
// sequence number was seen once, that it sits at the queue and offset its send was acknowledged
// with, and that sequence numbers grow within each queue (the producer's order).
import { performance } from 'node:perf_hooks';
import type { MessageQueue, PullConsumer } from '../client/index.js';
import { assert } from '../common/assert.js';
import type { PayloadFactory } from './payload.js';
import type { Placement } from './placement.js';

export interface ConsumePlan {
  topic: string;
  /** Sequence numbers range over [0, capacity); bodies outside it count as unexpected. */
  capacity: number;
  /** Where each acknowledged message went, when this run produced them (e2e). */
  placement: Placement | undefined;
  /** Messages per pull request. */
  pullBatch: number;
  maxMs: number;
  payload: PayloadFactory;
  onConsumed?: (count: number) => void;
}

export interface ConsumeOutcome {
  consumed: number;
  elapsedS: number;
  /** Messages whose body failed the byte check. */
  corrupt: number;
  duplicated: number;
  /** Acknowledged messages found at another queue or offset than their send result said. */
  misplaced: number;
  /** Sequence numbers outside [0, capacity). */
  unexpected: number;
  /** Messages whose send failed but that were stored anyway (allowed: the outcome was unknown). */
  unackedSeen: number;
  /** Acknowledged messages never read. */
  missing: number;
  outOfOrder: number;
  /** The first few order violations as "queue:offset seq after seq", to tell a swap from a jump. */
  disorderSamples: string[];
  queues: number;
}

const MAX_DISORDER_SAMPLES = 5;

/** Pause before asking again when a queue has not reached its end yet (dispatch lag). */
const EMPTY_PULL_PAUSE_MS = 5;

export async function runConsume(consumer: PullConsumer, plan: ConsumePlan): Promise<ConsumeOutcome> {
  assert(Number.isInteger(plan.capacity) && plan.capacity >= 0, `capacity must be a non-negative integer, got ${plan.capacity}`);
  const queues = await consumer.fetchQueues(plan.topic);
  const seen = new Uint8Array(plan.capacity);
  const out: ConsumeOutcome = { consumed: 0, elapsedS: 0, corrupt: 0, duplicated: 0, misplaced: 0, unexpected: 0, unackedSeen: 0, missing: 0, outOfOrder: 0, disorderSamples: [], queues: queues.length };
  const ranges = await Promise.all(queues.map(async (mq) => ({ mq, from: await consumer.minOffset(mq), to: await endOffset(consumer, mq, plan.placement) })));
  const t0 = performance.now();
  const deadline = t0 + plan.maxMs;

  const check = (mq: MessageQueue, body: Buffer, queueOffset: number, last: number): number => {
    const seq = plan.payload.check(body, 0, body.length);
    if (seq < 0) {
      out.corrupt++;
      return last;
    }
    if (seq >= plan.capacity) {
      out.unexpected++;
      return last;
    }
    if (seen[seq] === 1) out.duplicated++;
    seen[seq] = 1;
    const p = plan.placement;
    if (p !== undefined) {
      if (!p.isPlaced(seq)) out.unackedSeen++;
      else if (!p.matches(seq, mq, queueOffset)) out.misplaced++;
    }
    if (seq <= last) {
      out.outOfOrder++;
      if (out.disorderSamples.length < MAX_DISORDER_SAMPLES) out.disorderSamples.push(`${mq.queueId}:${queueOffset} seq ${seq} after ${last}`);
    }
    return seq;
  };

  // One pull outstanding per queue, all queues at once. Each round advances `offset` or waits a
  // little; the deadline bounds the loop.
  const readQueue = async (mq: MessageQueue, from: number, to: number): Promise<void> => {
    let offset = from;
    let last = -1;
    while (offset < to && performance.now() < deadline) {
      const r = await consumer.pull(mq, offset, Math.min(plan.pullBatch, to - offset));
      if (r.status === 'FOUND') {
        for (const m of r.messages) last = check(mq, m.body, m.queueOffset, last);
        out.consumed += r.messages.length;
        plan.onConsumed?.(out.consumed);
      } else if (r.status !== 'OFFSET_ILLEGAL') {
        await new Promise((res) => setTimeout(res, EMPTY_PULL_PAUSE_MS));
      }
      offset = Math.max(offset, r.nextBeginOffset);
    }
  };
  await Promise.all(ranges.map((r) => readQueue(r.mq, r.from, r.to)));
  out.elapsedS = (performance.now() - t0) / 1000;
  if (plan.placement !== undefined) {
    for (let s = 0; s < plan.placement.capacity; s++) if (plan.placement.isPlaced(s) && seen[s] !== 1) out.missing++;
  } else {
    for (let s = 0; s < plan.capacity; s++) if (seen[s] !== 1) out.missing++;
  }
  return out;
}

/** One past the last offset to read: from the send results when known, else the broker's max offset. */
async function endOffset(consumer: PullConsumer, mq: MessageQueue, placement: Placement | undefined): Promise<number> {
  if (placement === undefined) return consumer.maxOffset(mq);
  const end = placement.endOffsetOf(mq);
  // Messages whose send failed may still be stored past the last acknowledged one: read them too.
  return Math.max(end, await consumer.maxOffset(mq));
}

/** True when the read-back found exactly what was acknowledged, intact. */
export function isVerified(c: ConsumeOutcome): boolean {
  return c.corrupt === 0 && c.duplicated === 0 && c.misplaced === 0 && c.unexpected === 0 && c.missing === 0;
}
