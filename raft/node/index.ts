// Public surface of the Raft node runner: what a broker needs to run one replica.
export {
  BusyError, MembershipChangeError, NodeClosedError, NotLeaderError, ProposalDroppedError, ProposalOutcomeError, ProposalOutcomeUnknownError, ProposalPartlyCommittedError,
  ProposalTimeoutError, ProposalTooLargeError, RaftNodeError, TermTooLargeError, entryOutcome, type RaftNodeErrorCode,
  RecoveryBlockedError, StorageFailedError,
} from './errors.js';
export type { BatchOutcome } from './batch-outcome.js';
export { formatPeers, parsePeers } from './parse-peers.js';
export { systemClock, type RaftNodeClock, type RaftTransport, type RaftTransportFactory } from './node-runtime.js';
export { RaftNode, type RaftNodeObserver, type RaftNodeOptions, type RaftNodeStatus, type RoleChange } from './raft-node.js';
export { membershipAtStart } from './node-membership.js';
