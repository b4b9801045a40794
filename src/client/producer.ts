// The Producer: validates, picks a queue (round-robin with fault avoidance, or a user selector for
// ordered sends), sends SEND_MESSAGE_V2 to the group's master (the Raft leader), and retries up to
// retryTimesWhenSendFailed times within sendMsgTimeout. A failed attempt re-queries the NameServer
// before the next one, so a leader change is followed at once instead of at the 30 s refresh.
import { makeRequest, RequestCode, type RemotingCommand } from '../protocol/index.js';
import { CLIENT_INNER_PRODUCER_GROUP, ClientDefaults, DEFAULT_PRODUCER_GROUP, MAX_MESSAGE_BYTES } from './client-constants.js';
import { ClientStateError, InvalidMessageError, NoQueueError, TooManyAsyncSendsError } from './client-errors.js';
import { ClientInstance, credentialsFromEnv, type ClientOptions } from './client-instance.js';
import { batchEntryBytes, encodeBatch } from './batch-encoder.js';
import { LatencyFaultTolerance } from './latency-fault.js';
import type { Message, MessageQueue } from './message.js';
import { RoundRobinPicker, type QueueSelector } from './queue-selector.js';
import { buildBatchRequest, buildSendRequest, prepareMessage, PreparedMessage, type SendResult } from './send-request.js';
import { FrameSendTask, SendHeaderPrefixes } from './send-frame.js';
import { CommandSendTask, type SendHost, type SendOptions, type SendTask } from './send-task.js';
import { checkBodySize, checkGroup, checkMessage } from './validation.js';
import { encodeJsonBody } from '../protocol/index.js';

export interface ProducerOptions extends ClientOptions {
  producerGroup?: string;
  sendMsgTimeoutMs?: number;
  retryTimesWhenSendFailed?: number;
  /** Pause before retry n is retryBackoffMs * 2^(n-1), within the send timeout (a Raft election takes a moment). */
  retryBackoffMs?: number;
  compressMsgBodyOverBytes?: number;
  maxMessageBytes?: number;
  sendLatencyFaultEnable?: boolean;
  /** How long an address whose send failed is skipped. */
  faultBackoffMs?: number;
  maxAsyncSendsInFlight?: number;
}

export type { SendOptions } from './send-task.js';
export { isLeaderChangeResponse } from './send-task.js';

export type SendCallback = (err: Error | null, result?: SendResult) => void;

/** The options of a send that passes none: one shared object instead of a new {} per send. */
const NO_OPTIONS: SendOptions = Object.freeze({});

export class Producer {
  readonly producerGroup: string;
  private readonly options: ProducerOptions;
  private readonly sendMsgTimeoutMs: number;
  private readonly retryTimes: number;
  private readonly retryBackoffMs: number;
  private readonly compressOverBytes: number;
  private readonly maxMessageBytes: number;
  private readonly maxAsyncInFlight: number;
  private readonly fault: LatencyFaultTolerance;
  private readonly picker = new RoundRobinPicker();
  /** Whether the fault table lets a queue's master address take sends (made once, not per send). */
  private readonly queueAvailable = (q: MessageQueue): boolean => this.fault.isAvailable(this.instance?.routes.masterAddr(q.brokerName) ?? '');
  protected instance: ClientInstance | undefined;
  /** What each SendTask reads from this producer (set by start()). */
  private host: SendHost | undefined;
  private readonly binaryHeaders: boolean;
  private readonly headerPrefixes: SendHeaderPrefixes;
  private asyncInFlight = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'running' | 'shutdown' = 'new';

  constructor(options: ProducerOptions = {}) {
    this.options = options;
    this.producerGroup = options.producerGroup ?? DEFAULT_PRODUCER_GROUP;
    checkGroup(this.producerGroup);
    this.sendMsgTimeoutMs = options.sendMsgTimeoutMs ?? ClientDefaults.sendMsgTimeoutMs;
    this.retryTimes = options.retryTimesWhenSendFailed ?? ClientDefaults.retryTimesWhenSendFailed;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.compressOverBytes = options.compressMsgBodyOverBytes ?? ClientDefaults.compressMsgBodyOverBytes;
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.maxAsyncInFlight = options.maxAsyncSendsInFlight ?? ClientDefaults.maxAsyncSendsInFlight;
    this.fault = new LatencyFaultTolerance(options.sendLatencyFaultEnable ?? true, options.faultBackoffMs ?? 10_000);
    // The pre-encoded send frames cannot be signed: with ACL credentials sends go as commands.
    this.binaryHeaders = options.binaryHeaders === true && (options.credentials ?? credentialsFromEnv(process.env)) === undefined;
    this.headerPrefixes = new SendHeaderPrefixes(this.producerGroup);
    if (!Number.isInteger(this.retryTimes) || this.retryTimes < 0 || this.retryTimes > 100) {
      throw new InvalidMessageError(`retryTimesWhenSendFailed must be an integer from 0 to 100, got ${this.retryTimes}`);
    }
  }

