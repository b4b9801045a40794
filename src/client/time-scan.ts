// Reading a topic by time, for tools (mqadmin's printMsg, the dashboard's lookup by time): in
// every readable queue, from the first message stored at or after `beginMs`
// (SEARCH_OFFSET_BY_TIMESTAMP) up to the first stored at or after `endMs` (or the queue's end),
// pulled with explicit offsets (nothing is committed), at most `max` messages in all.
import type { MessageExt, MessageQueue } from './message.js';
import type { PullConsumer } from './pull-consumer.js';

export interface TimeScanOptions {
  beginMs?: number;
  endMs?: number;
  /** Messages returned at most over all queues (the scan stops there). */
  max: number;
  /** Messages returned at most from one queue (default: no bound but `max`). */
  maxPerQueue?: number;
  /** Tag expression ('*' or 'A || B'). */
  tagExpression?: string;
  /** Messages per pull. */
  pullBatch?: number;
}

export interface QueueScan {
  mq: MessageQueue;
  fromOffset: number;
  toOffset: number;
  messages: MessageExt[];
}

/** Queue by queue, in the order of consumer.fetchQueues (broker name, queue id). */
export async function scanByTime(consumer: PullConsumer, topic: string, o: TimeScanOptions): Promise<QueueScan[]> {
  const out: QueueScan[] = [];
  let left = o.max;
  for (const mq of await consumer.fetchQueues(topic)) {
    const fromOffset = o.beginMs !== undefined ? await consumer.searchOffset(mq, o.beginMs) : await consumer.minOffset(mq);
    const toOffset = o.endMs !== undefined ? await consumer.searchOffset(mq, o.endMs) : await consumer.maxOffset(mq);
    const scan: QueueScan = { mq, fromOffset, toOffset, messages: [] };
    out.push(scan);
    let offset = fromOffset;
    let queueLeft = o.maxPerQueue ?? Number.MAX_SAFE_INTEGER;
    while (left > 0 && queueLeft > 0 && offset < toOffset) {
      const r = await consumer.pull(mq, offset, Math.min(o.pullBatch ?? 32, left, queueLeft, toOffset - offset), o.tagExpression !== undefined ? { tagExpression: o.tagExpression } : {});
      for (const m of r.messages) {
        if (m.queueOffset >= toOffset || left === 0 || queueLeft === 0) break;
        scan.messages.push(m);
        left--;
        queueLeft--;
      }
      if (r.status !== 'FOUND' && r.status !== 'NO_MATCHED_MSG') break;
      if (r.nextBeginOffset <= offset) break;
      offset = r.nextBeginOffset;
    }
  }
  return out;
}
