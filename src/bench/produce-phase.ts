// The publish half of a run: n payloads sent through the SDK Producer, one at a time (`sync`) or
// with `inFlight` requests outstanding (`pipelined`), optionally `batch` messages per request.
// It records each request's latency and where each acknowledged message landed (queue id and
// queue offset), which the read-back checks message by message.
import { performance } from 'node:perf_hooks';
import type { Message, Producer, SendResult } from '../client/index.js';
import { assert } from '../common/assert.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import type { PayloadFactory } from './payload.js';
import { Placement } from './placement.js';

export type SendMode = 'sync' | 'pipelined';

/** What the phase sends with: the SDK Producer, or the v5 client's adapter (grpc-sender.ts). */
export type MessageSender = Pick<Producer, 'send' | 'sendBatch'>;

export interface ProducePlan {
  topic: string;
  n: number;
  mode: SendMode;
  /** Requests outstanding at once in pipelined mode (1 in sync mode). */
  inFlight: number;
  /** Messages per request (1 = single sends). */
  batch: number;
  /** The phase stops starting new sends after this long; `acked` then tells how far it got. */
  maxMs: number;
  payload: PayloadFactory;
  /** Called as messages are acknowledged (for the progress bar). */
  onAcked?: (count: number) => void;
}

export interface ProduceOutcome {
  /** Messages acknowledged (SEND_OK or another stored status). */
  acked: number;
  /** Messages whose send failed; their outcome may be unknown (they may still be stored). */
  failed: number;
  firstError: string | undefined;
  elapsedS: number;
  latency: LatencySummary;
  placement: Placement;
}

/** Checked every this many sends, so the clock is not read per message. */
const DEADLINE_CHECK_EVERY = 64;
/** A cluster that refuses this many sends is down: stop instead of timing out n times. */
const MAX_FAILED_REQUESTS = 100;

export async function runProduce(producer: MessageSender, plan: ProducePlan): Promise<ProduceOutcome> {
  assert(Number.isInteger(plan.n) && plan.n > 0, `n must be a positive integer, got ${plan.n}`);
  assert(Number.isInteger(plan.batch) && plan.batch >= 1, `batch must be >= 1, got ${plan.batch}`);
  const inFlight = plan.mode === 'sync' ? 1 : plan.inFlight;
  assert(Number.isInteger(inFlight) && inFlight >= 1, `in-flight count must be >= 1, got ${inFlight}`);
  const requests = Math.ceil(plan.n / plan.batch);
  const latency = new LatencyRecorder(requests);
  const placement = new Placement(plan.n);
  let next = 0;
  let acked = 0;
  let failed = 0;
  let failedRequests = 0;
  let firstError: string | undefined;
  let stop = false;
  const t0 = performance.now();
  const deadline = t0 + plan.maxMs;

  const place = (first: number, count: number, r: SendResult): void => {
    for (let k = 0; k < count; k++) placement.place(first + k, r, r.queueOffset + k);
  };

  // Each worker keeps one request outstanding; `inFlight` workers share the sequence counter.
  // The loop ends because `next` only grows and is bounded by n.
  const worker = async (): Promise<void> => {
    while (!stop && next < plan.n) {
      const first = next;
      const count = Math.min(plan.batch, plan.n - first);
      next += count;
      if ((first / plan.batch) % DEADLINE_CHECK_EVERY === 0 && performance.now() > deadline) {
        stop = true;
        return;
      }
      const s = performance.now();
      try {
        const r = count === 1 && plan.batch === 1 ? await producer.send(messageOf(plan, first)) : await producer.sendBatch(batchOf(plan, first, count));
        latency.record(performance.now() - s);
        place(first, count, r);
        acked += count;
        plan.onAcked?.(acked);
      } catch (err) {
        failed += count;
        firstError ??= (err as Error).message;
        if (++failedRequests >= MAX_FAILED_REQUESTS) stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, requests) }, worker));
  return { acked, failed, firstError, elapsedS: (performance.now() - t0) / 1000, latency: latency.summary(), placement };
}

function messageOf(plan: ProducePlan, seq: number): Message {
  return { topic: plan.topic, body: plan.payload.make(seq) };
}

function batchOf(plan: ProducePlan, first: number, count: number): Message[] {
  const out: Message[] = new Array<Message>(count);
  for (let k = 0; k < count; k++) out[k] = messageOf(plan, first + k);
  return out;
}
