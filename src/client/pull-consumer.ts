// The PullConsumer: the caller owns offsets. It lists a topic's queues, pulls from an explicit
// offset (no long poll unless asked), reads min/max offsets, and commits or queries the group's
// offset on the broker. Nothing runs in the background. A queue's pulls go where the last answer
// suggested (suggestWhichBrokerId: a follower for a consumer far behind), as the push consumer's do.
import { withReplicaFallback } from './replica-fallback.js';
import { ClientStateError, NoQueueError } from './client-errors.js';
import { ClientInstance, type ClientOptions } from './client-instance.js';
import {
  getMaxOffset,
  getMinOffset,
  pullMessage,
  queryConsumerOffset,
  searchOffset,
  unregisterClient,
  updateConsumerOffset,
  type PullResult,
} from './broker-api.js';
import { MessageProperty, RETRY_GROUP_TOPIC_PREFIX } from './client-constants.js';
import type { MessageQueue } from './message.js';
import { buildSelectorSubscription, matchesSubscription, SUB_ALL, type SubscriptionSelector } from './subscription.js';
import { checkGroup, checkTopic } from './validation.js';

export interface PullConsumerOptions extends ClientOptions {
  consumerGroup: string;
}

export interface PullOptions {
  /** '*' or 'A || B'. */
  tagExpression?: string;
  /** Overrides tagExpression; `{ type: 'SQL92', expression }` filters on the broker by properties. */
  selector?: SubscriptionSelector;
  /** Hold the pull on the broker up to this long when nothing is there (0 = answer at once). */
  suspendTimeoutMs?: number;
  timeoutMs?: number;
}

export class PullConsumer {
  readonly consumerGroup: string;
  private instance: ClientInstance | undefined;
  /** brokerId the last pull answer of each queue suggested ("brokerName\0topic\0queueId" → id). */
  private readonly pullFrom = new Map<string, number>();

  constructor(private readonly options: PullConsumerOptions) {
    checkGroup(options.consumerGroup);
    this.consumerGroup = options.consumerGroup;
  }

  async start(): Promise<void> {
    if (this.instance !== undefined) throw new ClientStateError('the pull consumer was already started');
    this.instance = new ClientInstance(this.options, 'pull-consumer');
  }

  /** Readable queues of a topic, sorted by broker name and queue id. */
  async fetchQueues(topic: string): Promise<MessageQueue[]> {
    checkTopic(topic);
    const info = await this.running().routes.refresh(topic);
    return [...info.readQueues];
  }

  async pull(mq: MessageQueue, offset: number, maxNums = 32, options: PullOptions = {}): Promise<PullResult> {
    const instance = this.running();
    const sub = buildSelectorSubscription(mq.topic, options.selector ?? options.tagExpression, Date.now());
    const suspendTimeoutMs = options.suspendTimeoutMs ?? 0;
    const key = `${mq.brokerName}\u0000${mq.topic}\u0000${mq.queueId}`;
    const suggested = this.pullFrom.get(key);
    const preferred = (suggested !== undefined ? instance.routes.addrFor(mq.brokerName, suggested) : undefined) ?? (await this.addrOf(mq));
    let result: PullResult;
    try {
      result = await withReplicaFallback(instance.routes, mq.brokerName, preferred, (addr) => pullMessage(instance, addr, {
        consumerGroup: this.consumerGroup,
        mq,
        queueOffset: offset,
        maxMsgNums: maxNums,
        suspendTimeoutMs,
        subscription: sub.subString,
        subVersion: sub.subVersion,
        expressionType: sub.expressionType,
        timeoutMs: options.timeoutMs ?? suspendTimeoutMs + instance.requestTimeoutMs,
      }));
    } catch (err) {
      // The suggested node may be gone: the next pull asks the master again.
      this.pullFrom.delete(key);
      throw err;
    }
    if (result.suggestWhichBrokerId === 0) this.pullFrom.delete(key);
    else this.pullFrom.set(key, result.suggestWhichBrokerId);
    if (sub.subString !== SUB_ALL) result.messages = result.messages.filter((m) => matchesSubscription(sub, m.tags));
    for (const m of result.messages) {
      if (!m.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) continue;
      const original = m.properties[MessageProperty.RETRY_TOPIC];
      if (original !== undefined) m.topic = original;
    }
    return result;
  }

  async minOffset(mq: MessageQueue): Promise<number> {
    return this.onGroup(mq, false, (addr) => getMinOffset(this.running(), addr, mq));
  }

  async maxOffset(mq: MessageQueue): Promise<number> {
    return this.onGroup(mq, false, (addr) => getMaxOffset(this.running(), addr, mq));
  }

  async searchOffset(mq: MessageQueue, timestampMs: number): Promise<number> {
    return this.onGroup(mq, false, (addr) => searchOffset(this.running(), addr, mq, timestampMs));
  }

  /** Stores `offset` (the next offset to consume) as the group's position in the queue. */
  async commitOffset(mq: MessageQueue, offset: number): Promise<void> {
    await this.onGroup(mq, true, (addr) => updateConsumerOffset(this.running(), addr, this.consumerGroup, mq, offset));
  }

  /** The group's committed offset, or -1 when it has none. */
  /**
   * The group's committed offset on `mq`, or -1. With `setZeroIfNotFound: false` a group that never
   * committed there gets -1 even while the queue's first message is still stored (else 0).
   */
  async queryOffset(mq: MessageQueue, options: { setZeroIfNotFound?: boolean } = {}): Promise<number> {
    return this.onGroup(mq, true, (addr) => queryConsumerOffset(this.running(), addr, this.consumerGroup, mq, options.setZeroIfNotFound ?? true));
  }

  async shutdown(): Promise<void> {
    const instance = this.instance;
    if (instance === undefined || instance.isClosed) return;
    await Promise.all(instance.routes.allAddrs().map((a) => unregisterClient(instance, a, { consumerGroup: this.consumerGroup }).catch(() => undefined)));
    await instance.close();
  }

  private running(): ClientInstance {
    if (this.instance === undefined || this.instance.isClosed) throw new ClientStateError('call pullConsumer.start() first (or create a new one after shutdown)');
    return this.instance;
  }

  /** Any node of the group can serve these requests; see replica-fallback.ts. */
  private async onGroup<T>(mq: MessageQueue, master: boolean, request: (addr: string) => Promise<T>): Promise<T> {
    return withReplicaFallback(this.running().routes, mq.brokerName, await this.addrOf(mq, master), request);
  }

  private async addrOf(mq: MessageQueue, master = false): Promise<string> {
    const routes = this.running().routes;
    let addr = master ? routes.masterAddr(mq.brokerName) ?? routes.addrFor(mq.brokerName) : routes.addrFor(mq.brokerName);
    if (addr === undefined) {
      await routes.refresh(mq.topic);
      addr = routes.addrFor(mq.brokerName);
    }
    if (addr === undefined) throw new NoQueueError(mq.topic, 'readable');
    return addr;
  }
}
