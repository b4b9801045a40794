// The transaction service: decides half messages (END_TRANSACTION) and, on the ready leader, checks
// the undecided ones with their producer group. Every decision is written through Raft as an op
// record (with the real message, for a commit, in the same entry), and every decision first
// re-reads the op queue, under a per-half-message lock, so a half message is decided at most once:
// a repeated END_TRANSACTION, one relayed by a follower, one racing the check service's discard,
// or one reaching a new leader after a failover all find the first decision in the log. A write
// whose outcome is unknown (a proposal timeout) blocks its half message on this leader until
// leadership changes: only the next ready leader, reading the decided log, may decide it again.

import type { Logger } from '../../common/logger.js';
import { makeRequest, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { decodeMessageRecord, encodeMessageRecord, getProperty, MessageProperty, SysFlag, type MessageRecord } from '../../store/index.js';
import type { BrokerContext, BrokerService, BrokerServiceFactory, RoleState } from '../broker-context.js';
import { BrokerError } from '../broker-errors.js';
import { TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../topic-rules.js';
import { discardedRecord, OpKind, opRecord, restoredRecord } from './half-message.js';
import { TRANSACTION_PROGRESS_GROUP, TransactionState } from './transaction-state.js';

/** What END_TRANSACTION asks (RocketMQ's EndTransactionRequestHeader, parsed). */
export interface EndRequest {
  producerGroup: string;
  commitLogOffset: number;
  /** 8 commit, 12 rollback, 0 unknown (as sysFlag transaction types). */
  commitOrRollback: number;
  fromTransactionCheck: boolean;
}

export interface EndOutcome {
  /** What happened: the decision was written now, or an earlier one stands. */
  result: 'committed' | 'rolled-back' | 'unknown-ignored' | 'already-decided';
  remark: string;
}

/** Units of the half queue read per check cycle (a backlog is worked off over several cycles). */
const MAX_SCAN_PER_CYCLE = 4096;
/** Check requests sent per cycle (each costs one op record; they share one Raft entry). */
const MAX_CHECKS_PER_CYCLE = 256;
/** Errors after which a write may still commit (see docs/errors.md). */
const OUTCOME_UNKNOWN = new Set(['ERR_BROKER_OUTCOME_UNKNOWN', 'ERR_BROKER_DISPATCH_FAILED', 'ERR_RAFT_PROPOSAL_TIMEOUT']);

function transactionError(code: 'ERR_BROKER_HALF_NOT_FOUND' | 'ERR_BROKER_TRANSACTION_DECIDED' | 'ERR_BROKER_TRANSACTION_PENDING', message: string): BrokerError {
  return new BrokerError(code, code === 'ERR_BROKER_TRANSACTION_PENDING' ? ResponseCode.SERVICE_NOT_AVAILABLE : ResponseCode.SYSTEM_ERROR, message);
}

export class TransactionService implements BrokerService {
  readonly name = 'transaction';
  private readonly log: Logger;
  private state: TransactionState | undefined;
  /** Keys (lockKey) of half messages whose decision was proposed with an unknown outcome during this leadership. */
  private readonly blocked = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private active = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private nextChannel = 0;
  /** Check requests sent since start (for tests and status). */
  checksSent = 0;

  constructor(private readonly ctx: BrokerContext) {
    this.log = ctx.log.child({ component: 'transaction' });
  }

  start(): void {
    if (this.unsubscribe || this.stopped) return;
    this.unsubscribe = this.ctx.raft.onRoleChange((s) => this.onRole(s));
    this.onRole(this.ctx.raft.role());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.onRole(undefined);
    await this.running;
  }

  private onRole(s: RoleState | undefined): void {
    const leads = s !== undefined && s.role === 'leader' && s.ready && !this.stopped;
    if (leads === this.active) return;
    this.active = leads;
    // What a leadership knew goes with it: the next one folds the (by then decided) log afresh.
    this.state = undefined;
    this.blocked.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (leads) this.schedule(this.ctx.config.transactionCheckInterval);
  }

  private schedule(delayMs: number): void {
    if (!this.active) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.checkCycle()
        .catch((err: unknown) => this.log.warn({ err }, 'transaction check cycle failed; retrying at the next interval'))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.ctx.config.transactionCheckInterval);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** The fold of this leadership, built on first use (processors may run before the role listener). */
  private current(): TransactionState {
    if (this.state === undefined) {
      const m = this.ctx.metadata;
      this.state = new TransactionState(this.ctx.store, m.consumerOffset(TRANSACTION_PROGRESS_GROUP, TRANS_HALF_TOPIC, 0) ?? 0, m.consumerOffset(TRANSACTION_PROGRESS_GROUP, TRANS_OP_HALF_TOPIC, 0) ?? 0);
    }
    this.state.fold();
    return this.state;
  }

  /**
   * Runs `fn` alone for one transaction (END_TRANSACTION and the check service share these
   * locks). The key is the message's UNIQ_KEY: a producer's send retry may have stored two half
   * messages of one transaction, and those must not be committed side by side either.
   */
  private async locked<T>(half: MessageRecord, fn: () => Promise<T>): Promise<T> {
    const key = lockKey(half);
    // Bounded: each waiter re-checks after the holder finishes; holders never wait on each other.
    for (let held = this.locks.get(key); held !== undefined; held = this.locks.get(key)) await held.catch(() => undefined);
    const p = fn();
    this.locks.set(key, p);
    try {
      return await p;
    } finally {
      if (this.locks.get(key) === p) this.locks.delete(key);
    }
  }

  /** The half message stored at `physical`, or a refusal naming what is wrong. */
  private readHalf(physical: number): MessageRecord {
    const bytes = Number.isSafeInteger(physical) && physical >= 0 ? this.ctx.store.lookMessageByOffset(physical) : undefined;
    const rec = bytes === undefined ? undefined : decodeMessageRecord(bytes, 0, { verifyCrc: false });
    if (rec === undefined || rec.topic !== TRANS_HALF_TOPIC) {
      throw transactionError('ERR_BROKER_HALF_NOT_FOUND', `no half message at commitLogOffset ${physical} on this broker group (it was removed by retention, or the offset is not one a half message send returned)`);
    }
    return rec;
  }

  /** Leader only (the processor relays otherwise): applies an END_TRANSACTION. */
  async end(req: EndRequest): Promise<EndOutcome> {
    const half = this.readHalf(req.commitLogOffset);
    const group = getProperty(half.properties, MessageProperty.PRODUCER_GROUP);
    if (group !== undefined && req.producerGroup !== '' && group !== req.producerGroup) {
      throw transactionError('ERR_BROKER_HALF_NOT_FOUND', `the half message at ${req.commitLogOffset} belongs to producer group ${group}, not ${req.producerGroup}`);
    }
    if (req.commitOrRollback !== SysFlag.TRANSACTION_COMMIT && req.commitOrRollback !== SysFlag.TRANSACTION_ROLLBACK) {
      return { result: 'unknown-ignored', remark: 'state unknown: the broker will check the transaction with its producer group later' };
    }
    const kind = req.commitOrRollback === SysFlag.TRANSACTION_COMMIT ? OpKind.COMMIT : OpKind.ROLLBACK;
    return this.locked(half, () => this.decide(half, kind));
  }

  private async decide(half: MessageRecord, kind: 'c' | 'r' | 'x'): Promise<EndOutcome> {
    const state = this.current();
    const physical = half.physicalOffset;
    const already = half.queueOffset < state.halfProgress ? this.decidedBelowProgress(half) : state.halves.get(physical)?.decided;
    if (already !== undefined) {
      // A discard racing a decision that came first is simply not needed.
      if (already === kind || kind === OpKind.DISCARD) return { result: 'already-decided', remark: `the transaction of half message ${physical} was already decided; nothing written` };
      throw transactionError('ERR_BROKER_TRANSACTION_DECIDED', `the transaction of half message ${physical} was already ${already === 'c' ? 'committed' : already === 'r' ? 'rolled back' : `discarded to TRANS_CHECK_MAX_TIME_TOPIC after ${this.ctx.config.transactionCheckMax} checks`}; a transaction is decided once`);
    }
    if (this.blocked.has(lockKey(half))) {
      throw transactionError('ERR_BROKER_TRANSACTION_PENDING', `a decision for half message ${physical} was proposed and its outcome is not known yet; the next leader decides from the log, and the check service asks again if it was lost`);
    }
    const now = this.ctx.nowMs();
    const records: MessageRecord[] = [];
    if (kind === OpKind.COMMIT) {
      const real = restoredRecord(half, SysFlag.TRANSACTION_COMMIT, this.ctx.storeHost, now);
      if (real === undefined) throw transactionError('ERR_BROKER_HALF_NOT_FOUND', `the half message at ${physical} names no REAL_TOPIC / REAL_QID`);
      // A copy of this transaction (a half message the producer's retry stored twice) already committed.
      if (!this.committedCopyExists(real)) records.push(real);
    } else if (kind === OpKind.DISCARD) {
      records.push(discardedRecord(half, this.ctx.storeHost, now));
    }
    records.push(opRecord({ kind, halfQueueOffset: half.queueOffset, halfPhysicalOffset: physical }, this.ctx.storeHost, now));
    try {
      await this.ctx.putMessages(records);
    } catch (err) {
      if (OUTCOME_UNKNOWN.has((err as { code?: string } | null)?.code ?? '')) this.blocked.add(lockKey(half));
      throw err;
    }
    state.fold();
    return { result: kind === OpKind.ROLLBACK ? 'rolled-back' : 'committed', remark: kind === OpKind.DISCARD ? 'discarded' : '' };
  }

  /**
   * One check run: half messages older than transactionTimeOut (since their store time or last
   * check) without a decision are checked (one op each, in one entry, then CHECK_TRANSACTION_STATE
   * to a live producer channel of their group); those checked transactionCheckMax times already
   * are discarded. Then the progress offsets move past the decided head of the half queue.
   */
  async checkCycle(): Promise<void> {
    if (!this.active || !this.ctx.raft.isLeader()) return;
    const state = this.current();
    const cfg = this.ctx.config;
    const now = this.ctx.nowMs();
    const due: MessageRecord[] = [];
    const discard: MessageRecord[] = [];
    let offset = state.halfProgress;
    const max = this.ctx.store.getMaxOffsetInQueue(TRANS_HALF_TOPIC, 0);
    for (let scanned = 0; offset < max && scanned < MAX_SCAN_PER_CYCLE && due.length < MAX_CHECKS_PER_CYCLE; ) {
      const got = this.ctx.store.getMessage(TRANS_HALF_TOPIC, 0, offset, 256, 4 * 1024 * 1024);
      if (got.messages.length === 0) {
        if (got.nextBeginOffset <= offset) break;
        offset = got.nextBeginOffset;
        continue;
      }
      for (const bytes of got.messages) {
        scanned++;
        const half = decodeMessageRecord(Buffer.from(bytes), 0, { verifyCrc: false });
        const info = state.info(half.physicalOffset, half.queueOffset);
        if (info.decided !== undefined || this.blocked.has(lockKey(half)) || this.locks.has(lockKey(half))) continue;
        if (now - Math.max(half.storeTimestamp, info.lastCheckMs) < cfg.transactionTimeOut) continue;
        if (info.checks >= cfg.transactionCheckMax) discard.push(half);
        else if (due.length < MAX_CHECKS_PER_CYCLE) due.push(half);
      }
      offset = got.nextBeginOffset;
    }
    for (const half of discard) {
      await this.locked(half, () => this.decide(half, OpKind.DISCARD)).catch((err: unknown) => this.log.warn({ err, half: half.physicalOffset }, 'discarding a half message failed'));
    }
    if (due.length > 0) await this.check(due);
    if (state.advance(MAX_SCAN_PER_CYCLE)) {
      this.ctx.offsets.commitInBackground(TRANSACTION_PROGRESS_GROUP, TRANS_HALF_TOPIC, 0, state.halfProgress);
      this.ctx.offsets.commitInBackground(TRANSACTION_PROGRESS_GROUP, TRANS_OP_HALF_TOPIC, 0, state.opProgress);
    }
  }

  /**
   * How a half message below halfProgress was decided (its op is no longer folded): committed when
   * its message is in its topic, else rolled back or discarded (told apart no further: neither
   * may become a commit).
   */
  private decidedBelowProgress(half: MessageRecord): 'c' | 'r' {
    const real = restoredRecord(half, SysFlag.TRANSACTION_COMMIT, this.ctx.storeHost, 0);
    return real !== undefined && this.committedCopyExists(real) ? 'c' : 'r';
  }

  /** True when a committed message with `real`'s UNIQ_KEY is in its topic already (found through the index). */
  private committedCopyExists(real: MessageRecord): boolean {
    const uniq = getProperty(real.properties, MessageProperty.UNIQ_KEY);
    if (uniq === undefined || uniq === '') return false;
    const found = this.ctx.store.queryByKey(real.topic, uniq, 4, real.bornTimestamp - 60_000, Number.MAX_SAFE_INTEGER);
    return found.messages.some((bytes) => {
      const m = decodeMessageRecord(bytes, 0, { verifyCrc: false });
      return (m.sysFlag & 0xc) === SysFlag.TRANSACTION_COMMIT && getProperty(m.properties, MessageProperty.UNIQ_KEY) === uniq;
    });
  }

  /** Records one check op per half message (one entry), then asks a producer of each group. */
  private async check(halves: MessageRecord[]): Promise<void> {
    const now = this.ctx.nowMs();
    // The ops go first: a check is counted before it is asked, so a failover never loses count.
    await this.ctx.putMessages(halves.map((h) => opRecord({ kind: OpKind.CHECK, halfQueueOffset: h.queueOffset, halfPhysicalOffset: h.physicalOffset }, this.ctx.storeHost, now)));
    this.current();
    for (const half of halves) this.ask(half);
  }

  /** Sends CHECK_TRANSACTION_STATE (one-way) to a live channel of the half message's producer group. */
  private ask(half: MessageRecord): void {
    const group = getProperty(half.properties, MessageProperty.PRODUCER_GROUP) ?? '';
    const channels = this.ctx.consumers.producerChannels(group).filter((c) => !c.channel.closed);
    if (channels.length === 0) {
      this.log.info({ group, half: half.physicalOffset }, 'no live producer of the group to check a half message with; counted as a check');
      return;
    }
    const target = channels[this.nextChannel++ % channels.length]!;
    const req = checkRequestOf(half, this.ctx.config.brokerName);
    if (req !== undefined && target.channel.sendOneway(req)) this.checksSent++;
  }
}

/**
 * The CHECK_TRANSACTION_STATE (39) request asking a producer about `half` (its body the message
 * with its real topic and queue), or undefined when the half message names no real destination.
 * The leader's check service sends it; a follower relays it to gRPC producers attached to it.
 */
export function checkRequestOf(half: MessageRecord, brokerName: string): RemotingCommand | undefined {
  const shown = restoredRecord(half, 0, { host: half.storeHost, port: half.storePort }, half.storeTimestamp);
  if (shown === undefined) return undefined;
  shown.queueOffset = half.queueOffset;
  shown.physicalOffset = half.physicalOffset;
  shown.storeTimestamp = half.storeTimestamp;
  const uniq = getProperty(half.properties, MessageProperty.UNIQ_KEY) ?? '';
  return makeRequest(
    RequestCode.CHECK_TRANSACTION_STATE,
    {
      tranStateTableOffset: String(half.queueOffset),
      commitLogOffset: String(half.physicalOffset),
      msgId: uniq,
      transactionId: getProperty(half.properties, MessageProperty.TRANSACTION_ID) ?? uniq,
      offsetMsgId: '',
      topic: shown.topic,
      brokerName,
    },
    { body: encodeMessageRecord(shown) },
  );
}

function lockKey(half: MessageRecord): string {
  return getProperty(half.properties, MessageProperty.UNIQ_KEY) ?? `@${half.physicalOffset}`;
}

const instances = new WeakMap<BrokerContext, TransactionService>();

/** The one transaction service of a broker (the END_TRANSACTION processor and the service list share it). */
export function transactionServiceOf(ctx: BrokerContext): TransactionService {
  let s = instances.get(ctx);
  if (s === undefined) {
    s = new TransactionService(ctx);
    instances.set(ctx, s);
  }
  return s;
}

export const transactionServiceFactory: BrokerServiceFactory = (ctx) => transactionServiceOf(ctx);
