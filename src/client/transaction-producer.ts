// The TransactionProducer (RocketMQ's transactional producer): sends a half message, which the
// broker keeps invisible; runs the local transaction; then tells the broker to commit or roll back
// with a one-way END_TRANSACTION. When that answer is lost or was "unknown", the broker's leader
// later asks CHECK_TRANSACTION_STATE of any live producer of the same group, whose checker looks
// at its local state and answers with END_TRANSACTION again. So the checker must be able to answer
// for transactions another process of the group began (it reads shared state, not memory).
//
// To be askable, a transaction producer heartbeats every replica of the groups it sends to (not
// only the masters, as a plain producer does): a new leader then knows its channel at once.

import { makeRequest, RequestCode, type RemotingCommand } from '../protocol/index.js';
import { ClientDefaults, MessageProperty, MessageSysFlag } from './client-constants.js';
import { ClientStateError, InvalidMessageError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { decodeMessageRecord } from './message-decoder.js';
import { parseOffsetMsgId } from './message-id.js';
import type { Message, MessageExt } from './message.js';
import { Producer, type ProducerOptions, type SendOptions } from './producer.js';
import type { SendResult } from './send-request.js';

/** A local transaction's outcome, named as RocketMQ names it (UNKNOW with its spelling). */
export type LocalTransactionState = 'COMMIT_MESSAGE' | 'ROLLBACK_MESSAGE' | 'UNKNOW';

export interface TransactionListener {
  /** Runs the local transaction after the half message is stored. A throw counts as UNKNOW. */
  executeLocalTransaction(msg: Message, arg: unknown): LocalTransactionState | Promise<LocalTransactionState>;
  /** Answers the broker's check of a transaction whose outcome it never heard. A throw counts as UNKNOW. */
  checkLocalTransaction(msg: MessageExt): LocalTransactionState | Promise<LocalTransactionState>;
}

export interface TransactionProducerOptions extends ProducerOptions {
  listener: TransactionListener;
  /** Topics whose brokers hear this producer's heartbeat at start, so it answers checks before its first send. */
  topics?: readonly string[];
  /** Heartbeat period (default 30 s); a new leader learns a producer's channel from it at the latest. */
  heartbeatIntervalMs?: number;
}

export interface TransactionSendResult extends SendResult {
  localTransactionState: LocalTransactionState;
  /** The transaction's id (the half message's UNIQ_KEY). */
  transactionId: string;
}

/** END_TRANSACTION's commitOrRollback values (transaction types of the sysFlag). */
const END_CODE: Record<LocalTransactionState, number> = {
  COMMIT_MESSAGE: MessageSysFlag.TRANSACTION_COMMIT,
  ROLLBACK_MESSAGE: MessageSysFlag.TRANSACTION_ROLLBACK,
  UNKNOW: 0,
};

function asState(v: unknown): LocalTransactionState {
  return v === 'COMMIT_MESSAGE' || v === 'ROLLBACK_MESSAGE' ? v : 'UNKNOW';
}

export class TransactionProducer extends Producer {
  private readonly listener: TransactionListener;
  private readonly topics: readonly string[];
  private readonly txHeartbeatMs: number;
  private txHeartbeatTimer: NodeJS.Timeout | undefined;
  private lastHeartbeatMs = 0;
  /** Checks answered (for tests and status). */
  checksAnswered = 0;

  constructor(options: TransactionProducerOptions) {
    super(options);
    if (typeof options.listener?.executeLocalTransaction !== 'function' || typeof options.listener.checkLocalTransaction !== 'function') {
      throw new InvalidMessageError('a TransactionProducer needs a listener with executeLocalTransaction and checkLocalTransaction');
    }
    this.listener = options.listener;
    this.topics = options.topics ?? [];
    this.txHeartbeatMs = options.heartbeatIntervalMs ?? ClientDefaults.heartbeatIntervalMs;
  }

  override async start(): Promise<void> {
    await super.start();
    const instance = this.instance!;
    instance.onServerRequest(RequestCode.CHECK_TRANSACTION_STATE, (cmd, addr) => {
      void this.answerCheck(instance, cmd, addr);
      return undefined;
    });
    for (const topic of this.topics) await instance.routes.get(topic);
    await this.sendHeartbeat();
    this.txHeartbeatTimer = setInterval(() => void this.heartbeatReplicas(), this.txHeartbeatMs);
    this.txHeartbeatTimer.unref();
  }

  override async shutdown(): Promise<void> {
    if (this.txHeartbeatTimer !== undefined) clearInterval(this.txHeartbeatTimer);
    this.txHeartbeatTimer = undefined;
    await super.shutdown();
  }

  /**
   * Refreshes the routes it knows, then heartbeats every replica in them. A member that was down
   * at the last refresh is missing from the cached route (the NameServer drops a broker whose
   * connection closed) and would hear nothing until the next refresh, 30 s later by default; if it
   * leads meanwhile, its checks find no channel of this group and count toward
   * transactionCheckMax unanswered. One NameServer request per topic per heartbeat period.
   */
  private async heartbeatReplicas(): Promise<void> {
    const instance = this.instance;
    if (instance === undefined) return;
    await Promise.all(instance.routes.cachedTopics().map((t) => instance.routes.refresh(t).catch(() => undefined)));
    await this.sendHeartbeat();
  }

  protected override heartbeatAddrs(instance: ClientInstance): string[] {
    return instance.routes.allAddrs();
  }

  /**
   * Sends `msg` as a half message, runs the local transaction, and sends its outcome (one-way).
   * Resolves with the send result and the local state; rejects (without running the local
   * transaction) when the half message was not stored.
   */
  async sendMessageInTransaction(msg: Message, arg?: unknown, options?: SendOptions): Promise<TransactionSendResult> {
    if (msg.delayTimeLevel !== undefined && msg.delayTimeLevel > 0) throw new InvalidMessageError('a transaction message cannot be delayed');
    const half = { properties: { [MessageProperty.TRANSACTION_PREPARED]: 'true', [MessageProperty.PRODUCER_GROUP]: this.producerGroup }, sysFlag: MessageSysFlag.TRANSACTION_PREPARED };
    const sent = await this.sendPrepared(msg, options ?? {}, half);
    const instance = this.instance;
    if (instance === undefined) throw new ClientStateError('the producer is shut down; create a new one');
    // A broker of this group that has not heard from us yet (new in the route, or restarted and
    // so without our channel) could not ask us to check: heartbeat, at most once a second, unawaited.
    const now = Date.now();
    if (now - this.lastHeartbeatMs >= 1000) {
      this.lastHeartbeatMs = now;
      void this.sendHeartbeat();
    }
    let state: LocalTransactionState;
    try {
      state = asState(await this.listener.executeLocalTransaction(msg, arg));
    } catch (err) {
      instance.log.warn({ err, msgId: sent.msgId }, 'the local transaction threw; its state is unknown until the broker checks it');
      state = 'UNKNOW';
    }
    const addr = instance.routes.masterAddr(sent.brokerName);
    const commitLogOffset = parseOffsetMsgId(sent.offsetMsgId)?.physicalOffset;
    // Lost or unsent, the outcome still arrives: the broker checks an undecided half message.
    if (addr !== undefined && commitLogOffset !== undefined && !instance.isClosed) {
      this.sendEnd(instance, addr, this.endRequest(commitLogOffset, sent.queueOffset, state, false, sent.msgId, sent.msgId));
    }
    return { ...sent, localTransactionState: state, transactionId: sent.msgId };
  }

  private endRequest(commitLogOffset: number, tranStateTableOffset: number, state: LocalTransactionState, fromCheck: boolean, msgId: string, transactionId: string): RemotingCommand {
    return makeRequest(
      RequestCode.END_TRANSACTION,
      {
        producerGroup: this.producerGroup,
        tranStateTableOffset: String(tranStateTableOffset),
        commitLogOffset: String(commitLogOffset),
        commitOrRollback: String(END_CODE[state]),
        fromTransactionCheck: String(fromCheck),
        msgId,
        transactionId,
      },
      { oneway: true },
    );
  }

  /** Answers one CHECK_TRANSACTION_STATE from the broker at `addr` with the checker's verdict. */
  private async answerCheck(instance: ClientInstance, cmd: RemotingCommand, addr: string): Promise<void> {
    let state: LocalTransactionState = 'UNKNOW';
    let msg: MessageExt | undefined;
    try {
      msg = decodeMessageRecord(cmd.body ?? Buffer.alloc(0), 0).msg;
      state = asState(await this.listener.checkLocalTransaction(msg));
    } catch (err) {
      instance.log.warn({ err }, 'checking a transaction failed; answered UNKNOW');
    }
    if (instance.isClosed) return;
    const ext = cmd.extFields;
    const uniq = msg?.properties[MessageProperty.UNIQ_KEY] ?? ext['msgId'] ?? '';
    if (this.sendEnd(instance, addr, this.endRequest(Number(ext['commitLogOffset']), Number(ext['tranStateTableOffset']), state, true, uniq, ext['transactionId'] ?? uniq))) this.checksAnswered++;
  }

  /** One-way, as RocketMQ clients send it: a lost END_TRANSACTION is made good by the broker's check. */
  private sendEnd(instance: ClientInstance, addr: string, req: RemotingCommand): boolean {
    try {
      instance.remoting.invokeOneway(addr, req);
      return true;
    } catch (err) {
      instance.log.warn({ err, addr }, 'END_TRANSACTION not sent; the broker will check the transaction');
      return false;
    }
  }
}