  get clientId(): string {
    return this.running().clientId;
  }

  /** Connects nothing yet: routes are fetched on first send. Throws ClientConfigError for a bad namesrvAddr. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new ClientStateError(`producer ${this.producerGroup} was already started`);
    const instance = new ClientInstance(this.options, 'producer');
    this.instance = instance;
    this.host = {
      instance,
      fault: this.fault,
      retryBackoffMs: this.retryBackoffMs,
      isRunning: () => this.state === 'running',
      chooseQueue: (queues, msg, options, avoidBroker) => this.chooseQueue(queues, msg, options, avoidBroker),
    };
    this.state = 'running';
    this.heartbeatTimer = setInterval(() => void this.sendHeartbeat(), ClientDefaults.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  /** Sends and resolves once the broker acknowledged (for a Raft group: once a quorum holds it). */
  send(msg: Message, options: SendOptions = NO_OPTIONS): Promise<SendResult> {
    return this.sendPrepared(msg, options, undefined);
  }

  /**
   * send(), with `extra` properties and extra sysFlag bits (the transaction producer's half
   * messages: TRAN_MSG, PGROUP and the prepared flag). Always as a command, never a pre-encoded frame.
   */
  protected sendPrepared(msg: Message, options: SendOptions, half: { properties: Readonly<Record<string, string>>; sysFlag: number } | undefined): Promise<SendResult> {
    let task: SendTask;
    try {
      const host = this.runningHost();
      const body = checkMessage(msg);
      checkBodySize(body.length, this.maxMessageBytes);
      let prepared = prepareMessage(msg, body, this.compressOverBytes, half?.properties);
      if (half !== undefined) prepared = new PreparedMessage(prepared.topic, prepared.body, prepared.sysFlag | half.sysFlag, prepared.flag, prepared.leadingProperties, prepared.preparedAtMs);
      const timeoutMs = options.timeoutMs ?? this.sendMsgTimeoutMs;
      task = this.binaryHeaders && half === undefined
        ? new FrameSendTask(host, msg, options, timeoutMs, this.retryTimes, this.headerPrefixes, prepared)
        : new CommandSendTask(host, msg, options, timeoutMs, this.retryTimes, RequestCode.SEND_MESSAGE_V2, prepared.uniqKey, (mq) =>
            buildSendRequest(this.producerGroup, mq, prepared, undefined),
          );
    } catch (err) {
      return Promise.reject(err);
    }
    return task.run();
  }

  /**
   * Like send, for callers that do not await each send: at most maxAsyncSendsInFlight run at
   * once (beyond that the promise rejects with ERR_CLIENT_TOO_MANY_ASYNC_SENDS and nothing is sent).
   * With a callback, the promise never rejects unhandled.
   */
  sendAsync(msg: Message, callback?: SendCallback, options: SendOptions = NO_OPTIONS): Promise<SendResult> {
    let p: Promise<SendResult>;
    if (this.asyncInFlight >= this.maxAsyncInFlight) p = Promise.reject(new TooManyAsyncSendsError(this.maxAsyncInFlight));
    else {
      this.asyncInFlight++;
      p = this.send(msg, options).finally(() => this.asyncInFlight--);
    }
    if (callback !== undefined) {
      p.then(
        (r) => callback(null, r),
        (err: Error) => callback(err),
      );
    }
    return p;
  }

  /** Fire and forget: no response, no retry. Throws only for bad input or a missing route. */
  async sendOneway(msg: Message, options: SendOptions = NO_OPTIONS): Promise<void> {
    const instance = this.running();
    const body = checkMessage(msg);
    checkBodySize(body.length, this.maxMessageBytes);
    const prepared = prepareMessage(msg, body, this.compressOverBytes);
    const info = await instance.routes.get(msg.topic);
    const mq = this.chooseQueue(info.writeQueues, msg, options, undefined);
    const addr = this.masterAddrOf(instance, mq);
    instance.remoting.invokeOneway(addr, buildSendRequest(this.producerGroup, mq, prepared, undefined));
  }

