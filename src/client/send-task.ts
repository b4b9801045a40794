// One send (single message or batch) from the first attempt to its outcome, as a small state
// machine instead of an async function: attempts go out through the remoting client's callback
// API and this object hears their outcome itself, so a send that succeeds at once costs one
// promise (the caller's) rather than one per layer. The rules are the Producer's (docs/client.md):
// at most 1 + retryTimesWhenSendFailed attempts within the send timeout, a pause of
// retryBackoffMs·2^(n-1) before retry n, a fresh route before every retry, and an outcome that
// says whether any attempt may have reached the broker.
import { performance } from 'node:perf_hooks';
import { ResponseCode, type RemotingCommand, type ResponseHandler } from '../protocol/index.js';
import {
  BrokerResponseError,
  BrokerUnreachableError,
  ClientStateError,
  isOutcomeUnknown,
  NoQueueError,
  SendFailedError,
  SendTimeoutError,
} from './client-errors.js';
import { wrapTransportError, type ClientInstance } from './client-instance.js';
import type { LatencyFaultTolerance } from './latency-fault.js';
import type { Message, MessageQueue } from './message.js';
import type { QueueSelector } from './queue-selector.js';
import type { TopicInfo } from './route-cache.js';
import { parseSendResponse, storedStatus, type SendResult } from './send-request.js';

/** Response codes after which another attempt may succeed (RocketMQ's retryResponseCodes plus busy). */
const RETRYABLE_CODES: ReadonlySet<number> = new Set<number>([
  ResponseCode.SYSTEM_ERROR,
  ResponseCode.SYSTEM_BUSY,
  ResponseCode.SERVICE_NOT_AVAILABLE,
  ResponseCode.NO_PERMISSION,
  ResponseCode.TOPIC_NOT_EXIST,
]);

const LEADER_CHANGE_REMARK = /not[\s_-]*(the\s+)?leader|leader[\s_-]*(changed|transfer|not ready)|not master|slave/i;

/** True when a response says the route is stale (the address is no longer the leader). */
export function isLeaderChangeResponse(code: number, remark: string | undefined): boolean {
  return code === ResponseCode.SERVICE_NOT_AVAILABLE || code === ResponseCode.NO_PERMISSION || (remark !== undefined && LEADER_CHANGE_REMARK.test(remark));
}

export interface SendOptions {
  selector?: QueueSelector;
  arg?: unknown;
  /** Send to this queue (overrides selector). */
  queue?: MessageQueue;
  timeoutMs?: number;
}

/** What a send needs from its Producer. */
export interface SendHost {
  readonly instance: ClientInstance;
  readonly fault: LatencyFaultTolerance;
  readonly retryBackoffMs: number;
  isRunning(): boolean;
  chooseQueue(queues: readonly MessageQueue[], msg: Message, options: SendOptions, avoidBroker: string | undefined): MessageQueue;
}

/** The task whose promise is being made: run() hands it to settleInto without a closure. */
let constructing: SendTask | undefined;

/** The promise executor of every send (one function, so making a send's promise allocates none). */
function settleInto(resolve: (r: SendResult) => void, reject: (err: unknown) => void): void {
  const task = constructing!;
  task.settleWith(resolve, reject);
}

/**
 * One send. A subclass says how an attempt goes on the wire: sendAttempt queues the request to
 * `addr` for `mq` and returns the error when nothing was sent (this handler then hears nothing),
 * else this handler hears once.
 */
export abstract class SendTask implements ResponseHandler {
  private readonly startMs: number;
  private readonly deadlineMs: number;
  private readonly maxAttempts: number;
  private attempts = 0;
  private outcomeUnknown = false;
  private lastErr: unknown;
  private lastBroker: string | undefined;
  private mq: MessageQueue | undefined;
  private addr = '';
  private attemptStartMs = 0;
  private resolve: (r: SendResult) => void = noop;
  private reject: (err: unknown) => void = noop;

  constructor(
    private readonly host: SendHost,
    private readonly msg: Message,
    private readonly options: SendOptions,
    private readonly timeoutMs: number,
    retryTimes: number,
  ) {
    this.startMs = performance.now();
    this.deadlineMs = this.startMs + timeoutMs;
    this.maxAttempts = 1 + retryTimes;
  }

  /** The request code of an attempt (for errors). */
  protected abstract readonly requestCode: number;

  /** What SendResult.msgId says (asked for once the send succeeded). */
  protected abstract get msgId(): string;

  protected abstract sendAttempt(instance: ClientInstance, addr: string, mq: MessageQueue, timeoutMs: number): Error | undefined;

  /** Runs the send; the promise settles once with its outcome. */
  run(): Promise<SendResult> {
    constructing = this;
    const promise = new Promise<SendResult>(settleInto);
    constructing = undefined;
    this.attempt(this.startMs);
    return promise;
  }

  /** Called by the promise executor, synchronously inside run(). */
  settleWith(resolve: (r: SendResult) => void, reject: (err: unknown) => void): void {
    this.resolve = resolve;
    this.reject = reject;
  }

  onResponse(resp: RemotingCommand): void {
    try {
      this.heard(resp);
    } catch (err) {
      this.reject(err);
    }
  }

