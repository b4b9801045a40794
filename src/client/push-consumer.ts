// The PushConsumer: subscriptions, heartbeats, rebalancing (every 20 s, when the group's consumer
// list changes, and when the broker says so), one long-poll pull loop per owned queue with flow
// control, the handler run by a consume service, offsets committed every 5 s, and a graceful
// shutdown that stops pulling, lets running handlers finish, commits and unregisters.
import { decodeMqTableBody, encodeJsonBody, makeResponse, RequestCode, ResponseCode, type HeartbeatData, type RemotingCommand, type SubscriptionData } from '../protocol/index.js';
import type { ConsumerRunningInfo } from './admin-ops.js';
import { ClientDefaults, ConsumeFromWhere, MessageModel, RETRY_GROUP_TOPIC_PREFIX } from './client-constants.js';
import { BrokerResponseError, ClientStateError } from './client-errors.js';
import { ClientInstance, type ClientOptions } from './client-instance.js';
import { sendHeartbeat, unregisterClient } from './broker-api.js';
import { ConcurrentConsumeService, OrderlyConsumeService, type ConsumeHost, type ConsumeService, type MessageHandler } from './consume-service.js';
import type { MessageExt, MessageQueue } from './message.js';
import { LocalOffsetStore, RemoteOffsetStore, type OffsetStore } from './offset-store.js';
import type { ProcessQueue } from './process-queue.js';
import { runPullLoop, type PullLoopHost } from './pull-loop.js';
import { Rebalancer } from './rebalancer.js';
import { sendBackForRetry } from './retry-sender.js';
import { buildSelectorSubscription, buildSubscription, type SubscriptionSelector } from './subscription.js';
import { checkGroup, checkTopic } from './validation.js';

export interface PushConsumerOptions extends ClientOptions {
  consumerGroup: string;
  messageModel?: MessageModel;
  consumeFromWhere?: ConsumeFromWhere;
  /** For CONSUME_FROM_TIMESTAMP: ms since the epoch (default: 30 minutes ago). */
  consumeTimestampMs?: number;
  /**
   * Process each queue's messages one at a time, in offset order. Clustering: a queue is processed
   * only while this client holds its broker lock (LOCK_BATCH_MQ), so two consumers of the group
   * never process one queue at once, even during a rebalance.
   */
  orderly?: boolean;
  /** Orderly: how often the queue locks are renewed (default 20 s). */
  lockRenewIntervalMs?: number;
  /** Orderly: how long a lock is trusted after the request that won it was sent (default 30 s; keep it below the broker's rebalanceLockMaxLiveTime). */
  lockMaxLiveTimeMs?: number;
  handler?: MessageHandler;
  pullBatchSize?: number;
  pullThresholdForQueue?: number;
  pullThresholdSizeForQueueBytes?: number;
  consumeConcurrency?: number;
  maxReconsumeTimes?: number;
  brokerSuspendMaxTimeMs?: number;
  pullTimeoutWhenSuspendMs?: number;
  rebalanceIntervalMs?: number;
  heartbeatIntervalMs?: number;
  persistOffsetIntervalMs?: number;
  consumerListPollIntervalMs?: number;
  /** Broadcasting: keep offsets in files under this directory (memory only when absent). */
  offsetStoreDir?: string;
  /** How long shutdown waits for running handlers. */
  awaitTerminationMs?: number;
}

export class PushConsumer {
  readonly consumerGroup: string;
  private readonly options: PushConsumerOptions;
  private readonly messageModel: MessageModel;
  private readonly subscriptions = new Map<string, SubscriptionData>();
  private userHandler: MessageHandler | undefined;
  private instance: ClientInstance | undefined;
  private offsets: OffsetStore | undefined;
  private rebalancer: Rebalancer | undefined;
  private consumeService: ConsumeService | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pullLoops = new Set<Promise<void>>();
  private pullLoopHost: PullLoopHost | undefined;
  /** Broker addresses that have had our heartbeat; a new one (a new leader) gets one at once. */
  private readonly heartbeated = new Set<string>();
  private state: 'new' | 'running' | 'stopping' | 'shutdown' = 'new';

  constructor(options: PushConsumerOptions) {
    checkGroup(options.consumerGroup);
    this.options = options;
    this.consumerGroup = options.consumerGroup;
    this.messageModel = options.messageModel ?? MessageModel.CLUSTERING;
    this.userHandler = options.handler;
  }

  get clientId(): string {
    if (this.instance === undefined) throw new ClientStateError('call consumer.start() first');
    return this.instance.clientId;
  }

