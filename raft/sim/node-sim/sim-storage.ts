// Where the node simulation gets each node's log. The simulation only asks for a LogStorage by
// node id and tells the factory when a node crashes; how the storage models a process kill or
// a power loss is the factory's business. Two factories: MemoryStorage (two images of the log,
// here) and the real MmapLogStorage over a simulated file layer (mmap-sim-storage.ts).
import type { Entry, NodeId } from '../../core/types.js';
import type { RaftNodeClock } from '../../node/node-runtime.js';
import type { LogStorage } from '../../storage/log-storage.js';
import { MemoryStorage } from '../memory-storage.js';
import type { Prng } from '../prng.js';
import type { CrashKind } from '../sim-node.js';

export interface SimStorageFactory {
  /**
   * The node's storage: empty at the first call, reopened from what survived after a crash.
   * `clock` is the new incarnation's: background work of the storage runs on it, so it dies
   * with the process.
   */
  open(node: NodeId, clock: RaftNodeClock): LogStorage;
  /** The node's process died (`process-kill`) or its machine lost power, without a close(). */
  crash(node: NodeId, kind: CrashKind, rng: Prng): void;
  /** Whether (index, term) would survive a process kill of the node now (for the checker). */
  holds?(node: NodeId, index: number, term: number): boolean;
  /** Whether (index, term) would survive a power loss of the node now (for the checker). */
  durablyHolds?(node: NodeId, index: number, term: number): boolean;
  /**
   * Whether the node's log is under recovery after a power loss (it reports mayHaveLostWrites
   * and, under async flush, its node refuses votes until a leader confirmed its log).
   */
  suspect?(node: NodeId): boolean;
}

/**
 * Builds a factory from the plan's storage options (opaque to the simulation), a hook that
 * sees every batch a node writes (for the Log Matching check), and a random source of its own
 * (derived from the seed, so the factory's draws do not shift the schedule's).
 */
export type SimStorageFactoryMaker = (
  storageOptions: Record<string, unknown>,
  onAppend: (node: NodeId, entries: readonly Entry[], prevTerm: number) => void,
  rng: Prng,
) => SimStorageFactory;

/** The in-memory factory: one MemoryStorage per node, kept across crashes. */
export const memoryStorageFactory: SimStorageFactoryMaker = (_options, onAppend) => {
  const logs = new Map<NodeId, MemoryStorage>();
  const log = (node: NodeId): MemoryStorage => {
    let s = logs.get(node);
    if (s === undefined) {
      s = new MemoryStorage({ onAppend: (entries, prevTerm) => onAppend(node, entries, prevTerm) });
      logs.set(node, s);
    }
    return s;
  };
  return {
    open: log,
    crash(node, kind, rng) {
      // Up to three entries past the synced image may have been written back by the OS.
      if (kind === 'power-loss') log(node).powerLoss(rng.int(0, 3));
      else log(node).processKill();
    },
    holds: (node, index, term) => log(node).holds(index, term),
    durablyHolds: (node, index, term) => log(node).durablyHolds(index, term),
  };
};