  onFailure(raw: Error): void {
    try {
      const err = wrapTransportError(this.addr, raw);
      this.host.fault.update(this.addr, performance.now() - this.attemptStartMs, true);
      if (!(err instanceof BrokerUnreachableError)) {
        this.reject(err);
        return;
      }
      this.outcomeUnknown ||= err.outcomeUnknown;
      this.lastErr = err;
      this.host.instance.log.debug({ err, addr: this.addr, attempt: this.attempts }, 'send attempt failed');
      this.next();
    } catch (err) {
      this.reject(err);
    }
  }

  private heard(resp: RemotingCommand): void {
    const latencyMs = performance.now() - this.attemptStartMs;
    const status = storedStatus(resp.code);
    if (status !== undefined) {
      this.host.fault.update(this.addr, latencyMs, false);
      this.resolve(parseSendResponse(resp, status, this.mq!, this.msgId));
      return;
    }
    const brokerErr = new BrokerResponseError(this.addr, this.requestCode, resp.code, resp.remark);
    if (!RETRYABLE_CODES.has(resp.code)) {
      this.reject(brokerErr);
      return;
    }
    if (isLeaderChangeResponse(resp.code, resp.remark)) this.host.fault.update(this.addr, latencyMs, true);
    // SYSTEM_ERROR may come after the broker proposed the entry; the others refuse up front.
    if (resp.code === ResponseCode.SYSTEM_ERROR) this.outcomeUnknown = true;
    this.lastErr = brokerErr;
    this.next();
  }

  /** After a failed attempt: pause (within the deadline), then the next one, or the final error. */
  private next(): void {
    if (this.attempts >= this.maxAttempts) {
      this.fail();
      return;
    }
    const pauseMs = Math.min(this.host.retryBackoffMs * 2 ** (this.attempts - 1), this.deadlineMs - performance.now() - 1);
    if (pauseMs <= 0) {
      this.attempt(performance.now());
      return;
    }
    // A pending retry pause never keeps the process alive on its own.
    setTimeout(() => this.attempt(performance.now()), pauseMs).unref();
  }

  /** One attempt, `nowMs` being the clock read just before (run() reuses the start time). */
  private attempt(nowMs: number): void {
    try {
      if (nowMs >= this.deadlineMs) {
        this.fail();
        return;
      }
      if (!this.host.isRunning()) {
        this.reject(new ClientStateError('the producer was shut down during the send; the outcome is unknown'));
        return;
      }
      const routes = this.host.instance.routes;
      const topic = this.msg.topic;
      // First attempt: the cached route. A retry: a fresh one, because the failure may be a leader change.
      if (this.attempts === 0) {
        const cached = routes.cached(topic);
        if (cached !== undefined) this.withRoute(cached, nowMs);
        else routes.get(topic).then((info) => this.withRoute(info, performance.now()), (err: unknown) => this.reject(err));
      } else {
        routes
          .refresh(topic)
          .catch(() => routes.cached(topic))
          .then((info) => this.withRoute(info, performance.now()), (err: unknown) => this.reject(err));
      }
    } catch (err) {
      this.reject(err);
    }
  }

  private withRoute(info: TopicInfo | undefined, nowMs: number): void {
    try {
      if (info === undefined) {
        this.fail();
        return;
      }
      const host = this.host;
      const mq = host.chooseQueue(info.writeQueues, this.msg, this.options, this.lastBroker);
      const addr = host.instance.routes.masterAddr(mq.brokerName);
      this.attempts++;
      this.lastBroker = mq.brokerName;
      if (addr === undefined) {
        this.lastErr = new NoQueueError(this.msg.topic, 'writable');
        this.next();
        return;
      }
      if (host.instance.isClosed) {
        this.reject(new ClientStateError('the client is shut down; create a new one'));
        return;
      }
      this.mq = mq;
      this.addr = addr;
      this.attemptStartMs = nowMs;
      const refused = this.sendAttempt(host.instance, addr, mq, Math.max(1, this.deadlineMs - nowMs));
      if (refused !== undefined) this.onFailure(refused);
    } catch (err) {
      this.reject(err);
    }
  }

  private fail(): void {
    const topic = this.msg.topic;
    if (performance.now() >= this.deadlineMs) {
      this.reject(new SendTimeoutError(topic, this.timeoutMs, this.attempts, this.outcomeUnknown || isOutcomeUnknown(this.lastErr), { cause: this.lastErr }));
    } else {
      this.reject(new SendFailedError(topic, this.attempts, this.outcomeUnknown, { cause: this.lastErr }));
    }
  }
}

function noop(): void {}

/** A send whose attempts are RemotingCommands built for their queue (batches, JSON headers). */
export class CommandSendTask extends SendTask {
  constructor(
    host: SendHost,
    msg: Message,
    options: SendOptions,
    timeoutMs: number,
    retryTimes: number,
    protected readonly requestCode: number,
    private readonly id: string,
    private readonly build: (mq: MessageQueue) => RemotingCommand,
  ) {
    super(host, msg, options, timeoutMs, retryTimes);
  }

  protected get msgId(): string {
    return this.id;
  }

  protected sendAttempt(instance: ClientInstance, addr: string, mq: MessageQueue, timeoutMs: number): Error | undefined {
    return instance.remoting.request(addr, this.build(mq), timeoutMs, this);
  }
}
