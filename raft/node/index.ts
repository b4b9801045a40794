// Public surface of the Raft node runner: what a broker needs to run one replica.
export {
  BusyError, NodeClosedError, NotLeaderError, ProposalDroppedError, ProposalTimeoutError, RaftNodeError, type RaftNodeErrorCode,
  RecoveryBlockedError, StorageFailedError,
} from './errors.js';
export { formatPeers, parsePeers } from './parse-peers.js';
export { RaftNode, type RaftNodeOptions, type RaftNodeStatus, type RoleChange } from './raft-node.js';
