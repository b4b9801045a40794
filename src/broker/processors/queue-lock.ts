// LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42), the orderly consumer's queue locks, served by the
// ready leader from its QueueLockTable (queue-locks.ts: not replicated, re-established by a new
// leader after one expiry period). A follower relays to the leader. A lock request is answered
// only after a Raft ReadIndex round confirmed this node still leads, so no deposed leader grants
// after its successor's election. Request body (JSON): {consumerGroup, clientId, mqSet:
// [{topic, brokerName, queueId}]}; the lock answer's body is {lockOKMQSet: [...]}, the queues the
// client now holds (absent ones are held by another client, or this leader is still pausing).
// The table lives in a BrokerService, started with the broker, that follows the Raft role.

import { checkClientId, checkGroupName } from '../../common/names.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { decodeJsonBody, encodeJsonBody } from '../../protocol/route-data.js';
import { performance } from 'node:perf_hooks';
import type { BrokerContext, BrokerProcessor, BrokerService, BrokerServiceFactory } from '../broker-context.js';
import { FORWARD_HOPS_FIELD } from '../leader-forwarder.js';
import { QueueLockTable, type LockedQueue } from '../queue-locks.js';

/** Queues per request; a client asks for its share of one broker's queues. */
const MAX_QUEUES_PER_REQUEST = 10_000;
const SWEEP_INTERVAL_MS = 10_000;

const tables = new WeakMap<BrokerContext, QueueLockTable>();

/** The lock table service: one table per broker, following its role. */
export const queueLockServiceFactory: BrokerServiceFactory = (ctx): BrokerService => {
  const table = new QueueLockTable(ctx.config.rebalanceLockMaxLiveTime, () => performance.now());
  tables.set(ctx, table);
  let off: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'queue-locks',
    start() {
      table.onRole(ctx.raft.role());
      off = ctx.raft.onRoleChange((s) => table.onRole(s));
      timer = setInterval(() => table.sweep(), SWEEP_INTERVAL_MS);
      timer.unref();
    },
    stop() {
      off?.();
      if (timer !== undefined) clearInterval(timer);
    },
  };
};

interface LockBody {
  group: string;
  clientId: string;
  queues: LockedQueue[];
}

function readBody(req: RemotingCommand): LockBody | string {
  const raw = decodeJsonBody<Record<string, unknown>>(req.body, 'lock request');
  if (typeof raw !== 'object' || raw === null) return 'the body must be a JSON object {consumerGroup, clientId, mqSet}';
  const group = raw['consumerGroup'];
  const clientId = raw['clientId'];
  const set = raw['mqSet'];
  if (typeof group !== 'string' || typeof clientId !== 'string' || !Array.isArray(set)) return 'the body needs consumerGroup, clientId and mqSet';
  checkGroupName(group);
  checkClientId(clientId);
  if (set.length > MAX_QUEUES_PER_REQUEST) return `mqSet lists ${set.length} queues; at most ${MAX_QUEUES_PER_REQUEST} per request`;
  const queues: LockedQueue[] = [];
  for (const q of set as Record<string, unknown>[]) {
    if (typeof q?.['topic'] !== 'string' || typeof q['brokerName'] !== 'string' || !Number.isInteger(q['queueId'])) return 'every mqSet item needs topic, brokerName and an integer queueId';
    queues.push({ topic: q['topic'], brokerName: q['brokerName'], queueId: q['queueId'] as number });
  }
  return { group, clientId, queues };
}

async function handleLock(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const body = readBody(req);
  if (typeof body === 'string') return makeResponse(req, ResponseCode.SYSTEM_ERROR, body);
  if (!ctx.raft.isLeader()) {
    if (req.extFields[FORWARD_HOPS_FIELD] === undefined) return ctx.forwardToLeader(req);
    return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'this node is not the ready Raft leader; queue locks are held by the leader, retry');
  }
  const table = tables.get(ctx);
  if (table === undefined) return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'queue locks are not started on this broker yet; retry');
  if (req.code === RequestCode.UNLOCK_BATCH_MQ) {
    table.unlock(body.group, body.clientId, body.queues);
    return makeResponse(req, ResponseCode.SUCCESS);
  }
  // Granting needs this node to lead now, not only to believe it does.
  if (!(await ctx.offsets.catchUp()) || !ctx.raft.isLeader()) {
    return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'could not confirm Raft leadership for a queue lock (an election is under way); retry');
  }
  const locked = table.tryLock(body.group, body.clientId, body.queues);
  const pause = table.pauseLeftMs();
  const remark = pause > 0 && locked.length < body.queues.length ? `a new leader grants no queue lock for ${Math.ceil(pause / 1000)} s more (the expiry period of locks it cannot know)` : undefined;
  return makeResponse(req, ResponseCode.SUCCESS, remark, {}, encodeJsonBody({ lockOKMQSet: locked }));
}

export const queueLockProcessor: BrokerProcessor = {
  name: 'queue-lock',
  codes: [RequestCode.LOCK_BATCH_MQ, RequestCode.UNLOCK_BATCH_MQ],
  handle: handleLock,
};
