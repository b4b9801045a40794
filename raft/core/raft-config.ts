// The Raft core's configuration and the shapes of its answers (propose, step, status). Kept apart
// from raft.ts so drivers and tests can name these types without reading the state machine.
import type { Membership } from './membership.js';
import type { HardState, LogReader, NodeId, Role } from './types.js';

export interface RaftConfig {
  id: NodeId;
  /**
   * The bootstrap voters (`dLegerPeers`): used only while no configuration was persisted. A node
   * joining a running group may be absent from them; it learns its role from the log.
   */
  peers: readonly NodeId[];
  /** The committed configuration as last persisted (Ready.membership); wins over `peers`. */
  membership?: Membership;
  /** A learner is promoted only when at most this many entries behind the leader. Default 1000. */
  maxPromoteLagEntries?: number;
  /**
   * Tests only, default false: lets a leader append a change before its term's first commit and
   * while another is in flight, so the simulation can show that its checker catches the result.
   */
  unsafeTestConcurrentConfigChanges?: boolean;
  /** The log as appended so far by the driver (see the Ready contract in messages.ts). */
  log: LogReader;
  /** As recovered. */
  hardState: HardState;
  /** Last index the application applied; commits <= applied are not reported again. */
  applied: number;
  /** Election timeout, randomized in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  heartbeatTicks: number;
  /** Injected seeded source in [0, 1). */
  random: () => number;
  /** Per-follower window of outstanding App messages. */
  maxInflightMsgs: number;
  /** Per-follower window in payload bytes. */
  maxInflightBytes: number;
  /** Payload bytes per App message (at least one entry is always sent). */
  maxAppBytes: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Index up to which the recovered log is durable; defaults to `log.lastIndex()`. */
  persisted?: number;
  /**
   * The log may have lost acknowledged entries or hold a stale tail (a restart after a power
   * loss under async flush): start in the recovering state of recovery-guard.ts. Default false.
   */
  recovering?: boolean;
}

export type ProposeResult =
  | { ok: true; firstIndex: number; lastIndex: number; term: number }
  | { ok: false; code: 'not-leader'; leaderHint: NodeId | '' }
  | { ok: false; code: 'transferring'; leaderHint: NodeId | '' };

export type MembershipProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; code: 'not-leader' | 'transferring' | 'change-in-progress' | 'invalid-change' | 'learner-behind'; leaderHint: NodeId | ''; detail: string };

export const DEFAULT_MAX_PROMOTE_LAG_ENTRIES = 1000;

/** Why `step` refused a message; `stale-term` is normal traffic, the others are worth a log line. */
export type StepError = { code: 'unknown-peer' | 'stale-term' | 'malformed'; detail: string };

export interface RaftStatus {
  id: NodeId;
  role: Role;
  term: number;
  leader: NodeId | '';
  vote: NodeId | '';
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  /** Recovering after a power loss: neither votes nor campaigns nor applies yet (recovery-guard.ts). */
  recovering: boolean;
  /** The committed configuration and the index of the Config entry that made it (0: bootstrap). */
  voters: readonly NodeId[];
  learners: readonly NodeId[];
  membershipIndex: number;
  /** Leader only, else {}. */
  progress: Record<NodeId, { match: number; next: number; state: 'probe' | 'replicate' | 'reset'; inflight: number; /** Heard from within the current check-quorum window (the leader itself: always). */ active: boolean }>;
  /** Elections this node started (real votes, transfers included) since it was created; for metrics. */
  electionsStarted: number;
  /** Pre-candidacies that ended without a real election (refused, timed out, or a leader heard); for metrics. */
  preVotesLost: number;
}
