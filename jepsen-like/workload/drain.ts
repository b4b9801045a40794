// The final read after healing: a fresh PullConsumer reads every queue of the topic from offset 0
// to its end, each pull recorded as an `f:'drain'` operation of process `drain`. Pull errors are
// retried (the cluster was just healed and may still be settling) until the deadline; a queue
// that could not be read to its end is reported, because every value in it would look lost.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { PullConsumer, type MessageQueue } from '../../src/client/index.js';
import type { HistoryRecorder } from '../history/recorder.js';
import { queueKeyOf as keyOf } from '../history/types.js';
import { readItems } from './queue-consumers.js';
import { errorSummary } from './send-outcome.js';

export interface DrainSettings {
  namesrvAddr: string;
  topic: string;
  pullBatch: number;
  requestTimeoutMs: number;
  deadlineMs: number;
  /** Ends the drain early (the run hit its hard deadline). */
  signal?: AbortSignal;
  logger: Logger;
  /**
   * The history's key of a queue the client names (default `<topic>/<queueId>`); runs over several
   * groups or through front doors name the group's queue (`broker-b:jepsen/3`).
   */
  queueKeyOf?: (mq: { topic: string; brokerName: string; queueId: number }) => string;
}

export interface DrainSummary {
  queues: number;
  messages: number;
  pulls: number;
  errors: number;
  /** Queues not read to their end before the deadline. */
  incomplete: string[];
}

const PROCESS = 'drain';
const MAX_PULLS_PER_QUEUE = 1_000_000;

export async function drainQueues(s: DrainSettings, history: HistoryRecorder): Promise<DrainSummary> {
  const consumer = new PullConsumer({
    namesrvAddr: s.namesrvAddr,
    consumerGroup: 'jepsen-drain',
    instanceName: 'jepsen-drain',
    requestTimeoutMs: s.requestTimeoutMs,
    routeRefreshIntervalMs: 1000,
    logger: s.logger.child({ component: 'drain' }),
  });
  await consumer.start();
  const summary: DrainSummary = { queues: 0, messages: 0, pulls: 0, errors: 0, incomplete: [] };
  try {
    let queues: MessageQueue[] | undefined;
    while (queues === undefined && Date.now() < s.deadlineMs && !s.signal?.aborted) {
      try {
        queues = (await consumer.fetchQueues(s.topic)).filter((q) => q.topic === s.topic);
      } catch {
        summary.errors++;
        await sleep(200);
      }
    }
    if (queues === undefined) {
      summary.incomplete.push(`${s.topic}/*`);
      return summary;
    }
    summary.queues = queues.length;
    for (const mq of queues) {
      if (!(await drainOne(consumer, mq, s, history, summary))) summary.incomplete.push(keyOf(s, mq));
    }
    return summary;
  } finally {
    await consumer.shutdown().catch(() => undefined);
  }
}

async function drainOne(consumer: PullConsumer, mq: MessageQueue, s: DrainSettings, history: HistoryRecorder, summary: DrainSummary): Promise<boolean> {
  const key = keyOf(s, mq);
  let next = 0;
  let end: number | undefined;
  let errors = 0;
  for (let pulls = 0; pulls < MAX_PULLS_PER_QUEUE && Date.now() < s.deadlineMs && !s.signal?.aborted; pulls++) {
    try {
      end ??= await consumer.maxOffset(mq);
    } catch {
      errors++;
      summary.errors++;
      await sleep(Math.min(1000, 50 * 2 ** Math.min(errors, 5)));
      continue;
    }
    if (next >= end) return true;
    history.invokeRead(PROCESS, 'drain');
    summary.pulls++;
    try {
      const r = await consumer.pull(mq, next, s.pullBatch, { suspendTimeoutMs: 0, timeoutMs: s.requestTimeoutMs });
      const items = r.status === 'FOUND' ? readItems(key, r) : [];
      history.completeRead(PROCESS, 'drain', 'ok', items);
      summary.messages += items.length;
      if (items.length > 0) next = items[items.length - 1]!.offset + 1;
      else if (r.nextBeginOffset > next) next = r.nextBeginOffset;
      else if (r.status !== 'FOUND') {
        // Nothing at an offset below the end: a follower still dispatching, or a hole; wait.
        await sleep(100);
      }
      errors = 0;
    } catch (err) {
      history.completeRead(PROCESS, 'drain', 'fail', null, { error: errorSummary(err) });
      errors++;
      summary.errors++;
      await sleep(Math.min(1000, 50 * 2 ** Math.min(errors, 5)));
    }
  }
  return false;
}