  /**
   * Subscribes to a topic with '*', 'TagA || TagB' or `{ type: 'SQL92', expression }` (brokers
   * need enablePropertyFilter=true); may be called before or after start(). A bad SQL92
   * expression throws FilterSyntaxError or FilterLimitError here.
   */
  subscribe(topic: string, selector: SubscriptionSelector = '*'): void {
    checkTopic(topic);
    this.subscriptions.set(topic, buildSelectorSubscription(topic, selector, Date.now()));
    if (this.state === 'running') {
      void this.heartbeat();
      void this.rebalancer?.request();
    }
  }

  onMessage(handler: MessageHandler): void {
    this.userHandler = handler;
  }

  /** Queues this consumer currently pulls (for tests and monitoring). */
  assignedQueues(): { topic: string; brokerName: string; queueId: number }[] {
    return this.rebalancer?.ownedQueues() ?? [];
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new ClientStateError(`consumer ${this.consumerGroup} was already started`);
    if (this.userHandler === undefined) throw new ClientStateError('set a handler (options.handler or onMessage) before start()');
    if (this.subscriptions.size === 0) throw new ClientStateError('subscribe to at least one topic before start()');
    const o = this.options;
    const instance = new ClientInstance(o, 'push-consumer');
    this.instance = instance;
    try {
      // Fails fast with a typed error for a wrong NameServer address or a missing topic.
      for (const topic of this.subscriptions.keys()) await instance.routes.get(topic);
      if (this.messageModel === MessageModel.CLUSTERING) {
        // The retry topic may get its route only after our first heartbeat (Apache creates it
        // then), so its absence is not an error; rebalance picks it up later.
        const retryTopic = RETRY_GROUP_TOPIC_PREFIX + this.consumerGroup;
        this.subscriptions.set(retryTopic, buildSubscription(retryTopic, '*', Date.now()));
        await instance.routes.get(retryTopic).catch(() => undefined);
      }
    } catch (err) {
      await instance.close();
      this.state = 'shutdown';
      throw err;
    }
    this.offsets =
      this.messageModel === MessageModel.BROADCASTING
        ? new LocalOffsetStore(o.offsetStoreDir, instance.clientId, this.consumerGroup)
        : new RemoteOffsetStore(instance, this.consumerGroup);
    this.rebalancer = new Rebalancer(
      instance,
      {
        group: this.consumerGroup,
        messageModel: this.messageModel,
        consumeFromWhere: o.consumeFromWhere ?? ConsumeFromWhere.LAST_OFFSET,
        consumeTimestampMs: o.consumeTimestampMs ?? Date.now() - 30 * 60_000,
        orderly: o.orderly === true,
      },
      this.offsets,
      () => this.subscriptions,
      (pq) => this.startPullLoop(pq),
    );
    this.pullLoopHost = this.makePullLoopHost(instance);
    const host = this.consumeHost();
    this.consumeService =
      o.orderly === true
        ? new OrderlyConsumeService(host, o.maxReconsumeTimes ?? ClientDefaults.maxReconsumeTimes, ClientDefaults.suspendCurrentQueueTimeMs)
        : new ConcurrentConsumeService(host, o.consumeConcurrency ?? ClientDefaults.consumeConcurrency, 5000);
    instance.onServerRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (cmd, addr) => this.onConsumerIdsChanged(cmd, addr));
    instance.onServerRequest(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, (cmd) => this.onResetOffset(cmd));
    instance.onServerRequest(RequestCode.GET_CONSUMER_RUNNING_INFO, (cmd) => makeResponse(cmd, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody(this.runningInfo())));
    this.state = 'running';
    // As the Java client checks SQL92 support before starting: a broker that refuses our
    // subscriptions (property filter off, or an expression it cannot parse) fails start().
    const refusal = await this.heartbeat();
    if (refusal !== undefined) {
      await this.shutdown();
      throw refusal;
    }
    await this.rebalancer.request();
    this.every(o.rebalanceIntervalMs ?? ClientDefaults.rebalanceIntervalMs, () => this.rebalancer!.request());
    this.every(o.heartbeatIntervalMs ?? ClientDefaults.heartbeatIntervalMs, async () => void (await this.heartbeat()));
    this.every(o.persistOffsetIntervalMs ?? ClientDefaults.persistOffsetIntervalMs, () => this.persistOffsets());
    if (o.orderly === true) this.every(o.lockRenewIntervalMs ?? ClientDefaults.lockRenewIntervalMs, () => this.rebalancer!.renewLocks());
    this.every(o.consumerListPollIntervalMs ?? ClientDefaults.consumerListPollIntervalMs, async () => {
      const rb = this.rebalancer!;
      if (instance.routes.allAddrs().some((a) => !this.heartbeated.has(a))) await this.heartbeat();
      if (rb.incomplete || (await rb.membershipChanged())) await rb.request();
    });
  }

  /** Stops pulling, waits for running handlers (bounded), commits offsets, unregisters. */
  async shutdown(): Promise<void> {
    if (this.state !== 'running') {
      if (this.state === 'new') this.state = 'shutdown';
      return;
    }
    this.state = 'stopping';
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    const instance = this.instance!;
    await this.consumeService!.stop(this.options.awaitTerminationMs ?? ClientDefaults.awaitTerminationMs);
    const owned = this.rebalancer!.ownedQueues();
    const dropped = this.rebalancer!.dropAll();
    await this.offsets!.persistAll(owned).catch((err: unknown) => instance.log.warn({ err }, 'could not commit offsets at shutdown'));
    // Orderly: the next owner need not wait for the locks to expire.
    await this.rebalancer!.unlockAll(dropped);
    await Promise.all(
      instance.routes.allAddrs().map((addr) => unregisterClient(instance, addr, { consumerGroup: this.consumerGroup }).catch(() => undefined)),
    );
    this.state = 'shutdown';
    await instance.close();
    await Promise.all([...this.pullLoops]);
  }

  /**
   * A broker saw our group's client ids change: rebalance now rather than at the next periodic
   * run (runs coalesce, so one per broker node of the group costs at most one extra run). One-way,
   * so nothing is answered, as the Java client.
   */
  private onConsumerIdsChanged(cmd: RemotingCommand, addr: string): undefined {
    const group = cmd.extFields['consumerGroup'];
    if (group !== this.consumerGroup || this.state !== 'running') return undefined;
    this.instance?.log.debug({ addr, group }, 'the broker says the group changed; rebalancing now');
    void this.rebalancer?.request().catch((err: unknown) => this.instance?.log.warn({ err }, 'rebalance after a group change failed'));
    return undefined;
  }

  /**
   * The broker reset the group's offsets (INVOKE_BROKER_TO_RESET_OFFSET): the queues named are
   * dropped, their in-flight messages abandoned, and taken again from the new offsets. One-way.
   */
  private onResetOffset(cmd: RemotingCommand): undefined {
    if (cmd.extFields['group'] !== this.consumerGroup || this.state !== 'running' || this.rebalancer === undefined) return undefined;
    let rows: [MessageQueue, number][];
    try {
      rows = decodeMqTableBody<number>(cmd.body, 'offsetTable', 'reset offset notice').rows;
    } catch (err) {
      this.instance?.log.warn({ err }, 'ignored a malformed reset offset notice');
      return undefined;
    }
    const dropped = this.rebalancer.forget(rows.map(([mq]) => mq));
    this.instance?.log.info({ topic: cmd.extFields['topic'], queues: rows.length, dropped }, 'the broker reset our offsets; restarting those queues there');
    void this.rebalancer.request().catch((err: unknown) => this.instance?.log.warn({ err }, 'rebalance after an offset reset failed'));
    return undefined;
  }

  /** What GET_CONSUMER_RUNNING_INFO answers (docs/client.md). */
  private runningInfo(): ConsumerRunningInfo {
    const o = this.options;
    return {
      properties: {
        consumerGroup: this.consumerGroup,
        messageModel: this.messageModel,
        consumeOrderly: String(o.orderly === true),
        consumeFromWhere: o.consumeFromWhere ?? ConsumeFromWhere.LAST_OFFSET,
        language: 'NODEJS',
      },
      subscriptionSet: [...this.subscriptions.values()].map((s) => ({ topic: s.topic, subString: s.subString, ...(s.expressionType !== undefined ? { expressionType: s.expressionType } : {}) })),
      mqTable: [...(this.rebalancer?.table.values() ?? [])].map((pq) => ({ ...pq.mq, nextOffset: pq.nextOffset, inflight: pq.msgCount, dropped: pq.dropped, ...(o.orderly === true ? { locked: pq.locked } : {}) })),
    };
  }

  private every(intervalMs: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy || this.state !== 'running') return;
      busy = true;
      fn()
        .catch((err: unknown) => this.instance?.log.warn({ err }, 'periodic consumer task failed'))
        .finally(() => (busy = false));
    }, intervalMs);
    this.timers.push(t);
  }

  private heartbeatData(): HeartbeatData {
    return {
      clientID: this.instance!.clientId,
      producerDataSet: [],
      consumerDataSet: [
        {
          groupName: this.consumerGroup,
          consumeType: 'CONSUME_PASSIVELY',
          messageModel: this.messageModel,
          consumeFromWhere: this.options.consumeFromWhere ?? ConsumeFromWhere.LAST_OFFSET,
          unitMode: false,
          subscriptionDataSet: [...this.subscriptions.values()],
        },
      ],
    };
  }

  /** Heartbeats every known broker; returns a broker's refusal of our subscriptions (23), if any. */
  private async heartbeat(): Promise<BrokerResponseError | undefined> {
    const instance = this.instance!;
    const data = this.heartbeatData();
    let refusal: BrokerResponseError | undefined;
    await Promise.all(
      instance.routes.allAddrs().map((addr) =>
        sendHeartbeat(instance, addr, data).then(
          () => void this.heartbeated.add(addr),
          (err: unknown) => {
            this.heartbeated.delete(addr);
            if (err instanceof BrokerResponseError && err.brokerCode === ResponseCode.SUBSCRIPTION_PARSE_FAILED) {
              refusal ??= err;
              instance.log.error({ err, addr }, 'the broker refuses a subscription of this consumer');
            } else {
              instance.log.debug({ err, addr }, 'heartbeat failed');
            }
          },
        ),
      ),
    );
    return refusal;
  }


  private async persistOffsets(): Promise<void> {
    await this.offsets!.persistAll(this.rebalancer!.ownedQueues());
  }

  private consumeHost(): ConsumeHost {
    return {
      log: this.instance!.log,
      handler: () => this.userHandler!,
      onFinished: (pq, msg) => {
        if (pq.dropped && this.state === 'running') return;
        const offset = pq.removeMessage(msg);
        this.recordOffset(pq, offset);
      },
      sendBack: (msg) => this.sendBack(msg),
      ...(this.options.orderly === true && this.messageModel === MessageModel.CLUSTERING
        ? { mayConsume: (pq: ProcessQueue) => pq.locked && !pq.dropped && Date.now() - pq.lastLockMs < (this.options.lockMaxLiveTimeMs ?? ClientDefaults.lockMaxLiveTimeMs) }
        : {}),
    };
  }

  private recordOffset(pq: ProcessQueue, offset: number, reset = false): void {
    if (reset || offset > pq.recordedOffset) {
      pq.recordedOffset = offset;
      this.offsets!.update(pq.mq, offset, !reset);
    }
  }

  private async sendBack(msg: MessageExt): Promise<boolean> {
    const instance = this.instance!;
    if (this.messageModel === MessageModel.BROADCASTING) {
      // Broadcasting has no retry topic (every consumer would get the retry); RocketMQ drops it too.
      instance.log.warn({ msgId: msg.msgId }, 'broadcasting consumer returned RECONSUME_LATER; the message is dropped');
      return true;
    }
    return sendBackForRetry(instance, this.consumerGroup, msg, this.options.maxReconsumeTimes ?? ClientDefaults.maxReconsumeTimes);
  }

  private startPullLoop(pq: ProcessQueue): void {
    const loop = runPullLoop(this.pullLoopHost!, pq).catch((err: unknown) => this.instance?.log.error({ err, queue: pq.mq }, 'pull loop ended with an error'));
    this.pullLoops.add(loop);
    void loop.finally(() => this.pullLoops.delete(loop));
  }

  private makePullLoopHost(instance: ClientInstance): PullLoopHost {
    const o = this.options;
    return {
      instance,
      settings: {
        consumerGroup: this.consumerGroup,
        messageModel: this.messageModel,
        pullBatchSize: o.pullBatchSize ?? ClientDefaults.pullBatchSize,
        pullThresholdForQueue: o.pullThresholdForQueue ?? ClientDefaults.pullThresholdForQueue,
        pullThresholdSizeForQueueBytes: o.pullThresholdSizeForQueueBytes ?? ClientDefaults.pullThresholdSizeForQueueBytes,
        brokerSuspendMaxTimeMs: o.brokerSuspendMaxTimeMs ?? ClientDefaults.brokerSuspendMaxTimeMs,
        pullTimeoutWhenSuspendMs: o.pullTimeoutWhenSuspendMs ?? ClientDefaults.pullTimeoutWhenSuspendMs,
      },
      isRunning: () => this.state === 'running',
      subscription: (topic) => this.subscriptions.get(topic),
      submit: (pq, msgs) => this.consumeService!.submit(pq, msgs),
      recordOffset: (pq, offset, reset) => this.recordOffset(pq, offset, reset),
    };
  }
}
