// The options and small shapes of RaftNode, kept apart from the runner itself (raft-node.ts).
import type { Logger } from 'pino';
import type { RaftStatus } from '../core/raft.js';
import type { Entry, LogStart, NodeId, Role } from '../core/types.js';
import type { FlushPolicy, LogStorage } from '../storage/log-storage.js';
import type { PeerAddress, PeerTls, TransportStats } from '../transport/tcp-transport.js';
import type { RaftNodeClock, RaftTransportFactory } from './node-runtime.js';
import type { PendingBatch } from './pending-proposals.js';

export interface RaftNodeOptions {
  id: NodeId;
  /** The group name, for logs (DLedger's `dLegerGroup`). */
  group?: string;
  /**
   * The bootstrap voters with their addresses (`dLegerPeers`, see parsePeers). Once a
   * configuration was saved (a membership change committed) it decides who votes; this list is
   * then only where to reach peers.
   */
  peers: readonly PeerAddress[];
  /**
   * This node joins a running group (to be added as a learner): it is not one of the bootstrap
   * voters, `peers` lists the members it can reach plus itself. Default false.
   */
  joining?: boolean;
  /** Entries a learner may lag behind the leader's last index and still be promoted (default 1000). */
  maxPromoteLagEntries?: number;
  /** The durable log; the node syncs and closes it on close(). */
  storage: LogStorage;
  flush?: FlushPolicy;
  /** Index the application already applied (its own checkpoint); 0 replays the whole log. */
  applied?: number;
  /** Committed entries in index order. Payloads may be views of mapped memory: copy to keep. */
  onApply: (entries: Entry[]) => void;
  /** The log was discarded and restarts after `start` (this follower fell behind the leader's head). */
  onReset?: (start: LogStart) => void;
  /**
   * Called at the start of every turn, before the proposals gathered since the last turn go to
   * the core: the place for an application that coalesces its own writes (see `requestTurn`) to
   * propose them, so they join this turn's Ready.
   */
  onTurn?: () => void;
  logger?: Logger;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  maxAppBytes?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  /** Pending proposed entries (appended, not committed) past which propose fails with ERR_RAFT_BUSY. */
  maxPendingEntries?: number;
  proposalTimeoutMs?: number;
  readIndexTimeoutMs?: number;
  random?: () => number;
  /** Bytes past the log's end to keep pre-faulted when the storage supports it (0 = off). */
  warmAheadBytes?: number;
  /** Transport bounds (see TcpTransportOptions). */
  maxQueuedFrames?: number;
  maxQueuedBytes?: number;
  /** The group's shared secrets for peer authentication (see TcpTransportOptions.peerSecrets); none: off. */
  peerSecrets?: readonly string[];
  /** Mutual TLS between the peers (see TcpTransportOptions.tls); none: plain TCP. */
  tls?: PeerTls;
  /**
   * TEST ONLY (default false): restores the former all-or-nothing outcome of a batch proposal
   * (judged by the term at its last index; dropped whole when a new leader's append overlaps
   * it), which reports committed entries as not committed. It exists so the simulator can show
   * that it finds that bug; never set it outside tests.
   */
  unsafeTestLegacyBatchOutcome?: boolean;
  /** Time and timers; the system clock unless a simulation injects its own. */
  clock?: RaftNodeClock;
  /** Builds the transport; a TcpTransport over `peers` unless a simulation injects its own. */
  transport?: RaftTransportFactory;
  /** Told how long log appends and syncs take (an owner exporting metrics); decides nothing. */
  observer?: RaftNodeObserver;
}

/** Latencies of the durable log, for an owner that exports them (metrics). */
export interface RaftNodeObserver {
  /** One append of `entries` entries to the log took `ms` (wall clock). */
  append?(ms: number, entries: number): void;
  /** One sync of the log (in the turn or in the background) took `ms`. */
  sync?(ms: number): void;
}

export interface RoleChange {
  role: Role;
  leader: NodeId | '';
  term: number;
}

export interface RaftNodeStatus extends RaftStatus {
  pendingEntries: number;
  transport: TransportStats;
  /** Times this node saw the group's leader change to another known leader (metrics). */
  leaderChanges: number;
  /** Log resets installed from a leader (this follower had fallen behind its log head). */
  resetsInstalled: number;
}

export interface QueuedBatch {
  count: number;
  deadlineMs: number;
  resolve: PendingBatch['resolve'];
  reject: PendingBatch['reject'];
}

/** A storage may offer to touch the next mapped segment in advance (RocketMQ's warm-up). */
export interface WarmableStorage {
  warmAhead?: (bytes: number) => void;
}

/** A storage may flush in the thread pool (MmapLogStorage does); false means one is running. */
export interface BackgroundSyncStorage {
  syncInBackground?: (done: (err: Error | null) => void) => boolean;
}

