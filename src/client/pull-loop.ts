// One long-poll pull loop per owned queue: flow control (pause while the queue's in-flight count
// or bytes are over their thresholds), PULL_MESSAGE with SUSPEND, the handling of 0/19/20/21, and
// back-off with a route refresh after errors, so a queue follows its group's leader through a
// failover. It ends when the queue is given away or the consumer stops.
import { performance } from 'node:perf_hooks';
import { ResponseCode, type SubscriptionData } from '../protocol/index.js';
import { ClientDefaults, MessageModel, MessageProperty, RETRY_GROUP_TOPIC_PREFIX } from './client-constants.js';
import { BrokerResponseError, BrokerUnreachableError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { pullMessage } from './broker-api.js';
import type { MessageExt } from './message.js';
import type { ProcessQueue } from './process-queue.js';
import { sleep } from './sleep.js';
import { matchesSubscription } from './subscription.js';

export interface PullLoopSettings {
  consumerGroup: string;
  messageModel: MessageModel;
  pullBatchSize: number;
  pullThresholdForQueue: number;
  pullThresholdSizeForQueueBytes: number;
  brokerSuspendMaxTimeMs: number;
  pullTimeoutWhenSuspendMs: number;
}

export interface PullLoopHost {
  readonly instance: ClientInstance;
  readonly settings: PullLoopSettings;
  isRunning(): boolean;
  subscription(topic: string): SubscriptionData | undefined;
  /** Hands matched messages to the consume service. */
  submit(pq: ProcessQueue, msgs: MessageExt[]): void;
  /** Records the queue's commit offset in the offset store (increase only unless `reset`). */
  recordOffset(pq: ProcessQueue, offset: number, reset?: boolean): void;
}

const ERROR_BACKOFF_MIN_MS = 100;

export async function runPullLoop(host: PullLoopHost, pq: ProcessQueue): Promise<void> {
  const { instance, settings: s } = host;
  let errorDelayMs = ERROR_BACKOFF_MIN_MS;
  const backOff = async (): Promise<void> => {
    await sleep(errorDelayMs);
    errorDelayMs = Math.min(errorDelayMs * 2, ClientDefaults.pullDelayWhenErrorMs);
  };
  // Runs until the queue is given away or the consumer stops; every round pulls once or waits.
  while (!pq.dropped && host.isRunning()) {
    if (pq.msgCount >= s.pullThresholdForQueue || pq.msgBytes >= s.pullThresholdSizeForQueueBytes) {
      await sleep(ClientDefaults.pullDelayWhenFlowControlMs);
      continue;
    }
    const sub = host.subscription(pq.mq.topic);
    if (sub === undefined) return;
    const addr = instance.routes.addrFor(pq.mq.brokerName, pq.suggestBrokerId);
    if (addr === undefined) {
      await instance.routes.refresh(pq.mq.topic).catch(() => undefined);
      await backOff();
      continue;
    }
    const commitOffset = s.messageModel === MessageModel.CLUSTERING && pq.recordedOffset > 0 ? pq.recordedOffset : undefined;
    const t0 = performance.now();
    let result;
    try {
      result = await pullMessage(instance, addr, {
        consumerGroup: s.consumerGroup,
        mq: pq.mq,
        queueOffset: pq.nextOffset,
        maxMsgNums: s.pullBatchSize,
        commitOffset,
        suspendTimeoutMs: s.brokerSuspendMaxTimeMs,
        subscription: sub.subString,
        subVersion: sub.subVersion,
        expressionType: sub.expressionType,
        timeoutMs: s.pullTimeoutWhenSuspendMs,
      });
    } catch (err) {
      if (pq.dropped || !host.isRunning()) return;
      // A refused subscription (23: SQL92 off on the broker, or a bad expression) needs a person.
      if (err instanceof BrokerResponseError && err.brokerCode === ResponseCode.SUBSCRIPTION_PARSE_FAILED) instance.log.error({ err, addr, queue: pq.mq }, 'the broker refuses this subscription; pulls of the queue retry with back-off');
      else instance.log.debug({ err, addr, queue: pq.mq }, 'pull failed');
      if (err instanceof BrokerUnreachableError || err instanceof BrokerResponseError) {
        // The address may be a deposed leader: follow the NameServer's current view.
        pq.suggestBrokerId = 0;
        await instance.routes.refresh(pq.mq.topic).catch(() => undefined);
      }
      await backOff();
      continue;
    }
    errorDelayMs = ERROR_BACKOFF_MIN_MS;
    if (pq.dropped || !host.isRunning()) return;
    pq.suggestBrokerId = result.suggestWhichBrokerId;
    switch (result.status) {
      case 'FOUND': {
        const matched: MessageExt[] = [];
        for (const m of result.messages) {
          if (m.queueOffset < pq.nextOffset || !matchesSubscription(sub, m.tags)) continue;
          restoreRetryTopic(m);
          m.properties[MessageProperty.MIN_OFFSET] = String(result.minOffset);
          m.properties[MessageProperty.MAX_OFFSET] = String(result.maxOffset);
          matched.push(m);
        }
        pq.putMessages(matched, result.nextBeginOffset);
        if (matched.length > 0) host.submit(pq, matched);
        else host.recordOffset(pq, pq.commitOffset());
        break;
      }
      case 'NO_NEW_MSG':
      case 'NO_MATCHED_MSG':
        pq.putMessages([], result.nextBeginOffset);
        host.recordOffset(pq, pq.commitOffset());
        // A broker that answers at once (no long poll) must not turn this loop into a spin.
        if (result.status === 'NO_NEW_MSG' && performance.now() - t0 < 5) await sleep(ClientDefaults.pullDelayWhenFlowControlMs);
        break;
      case 'OFFSET_ILLEGAL':
        instance.log.warn({ queue: pq.mq, from: pq.nextOffset, to: result.nextBeginOffset }, 'pull offset illegal; jumping to the offset the broker gave');
        pq.resetTo(result.nextBeginOffset);
        if (pq.msgCount === 0) host.recordOffset(pq, result.nextBeginOffset, true);
        break;
    }
  }
}

/** A message from %RETRY%group shows its original topic again (RETRY_TOPIC property). */
function restoreRetryTopic(m: MessageExt): void {
  const original = m.properties[MessageProperty.RETRY_TOPIC];
  if (original !== undefined && m.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) m.topic = original;
}
