// Our own admin codes (docs/broker.md): RAFT_TRANSFER_LEADER (1500), RAFT_STATUS (1501) and
// RAFT_REPLICA_DIGEST (1502, for the jepsen-like divergence checker). Answered by any node;
// a transfer must reach the leader.

import { headerOptInt, headerOptString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { encodeJsonBody } from '../../protocol/route-data.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

export const RaftAdminCode = {
  RAFT_TRANSFER_LEADER: 1500,
  RAFT_STATUS: 1501,
  RAFT_REPLICA_DIGEST: 1502,
} as const;

async function handle(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const hooks = ctx.admin;
  switch (req.code) {
    case RaftAdminCode.RAFT_STATUS:
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody(hooks.status()));
    case RaftAdminCode.RAFT_REPLICA_DIGEST: {
      const upTo = headerOptInt(req.extFields, 'index', -1);
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody(hooks.digest(upTo < 0 ? undefined : upTo)));
    }
    case RaftAdminCode.RAFT_TRANSFER_LEADER: {
      if (ctx.raft.role().role !== 'leader') return ctx.forwardToLeader(req);
      const previousLeader = ctx.raft.nodeId;
      const target = headerOptString(req.extFields, 'targetNodeId') ?? hooks.mostUpToDateFollower();
      if (target === undefined) return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'no follower to transfer leadership to');
      if (!ctx.raft.peerIds.includes(target)) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `unknown node ${target}; peers are ${ctx.raft.peerIds.join(', ')}`);
      if (target !== previousLeader) {
        try {
          await hooks.transferLeadership(target);
        } catch (err) {
          return makeResponse(req, ResponseCode.SYSTEM_ERROR, `leadership transfer to ${target} failed: ${(err as Error).message}`);
        }
      }
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ previousLeader, newLeader: target, term: ctx.raft.role().term }));
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
