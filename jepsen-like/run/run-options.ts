// The knobs of one run and their defaults. The defaults give a meaningful 60 s run: a 3-node
// group, a 4-queue topic, 4 producers at 40 sends/s in total, 2 consumers rotating queues every
// 7 s, and a mix of partitions, kills and pauses switching every 15 s (DLedger's Jepsen tests
// and openmessaging-chaos use 15-30 s cycles).
import type { FlushMode } from './launchers.js';

export interface RunOptions {
  /** `transactions`: every send is a transaction (queue-producers.ts), checked by the transactions checker. */
  workload: 'queue' | 'transactions';
  /** `all`, or a comma-separated list of nemesis names (see NEMESIS_NAMES). */
  nemesis: string;
  timeS: number;
  ratePerSec: number;
  out: string;
  seed: number;
  flush: FlushMode;
  /** Seconds of fault and seconds of health in each cycle of the mix. */
  intervalS: number;
  /**
   * `random`: each cycle's fault drawn with the seed (the mix); `cycle`: every listed nemesis in
   * turn, so a short run covers each kind.
   */
  schedule: 'random' | 'cycle';
  /** Seconds of health before the first fault (default: intervalS). */
  quietS?: number;
  /** Seconds the clients keep going after the final heal, before the drain. */
  recoveryS: number;
  nodes: number;
  /**
   * Raft groups (broker-a, broker-b, ...) of `nodes` nodes each; the topic has `queues` queues in
   * each, and every fault hits one group or all of them (nemesis/group-nemeses.ts).
   */
  groups: number;
  /**
   * Front doors (docs/operations.md): every node is a broker name of its own with a share of its
   * group's queues; the workload's clients reach each door through a proxy of its own.
   */
  frontDoors?: boolean;
  /** Queues of the topic per group. */
  queues: number;
  producers: number;
  consumers: number;
  batch: number;
  clientRetries: number;
  rebalanceS: number;
  sendTimeoutMs: number;
  segmentSizeBytes: number;
  /** Resident memory (MiB) no process may pass while the `abuse` nemesis runs (default 1024). */
  abuseRssBoundMiB?: number;
  /** Test only: RMQ_UNSAFE_TEST_FAULT for every broker (e.g. ack-before-commit). */
  unsafeTestFault?: string;
  /** Extra broker.conf lines for every broker (--broker-conf key=value), e.g. duplicateWindowMs=0. */
  brokerConf?: Record<string, string>;
  logLevel: string;
  /** Whole run, setup to report, must end within this (default: time + 240 s). */
  hardDeadlineS?: number;
  /** Progress lines (the CLI prints them); silent by default. */
  progress?: (line: string) => void;
}

/** The `mix` nemesis set: partitions, kills and pauses (not the link degradations). */
export const DEFAULT_NEMESES = 'partition-random-halves,partition-isolate-leader,partition-majorities-ring,kill-random-node,kill-leader,pause-leader,pause-random';

export const DEFAULT_RUN_OPTIONS: Omit<RunOptions, 'out' | 'seed'> = {
  workload: 'queue',
  nemesis: DEFAULT_NEMESES,
  timeS: 60,
  ratePerSec: 40,
  flush: 'async',
  intervalS: 15,
  schedule: 'random',
  recoveryS: 5,
  nodes: 3,
  groups: 1,
  queues: 4,
  producers: 4,
  consumers: 2,
  batch: 1,
  clientRetries: 0,
  rebalanceS: 7,
  sendTimeoutMs: 3000,
  segmentSizeBytes: 1024 * 1024,
  logLevel: 'info',
};

export const SETUP_TIMEOUT_MS = 60_000;
export const HEAL_TIMEOUT_MS = 60_000;
export const DRAIN_TIMEOUT_MS = 90_000;
