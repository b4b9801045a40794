// Where the node simulation gets each node's log. The simulation only asks for a LogStorage by
// node id and tells the factory when a node crashes; how the storage models a process kill or
// a power loss is the factory's business. Today: MemoryStorage (two images of the log). A
// simulated file layer under the real MmapLogStorage can plug in through the same interface.
import type { Entry, NodeId } from '../../core/types.js';
import type { LogStorage } from '../../storage/log-storage.js';
import { MemoryStorage } from '../memory-storage.js';
import type { Prng } from '../prng.js';
import type { CrashKind } from '../sim-node.js';

export interface SimStorageFactory {
  /** The node's storage: empty at the first call, reopened from what survived after a crash. */
  open(node: NodeId): LogStorage;
  /** The node's process died (`process-kill`) or its machine lost power, without a close(). */
  crash(node: NodeId, kind: CrashKind, rng: Prng): void;
  /** Whether (index, term) would survive a process kill of the node now (for the checker). */
  holds?(node: NodeId, index: number, term: number): boolean;
  /** Whether (index, term) would survive a power loss of the node now (for the checker). */
  durablyHolds?(node: NodeId, index: number, term: number): boolean;
}

/**
 * Builds a factory from the plan's storage options (opaque to the simulation) and a hook that
 * sees every batch a node writes (for the Log Matching check).
 */
export type SimStorageFactoryMaker = (
  storageOptions: Record<string, unknown>,
  onAppend: (node: NodeId, entries: readonly Entry[], prevTerm: number) => void,
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
