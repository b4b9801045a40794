// Our own admin codes (docs/broker.md): RAFT_TRANSFER_LEADER (1500), RAFT_STATUS (1501),
// RAFT_REPLICA_DIGEST (1502, for the jepsen-like divergence checker) and RAFT_CHANGE_MEMBERS
// (1503). Answered by any node; a transfer and a membership change must reach the leader.

import { headerOptInt, headerOptString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RaftRequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { encodeJsonBody } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import type { DigestRange } from '../replica-digest.js';
import type { MembershipChange } from '../../../raft/index.js';

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
    case RaftAdminCode.RAFT_CHANGE_MEMBERS:
      return changeMembers(ctx, req);
    default:
      return makeResponse(req, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, `request type ${req.code} not supported`);
  }
}

const CHANGE_KINDS = ['add-learner', 'promote', 'remove'] as const;

/** Headers `kind` (add-learner, promote, remove), `nodeId`, and for add-learner `address` (host:port). */
async function changeMembers(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  if (ctx.raft.role().role !== 'leader') return ctx.forwardToLeader(req);
  const kind = headerOptString(req.extFields, 'kind');
  const node = headerOptString(req.extFields, 'nodeId');
  const address = headerOptString(req.extFields, 'address');
  if (!CHANGE_KINDS.includes(kind as (typeof CHANGE_KINDS)[number])) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `kind must be one of ${CHANGE_KINDS.join(', ')}`);
  if (node === undefined || !/^[A-Za-z0-9_]+$/.test(node)) return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'nodeId must be a dLegerSelfId (letters, digits, _)');
  if (kind === 'add-learner' && (address === undefined || !/^[^\s:]+:\d{1,5}$/.test(address))) {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, "add-learner needs the new node's Raft address as host:port");
  }
  const change: MembershipChange = kind === 'add-learner' ? { kind, node, address: address! } : { kind: kind as 'promote' | 'remove', node };
  try {
    const r = await ctx.admin.changeMembership(change);
    const m = ctx.admin.status();
    return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ index: r.index, term: r.term, voters: m['voters'], learners: m['learners'] }));
  } catch (err) {
    const e = err as { code?: string; reason?: string; message: string };
    const hint = e.reason === 'change-in-progress' ? '; retry once the previous change is in force' : e.reason === 'learner-behind' ? '; wait for the learner to catch up, then retry' : '';
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `${e.code ?? 'ERR'}: ${e.message}${hint}`);
  }
}

export const raftAdminProcessor: BrokerProcessor = {
  name: 'raft-admin',
  codes: [RaftAdminCode.RAFT_TRANSFER_LEADER, RaftAdminCode.RAFT_STATUS, RaftAdminCode.RAFT_REPLICA_DIGEST, RaftAdminCode.RAFT_CHANGE_MEMBERS],
  handle,
};
