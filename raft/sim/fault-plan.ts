// The fault plan of one simulated schedule: how many nodes, which flush mode, and how often
// each kind of fault strikes. `planFromSeed` derives one from a seed so `SEED=<n>` replays it;
// fast-check generates (and shrinks) plans directly.
import { Prng } from './prng.js';
import type { FlushMode } from './sim-node.js';

export interface FaultPlan {
  nodes: number;
  flush: FlushMode;
  /** Crashes may be power losses (only what was synced survives). */
  powerLoss: boolean;
  faultTicks: number;
  dropRate: number;
  duplicateRate: number;
  maxDelaySteps: number;
  /** Per tick: chance the partition layout changes. */
  partitionRate: number;
  /** Per tick: chance a running node crashes. */
  crashRate: number;
  /** Per tick: chance the current leader crashes (elections under churn, Figure 8 cases). */
  leaderCrashRate: number;
  /** Per Ready: chance the node crashes after its unpersisted sends, before syncing. */
  midReadyCrashRate: number;
  /** Per step: chance a client proposes. */
  proposalRate: number;
  /** Per tick: chance of a leadership transfer / a read-index request. */
  transferRate: number;
  readRate: number;
  /** Entries each node keeps behind its applied index (0: never delete the head). */
  retainEntries: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxInflightMsgs: number;
  /** Payload bytes per App (8-byte payloads: 8 means one entry per App). */
  maxAppBytes: number;
  /** Per tick: chance of a membership change (add a learner, promote one, remove a member). */
  membershipRate?: number;
  /** Tests only: the core's unsafeTestConcurrentConfigChanges (shows the checker catches it). */
  unsafeConcurrentChanges?: boolean;
}

/** A plan drawn from the seed alone, so `SEED=<n>` replays it. */
export function planFromSeed(seed: number): FaultPlan {
  const r = new Prng(seed ^ 0x5bd1e995);
  const flush: FlushMode = r.chance(0.5) ? 'sync' : 'async';
  const plan: FaultPlan = {
    nodes: r.chance(0.7) ? 3 : 5,
    flush,
    powerLoss: flush === 'sync' && r.chance(0.6),
    faultTicks: r.int(40, 160),
    dropRate: r.pick([0, 0.02, 0.1, 0.3]),
    duplicateRate: r.pick([0, 0.05, 0.2]),
    maxDelaySteps: r.pick([1, 3, 6, 12]),
    partitionRate: r.pick([0, 0.03, 0.1]),
    crashRate: r.pick([0, 0.02, 0.06]),
    leaderCrashRate: r.pick([0, 0.02, 0.05]),
    midReadyCrashRate: r.pick([0, 0.002, 0.01]),
    proposalRate: r.pick([0.05, 0.2, 0.5]),
    transferRate: r.pick([0, 0.02]),
    readRate: r.pick([0, 0.05]),
    retainEntries: r.pick([0, 0, 5, 20]),
    preVote: r.chance(0.85),
    checkQuorum: r.chance(0.85),
    maxInflightMsgs: r.pick([1, 4, 16]),
    maxAppBytes: r.pick([8, 64, 4096]),
  };
  if (r.chance(0.3)) {
    // Churn: leaders die young while few, small entries trickle in; this is where the commit
    // rule of Raft §5.4.2 (Figure 8) and leader completeness get exercised.
    Object.assign(plan, {
      leaderCrashRate: 0.12,
      crashRate: 0.05,
      partitionRate: 0.1,
      proposalRate: 0.1,
      maxAppBytes: 8,
      maxInflightMsgs: r.pick([1, 4]),
      dropRate: 0.1,
      maxDelaySteps: r.pick([3, 6]),
    });
  }
  // Drawn last, so the plans of seeds that predate membership changes keep their other fields.
  plan.membershipRate = r.pick([0, 0.05, 0.15]);
  return plan;
}
