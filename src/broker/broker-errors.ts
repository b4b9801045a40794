// Typed operating errors of the broker. Each carries a stable `code` and the RocketMQ response
// code the remoting server answers with (RemotingServer turns a thrown RmqError into that code
// and its message), so a processor can simply throw. Raft errors map as DLedger's do in
// RocketMQ: not leader → 14, busy → 2, an unknown outcome → 14 with a remark saying so.

import { RmqError } from '../common/errors.js';
import { ResponseCode } from '../protocol/response-code.js';

export type BrokerErrorCode =
  | 'ERR_BROKER_NOT_LEADER'
  | 'ERR_BROKER_NO_LEADER'
  | 'ERR_BROKER_NO_QUORUM'
  | 'ERR_BROKER_OUTCOME_UNKNOWN'
  | 'ERR_BROKER_NOT_COMMITTED'
  | 'ERR_BROKER_BUSY'
  | 'ERR_BROKER_FORWARD_FAILED'
  | 'ERR_BROKER_FORWARD_NOT_SENT'
  | 'ERR_BROKER_TOPIC_NOT_EXIST'
  | 'ERR_BROKER_TOPIC_FORBIDDEN'
  | 'ERR_BROKER_MESSAGE_ILLEGAL'
  | 'ERR_BROKER_BAD_QUEUE'
  | 'ERR_BROKER_DISPATCH_FAILED'
  | 'ERR_BROKER_CLOSED'
  | 'ERR_BROKER_DISK_FULL'
  | 'ERR_BROKER_LIMIT_REACHED'
  | 'ERR_BROKER_CONTROL_ENTRY_TOO_LARGE'
  | 'ERR_BROKER_HALF_NOT_FOUND'
  | 'ERR_BROKER_TRANSACTION_DECIDED'
  | 'ERR_BROKER_TRANSACTION_PENDING';

export class BrokerError extends RmqError {
  declare readonly code: BrokerErrorCode;
  constructor(code: BrokerErrorCode, responseCode: number, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { responseCode, ...options });
  }
}

export function notLeader(detail = ''): BrokerError {
  return new BrokerError('ERR_BROKER_NOT_LEADER', ResponseCode.SERVICE_NOT_AVAILABLE, `this broker is not the Raft leader${detail ? ` (${detail})` : ''}; retry (the route moves to the new leader within a second)`);
}

/** This node hears neither its leader nor a majority of its group: no write can commit now. */
export function noQuorum(nodeId: string): BrokerError {
  return new BrokerError('ERR_BROKER_NO_QUORUM', ResponseCode.SERVICE_NOT_AVAILABLE, `not stored: Raft node ${nodeId} hears neither a leader nor a majority of its group (the group has no quorum); retry on another broker`);
}

export function noLeader(): BrokerError {
  return new BrokerError('ERR_BROKER_NO_LEADER', ResponseCode.SERVICE_NOT_AVAILABLE, 'no Raft leader yet, retry');
}

/** Maps an error thrown by RaftNode (by its stable code) to a BrokerError; others pass through. */
export function fromRaftError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ERR_RAFT_NOT_LEADER':
    case 'ERR_RAFT_LEADER_TRANSFERRING':
      return new BrokerError('ERR_BROKER_NOT_LEADER', ResponseCode.SERVICE_NOT_AVAILABLE, `not stored: ${message}; retry`, { cause: err });
    case 'ERR_RAFT_PROPOSAL_DROPPED':
      return new BrokerError('ERR_BROKER_NOT_COMMITTED', ResponseCode.SERVICE_NOT_AVAILABLE, `not stored: ${message}; retry`, { cause: err });
    case 'ERR_RAFT_PROPOSAL_TIMEOUT':
    // A caller that shares a batch answers per entry (entryOutcome); one that does not cannot
    // say what a partly committed batch means for it, and must not say "not stored".
    case 'ERR_RAFT_PROPOSAL_PARTLY_COMMITTED':
    case 'ERR_RAFT_PROPOSAL_OUTCOME_UNKNOWN':
    // The log failed under the proposal: it may still have committed on the other replicas.
    case 'ERR_RAFT_STORAGE_FAILED':
      return new BrokerError('ERR_BROKER_OUTCOME_UNKNOWN', ResponseCode.SERVICE_NOT_AVAILABLE, `outcome unknown: ${message}; a retry may store the message twice`, { cause: err });
    case 'ERR_RAFT_PROPOSAL_TOO_LARGE':
      return new BrokerError('ERR_BROKER_MESSAGE_ILLEGAL', ResponseCode.MESSAGE_ILLEGAL, `not stored: ${message} (mappedFileSizeCommitLog); send smaller messages or batches`, { cause: err });
    case 'ERR_RAFT_BUSY':
      return new BrokerError('ERR_BROKER_BUSY', ResponseCode.SYSTEM_BUSY, `broker busy: ${message}`, { cause: err });
    case 'ERR_RAFT_NODE_CLOSED':
      return new BrokerError('ERR_BROKER_CLOSED', ResponseCode.SERVICE_NOT_AVAILABLE, 'the broker is shutting down; retry on another node', { cause: err });
    default:
      return err;
  }
}
