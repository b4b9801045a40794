// Options of MmapLogStorage, their defaults, and their validation (a bad value is a
// programmer or configuration error, reported with a RangeError naming the option).

import type { Logger } from 'pino';
import { INDEX_RECORD_BYTES } from './entry-codec.js';
import type { FileLayer } from './file-layer.js';
import { MAX_MAPPED_FILE_BYTES } from './mapped-file.js';
import { realFileLayer } from './real-file-layer.js';

export interface MmapLogStorageOptions {
  /** Size of one data segment; every replica of a group must use the same. Default 1 GiB. */
  segmentBytes?: number;
  /** Records per index file (32 bytes each). Default 4 Mi (a 128 MiB file). */
  indexSegmentEntries?: number;
  /** Data segments at the tail that recovery verifies entry by entry. Default 2. */
  recoveryScanSegments?: number;
  /** Recovery zeroes garbage after the tail until this many consecutive zero bytes. Default 16 MiB. */
  recoveryZeroRunBytes?: number;
  /** Check each entry's payload CRC when it is read (the header is always cross-checked). Default true. */
  verifyReads?: boolean;
  /** Minimum interval between writes of a commit-only hard-state change by `sync()`. Default 1000. */
  commitPersistIntervalMs?: number;
  /**
   * TEST ONLY. Writes the hard state's commit index without clamping it to the durable log
   * index (the behaviour before the fix), so a simulation can show what that loses. Default false.
   */
  unsafeTestCommitAheadOfDurable?: boolean;
  /**
   * The boot id recorded in the `running` marker (run-marker.ts). Default: $RAFT_BOOT_ID, else
   * the kernel's. Tests give another value on reopen to simulate a power loss or OS crash.
   */
  bootId?: string;
  /**
   * Where the files live: the real disk by default; an in-memory SimFileLayer in the simulator,
   * or the test-only lazy layer (lazy-fs.ts) that can be reverted to what was synced.
   */
  fileLayer?: FileLayer;
  logger?: Logger;
}

const DEFAULT_SEGMENT_BYTES = 1024 * 1024 * 1024;
const DEFAULT_INDEX_SEGMENT_ENTRIES = 4 * 1024 * 1024;

export type ResolvedOptions = Required<Omit<MmapLogStorageOptions, 'logger' | 'bootId'>>;

export function resolveOptions(options: MmapLogStorageOptions): ResolvedOptions {
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isInteger(segmentBytes) || segmentBytes < 4096 || segmentBytes % 4096 !== 0 || segmentBytes > MAX_MAPPED_FILE_BYTES) {
    throw new RangeError(`segmentBytes ${segmentBytes} must be a multiple of 4096 in 4096..${MAX_MAPPED_FILE_BYTES}`);
  }
  const indexSegmentEntries = options.indexSegmentEntries ?? DEFAULT_INDEX_SEGMENT_ENTRIES;
  if (!Number.isInteger(indexSegmentEntries) || indexSegmentEntries < 128 || indexSegmentEntries * INDEX_RECORD_BYTES > MAX_MAPPED_FILE_BYTES) {
    throw new RangeError(`indexSegmentEntries ${indexSegmentEntries} must be an integer of at least 128 whose file stays mappable`);
  }
  const recoveryScanSegments = options.recoveryScanSegments ?? 2;
  if (!Number.isInteger(recoveryScanSegments) || recoveryScanSegments < 1) throw new RangeError(`recoveryScanSegments ${recoveryScanSegments} must be >= 1`);
  const recoveryZeroRunBytes = options.recoveryZeroRunBytes ?? 16 * 1024 * 1024;
  if (!Number.isInteger(recoveryZeroRunBytes) || recoveryZeroRunBytes < 4096) throw new RangeError(`recoveryZeroRunBytes ${recoveryZeroRunBytes} must be >= 4096`);
  const commitPersistIntervalMs = options.commitPersistIntervalMs ?? 1000;
  if (!(commitPersistIntervalMs >= 0)) throw new RangeError(`commitPersistIntervalMs ${commitPersistIntervalMs} must be >= 0`);
  return {
    segmentBytes,
    indexSegmentEntries,
    recoveryScanSegments,
    recoveryZeroRunBytes,
    verifyReads: options.verifyReads ?? true,
    commitPersistIntervalMs,
    unsafeTestCommitAheadOfDurable: options.unsafeTestCommitAheadOfDurable ?? false,
    fileLayer: options.fileLayer ?? realFileLayer,
  };
}
