// Our own admin codes (docs/broker.md): RAFT_TRANSFER_LEADER (1500), RAFT_STATUS (1501) and
// RAFT_REPLICA_DIGEST (1502, for the jepsen-like divergence checker). Answered by any node;
// a transfer must reach the leader.

import { headerOptInt, headerOptString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RaftRequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { encodeJsonBody } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import type { DigestRange } from '../replica-digest.js';

/** The codes this processor serves (their one home is src/protocol/request-code.ts). */
export const RaftAdminCode = RaftRequestCode;

/** Bounds the optional range fields; a string is the remark of a refusal. */
const MAX_RANGE_QUEUES = 65_536;

/**
 * The digest's optional start: `fromIndex` (a log index) and `queueFrom` (JSON object
 * "topic@queueId" → queue offset). A bad value is refused, never guessed.
 */
function digestRange(fields: RemotingCommand["extFields"]): DigestRange | string {
  const range: DigestRange = {};
  const fromIndex = headerOptInt(fields, 'fromIndex', -1);
  if (fromIndex >= 0) range.fromIndex = fromIndex;
  const raw = headerOptString(fields, 'queueFrom');
  if (raw === undefined) return range;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return 'queueFrom must be a JSON object of "topic@queueId": offset';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'queueFrom must be a JSON object of "topic@queueId": offset';
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length > MAX_RANGE_QUEUES) return `queueFrom names ${entries.length} queues; at most ${MAX_RANGE_QUEUES}`;
  const out: Record<string, number> = {};
  for (const [key, value] of entries) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return `queueFrom[${key}] must be a non-negative integer offset`;
    out[key] = value;
  }
  range.queueFromOffsets = out;
  return range;
}

async function handle(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const hooks = ctx.admin;
  switch (req.code) {
    case RaftAdminCode.RAFT_STATUS:
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody(hooks.status()));
    case RaftAdminCode.RAFT_REPLICA_DIGEST: {
      const upTo = headerOptInt(req.extFields, 'index', -1);
      const range = digestRange(req.extFields);
      if (typeof range === 'string') return makeResponse(req, ResponseCode.SYSTEM_ERROR, range);
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody(hooks.digest(upTo < 0 ? undefined : upTo, range)));
    }
    case RaftAdminCode.RAFT_TRANSFER_LEADER: {
      if (ctx.raft.role().role !== 'leader') return ctx.forwardToLeader(req);
      const previousLeader = ctx.raft.nodeId;
      const target = headerOptString(req.extFields, 'targetNodeId') ?? hooks.mostUpToDateFollower();
      if (target === undefined) return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'no follower to transfer leadership to');
      if (!ctx.raft.peerIds.includes(target)) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `unknown node ${target}; peers are ${ctx.raft.peerIds.join(', ')}`);
      // How long leadership took to move (this leader's view: until it saw the target lead).
      const startedMs = ctx.nowMs();
      if (target !== previousLeader) {
        try {
          await hooks.transferLeadership(target);
        } catch (err) {
          return makeResponse(req, ResponseCode.SYSTEM_ERROR, `leadership transfer to ${target} failed: ${(err as Error).message}`);
        }
      }
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ previousLeader, newLeader: target, term: ctx.raft.role().term, tookMs: ctx.nowMs() - startedMs }));
    }
    default:
      return makeResponse(req, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, `request type ${req.code} not supported`);
  }
}

export const raftAdminProcessor: BrokerProcessor = {
  name: 'raft-admin',
  codes: [RaftAdminCode.RAFT_TRANSFER_LEADER, RaftAdminCode.RAFT_STATUS, RaftAdminCode.RAFT_REPLICA_DIGEST],
  handle,
};
