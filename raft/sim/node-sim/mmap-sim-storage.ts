// The node simulation's storage factory that runs the production log: the real MmapLogStorage
// over one in-memory SimFileLayer per node (its "machine"), with small segments so data and index
// files roll over within a run. No real disk is touched, and a seed replays exactly.
//   - process kill: the storage object is dropped without close(); the layer keeps every written
//     byte (the page cache), and the log is reopened from it, in the same boot;
//   - power loss: the layer's powerLoss(rng) drops what was not synced (tearing unsynced sectors),
//     and the log is reopened with a NEW boot id, so its run marker reports mayHaveLostWrites and
//     a node under async flush starts recovering (docs/raft.md);
//   - background syncs (fdatasync in the thread pool) take 1..15 ms of simulated time on the
//     incarnation's clock: a crash in between cancels them (their callbacks never run), and a
//     power loss drops what they had not made durable yet.
// The log is reopened right at the crash (nothing touches a stopped node's files until it
// restarts), so `holds` answers for what its next start will see. `durablyHolds` takes the
// storage's word (durableIndex; recovery syncs what it keeps): a storage that claimed more than
// it made durable shows up as entries lost after a power loss, which the final checks catch.
import type { Entry, NodeId } from '../../core/types.js';
import type { RaftNodeClock } from '../../node/node-runtime.js';
import { MmapLogStorage, type MmapLogStorageOptions } from '../../storage/mmap-log-storage.js';
import { SimFileLayer } from '../../storage/sim-file-layer.js';
import type { Prng } from '../prng.js';
import type { SimStorageFactory, SimStorageFactoryMaker } from './sim-storage.js';

/** Small files, so a run of a few thousand 56-byte entries rolls over several of each. */
export const SIM_SEGMENT_BYTES = 32 * 1024;
export const SIM_INDEX_SEGMENT_ENTRIES = 256;
const LOG_DIR = '/raft/log';
/** A background fdatasync takes 1..this many simulated ms: some outlast the 10 ms period, so a crash can overtake them. */
const SYNC_LATENCY_MS_MAX = 15;

interface Machine {
  layer: SimFileLayer;
  bootId: string;
  boots: number;
  /** The open log: the running process's, or the one reopened after a crash. */
  log: MmapLogStorage | undefined;
  /** The running incarnation's clock (background syncs run on it), undefined while down. */
  clock: RaftNodeClock | undefined;
}

export const mmapStorageFactory: SimStorageFactoryMaker = (storageOptions, onAppend, rng) => {
  const machines = new Map<NodeId, Machine>();

  const reopen = (node: NodeId, m: Machine): MmapLogStorage => {
    const options: MmapLogStorageOptions = {
      segmentBytes: SIM_SEGMENT_BYTES,
      indexSegmentEntries: SIM_INDEX_SEGMENT_ENTRIES,
      // The commit-only hard-state write is due by wall-clock time (Date.now): with 0 it is due
      // at every flush, which keeps a run deterministic and writes the commit as often as it can.
      commitPersistIntervalMs: 0,
      ...(storageOptions as MmapLogStorageOptions),
      fileLayer: m.layer,
      bootId: m.bootId,
    };
    const log = MmapLogStorage.open(LOG_DIR, options);
    const append = log.append.bind(log);
    // Every batch written, for the Log Matching check (after the write, as the memory log does).
    log.append = (entries: readonly Entry[]): void => {
      if (entries.length === 0) return append(entries);
      const prevTerm = log.term(entries[0]!.index - 1)!;
      append(entries);
      onAppend(node, entries, prevTerm);
    };
    m.log = log;
    return log;
  };

  const machine = (node: NodeId): Machine => {
    let m = machines.get(node);
    if (m === undefined) {
      const created: Machine = { layer: undefined!, bootId: `${node}-boot-1`, boots: 1, log: undefined, clock: undefined };
      created.layer = new SimFileLayer({ defer: (fn) => deferOn(created, fn, rng) });
      m = created;
      machines.set(node, m);
    }
    return m;
  };

  const logOf = (node: NodeId): MmapLogStorage | undefined => machines.get(node)?.log;
  const holds = (node: NodeId, index: number, term: number): boolean => {
    const log = logOf(node);
    if (log === undefined) return false;
    return index <= log.logStart().index || log.term(index) === term;
  };

  const factory: SimStorageFactory = {
    open(node, clock) {
      const m = machine(node);
      m.clock = clock;
      return m.log ?? reopen(node, m);
    },
    crash(node, kind, crashRng: Prng) {
      const m = machine(node);
      m.clock = undefined;
      m.log = undefined;
      if (kind === 'power-loss') {
        m.layer.powerLoss(() => crashRng.next());
        m.boots++;
        m.bootId = `${node}-boot-${m.boots}`;
      }
      reopen(node, m);
    },
    holds,
    durablyHolds: (node, index, term) => {
      const log = logOf(node);
      if (log === undefined) return false;
      return index <= log.logStart().index || (index <= log.durableIndex() && log.term(index) === term);
    },
    suspect: (node) => logOf(node)?.mayHaveLostWrites() ?? false,
  };
  return factory;
};

/** A background sync of the running process, on its clock; none runs while the node is down. */
function deferOn(m: Machine, fn: () => void, rng: Prng): void {
  const clock = m.clock;
  if (clock === undefined) {
    // Only a reopen runs while the node is down, and it syncs in the foreground.
    queueMicrotask(fn);
    return;
  }
  clock.setTimeout(fn, rng.int(1, SYNC_LATENCY_MS_MAX));
}