  /** Sends messages of one topic as one SEND_BATCH_MESSAGE; all land in one queue, in order. */
  async sendBatch(msgs: readonly Message[], options: SendOptions = NO_OPTIONS): Promise<SendResult> {
    const instance = this.running();
    if (!Array.isArray(msgs) || msgs.length === 0) throw new InvalidMessageError('sendBatch needs a non-empty array of messages');
    const first = msgs[0]!;
    const prepared: PreparedMessage[] = [];
    let bytes = 0;
    for (const msg of msgs) {
      const body = checkMessage(msg);
      if (msg.topic !== first.topic) throw new InvalidMessageError(`every message of a batch must have the same topic: '${first.topic}' and '${msg.topic}' differ; send them in separate batches`);
      if (msg.delayTimeLevel !== undefined && msg.delayTimeLevel > 0) throw new InvalidMessageError('a batch cannot carry delayed messages; send delayed messages one by one');
      // Batches are not compressed: the broker splits them into records as they are.
      const p = prepareMessage(msg, body, Number.POSITIVE_INFINITY);
      bytes += batchEntryBytes(p);
      prepared.push(p);
    }
    checkBodySize(bytes, this.maxMessageBytes, `batch of ${msgs.length} messages`);
    const body = encodeBatch(prepared);
    const msgId = prepared.map((p) => p.uniqKey).join(',');
    const build = (mq: MessageQueue): RemotingCommand => buildBatchRequest(this.producerGroup, mq, body, undefined);
    const timeoutMs = options.timeoutMs ?? this.sendMsgTimeoutMs;
    return new CommandSendTask(this.runningHost(), first, options, timeoutMs, this.retryTimes, RequestCode.SEND_BATCH_MESSAGE, msgId, build).run();
  }

  /** The writable queues of a topic (for selectors and tests). */
  async fetchPublishQueues(topic: string): Promise<readonly MessageQueue[]> {
    const instance = this.running();
    return (await instance.routes.get(topic)).writeQueues;
  }

  async shutdown(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'shutdown';
      return;
    }
    this.state = 'shutdown';
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    const instance = this.instance!;
    await Promise.all(
      instance.routes.allAddrs().map((addr) =>
        instance
          .invoke(addr, makeRequest(RequestCode.UNREGISTER_CLIENT, { clientID: instance.clientId, producerGroup: this.producerGroup }), 1000)
          .catch(() => undefined),
      ),
    );
    await instance.close();
  }

  private runningHost(): SendHost {
    this.running();
    return this.host!;
  }

  private running(): ClientInstance {
    if (this.state !== 'running' || this.instance === undefined) {
      throw new ClientStateError(this.state === 'new' ? 'call producer.start() before sending' : 'the producer is shut down; create a new one');
    }
    return this.instance;
  }

  private masterAddrOf(instance: ClientInstance, mq: MessageQueue): string {
    const addr = instance.routes.masterAddr(mq.brokerName);
    if (addr === undefined) throw new NoQueueError(mq.topic, 'writable');
    return addr;
  }

  private chooseQueue(queues: readonly MessageQueue[], msg: Message, options: SendOptions, avoidBroker: string | undefined): MessageQueue {
    if (options.queue !== undefined) return options.queue;
    if (queues.length === 0) throw new NoQueueError(msg.topic, 'writable');
    if (options.selector !== undefined) {
      const mq = options.selector(queues, msg, options.arg);
      if (mq === undefined || !queues.some((q) => q.brokerName === mq.brokerName && q.queueId === mq.queueId)) {
        throw new InvalidMessageError('the queue selector returned a queue that is not one of the queues it was given');
      }
      return mq;
    }
    return this.picker.pick(queues, this.queueAvailable, avoidBroker);
  }

  /** Where heartbeats go: every master (a transaction producer tells every replica, see transaction-producer.ts). */
  protected heartbeatAddrs(instance: ClientInstance): string[] {
    return instance.routes.brokerNames().map((n) => instance.routes.masterAddr(n)).filter((a): a is string => a !== undefined);
  }

  protected async sendHeartbeat(): Promise<void> {
    const instance = this.instance;
    if (instance === undefined || this.state !== 'running') return;
    const body = encodeJsonBody({
      clientID: instance.clientId,
      producerDataSet: [{ groupName: this.producerGroup }, { groupName: CLIENT_INNER_PRODUCER_GROUP }],
      consumerDataSet: [],
    });
    await Promise.all(this.heartbeatAddrs(instance).map((addr) => instance.invoke(addr, makeRequest(RequestCode.HEART_BEAT, {}, { body })).catch(() => undefined)));
  }
}
