// The fault plan of one node-simulation schedule. `nodePlanFromSeed` derives one from a seed so
// `SEED=<n> npm run sim:node` replays it; `PLAN='<json>'` replays an edited one. The plan also
// carries extra RaftNode options and storage options through to every node it starts (test
// switches such as a legacy behaviour to show the checker catches it).
import type { FlushMode } from '../sim-node.js';
import { Prng } from '../prng.js';

export type SimStorageKind = 'memory' | 'mmap';

export interface NodeSimPlan {
  flush: FlushMode;
  /** Crashes may be power losses. Under async flush only ones that cannot destroy a majority copy. */
  powerLoss: boolean;
  /** Length of the fault phase, in 10 ms periods. */
  faultPeriods: number;
  dropRate: number;
  duplicateRate: number;
  maxDelayMs: number;
  /** Per period: chance the partition layout changes (healed, split, one-way cut). */
  partitionRate: number;
  /** Per period: chance the leader is cut off from the others while it keeps running. */
  isolateLeaderRate: number;
  /** Per period: chance a running node crashes; the same for the leader in particular. */
  crashRate: number;
  leaderCrashRate: number;
  /** Per period: chance every running node loses power at once (sync flush only). */
  blackoutRate: number;
  /** Per period: chance each crashed node restarts. */
  restartRate: number;
  /** Per period: chance a client proposes a batch of 1..maxBatch entries. */
  proposalRate: number;
  maxBatch: number;
  /** Payload bytes per App (8-byte payloads): small values split batches across messages. */
  maxAppBytes: number;
  maxInflightMsgs: number;
  asyncFlushIntervalMs: number;
  /** Per period: chance the leader is asked to hand leadership over; chance of a read-index request. */
  transferRate: number;
  readRate: number;
  /** Extra RaftNode options for every node (after the simulation's own). */
  nodeOptions?: Record<string, unknown>;
  /** Each node's log: the real MmapLogStorage over simulated files (default), or MemoryStorage. */
  storage?: SimStorageKind;
  /** Options for the storage factory (opaque to the simulation; MmapLogStorage options for mmap). */
  storageOptions?: Record<string, unknown>;
}

/** A plan drawn from the seed alone; `flush` forces a flush mode. */
export function nodePlanFromSeed(seed: number, flush?: FlushMode): NodeSimPlan {
  const r = new Prng(seed ^ 0x2c1b3c6d);
  const drawn: FlushMode = r.chance(0.5) ? 'sync' : 'async';
  const plan: NodeSimPlan = {
    flush: flush ?? drawn,
    powerLoss: r.chance(0.6),
    faultPeriods: r.int(80, 200),
    dropRate: r.pick([0, 0.02, 0.1]),
    duplicateRate: r.pick([0, 0.05, 0.2]),
    maxDelayMs: r.pick([1, 3, 8, 20]),
    partitionRate: r.pick([0, 0.01, 0.03]),
    isolateLeaderRate: r.pick([0, 0.005, 0.02]),
    crashRate: r.pick([0, 0.003, 0.01]),
    leaderCrashRate: r.pick([0, 0.003, 0.01]),
    restartRate: r.pick([0.02, 0.1]),
    blackoutRate: 0,
    proposalRate: r.pick([0.1, 0.3, 0.8]),
    maxBatch: 8,
    maxAppBytes: r.pick([8, 24, 4096]),
    maxInflightMsgs: r.pick([1, 4, 64]),
    asyncFlushIntervalMs: r.pick([20, 50, 200]),
    transferRate: r.pick([0, 0.01]),
    readRate: r.pick([0, 0.05]),
  };
  if (r.chance(0.35)) {
    // Leader churn while batches are in flight, each split over several small Apps: a new
    // leader often holds only a prefix of the old leader's last batch, which is where a batch's
    // outcome is easy to misjudge.
    Object.assign(plan, {
      isolateLeaderRate: 0.03,
      partitionRate: 0.03,
      leaderCrashRate: 0.005,
      proposalRate: 0.8,
      maxAppBytes: r.pick([8, 16, 24]),
      maxInflightMsgs: r.pick([1, 2]),
      maxDelayMs: r.pick([3, 8]),
    });
  }
  if (plan.flush === 'async' && r.chance(0.5)) {
    // Power losses between slow flushes: a restarted node must not apply what it only had
    // before a new leader replaced it (a commit index that ran ahead of the durable log).
    Object.assign(plan, { powerLoss: true, crashRate: 0.02, restartRate: 0.1, asyncFlushIntervalMs: 200, isolateLeaderRate: 0.03, proposalRate: 0.8 });
  }
  // Drawn last so the plans above stay what they were when the seeds in docs/testing.md were noted.
  if (plan.flush === 'sync' && plan.powerLoss) plan.blackoutRate = r.pick([0, 0.002, 0.005]);
  return plan;
}
