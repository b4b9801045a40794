// The steps of opening the mmap Raft log before it can serve: reconcile the `meta` file with the
// configured geometry (and finish a reset a crash cut short), then map the data and index files
// and let recovery (recovery.ts) verify the tail. MmapLogStorage's constructor runs them in order.

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EntryIndex } from './entry-index.js';
import type { FileLayer } from './file-layer.js';
import type { MappedFileList } from './mapped-file-list.js';
import { type RecoveredTail, type RecoveryReport, recoverTail } from './recovery.js';
import { type LogMeta, readMeta, writeMeta } from './state-files.js';
import { LogStorageError } from './storage-errors.js';
import type { ResolvedOptions } from './storage-options.js';

/**
 * The start record the log opens with, after checking `dir` was written with the configured
 * segment size (else ERR_LOG_CONFIG_MISMATCH), dropping an index of another geometry (derived
 * data, rebuilt by recovery), and finishing a reset that a crash interrupted.
 */
export function prepareMeta(layer: FileLayer, dir: string, opts: ResolvedOptions, log: Logger | undefined): LogMeta {
  const meta = readMeta(layer, dir);
  if (meta !== undefined && meta.segmentBytes !== opts.segmentBytes) {
    throw new LogStorageError('ERR_LOG_CONFIG_MISMATCH', `${dir} was written with segments of ${meta.segmentBytes} bytes, not ${opts.segmentBytes}`);
  }
  const indexDir = join(dir, 'index');
  if (meta !== undefined && meta.indexSegmentEntries !== opts.indexSegmentEntries && layer.exists(indexDir)) {
    // The index is derived data: rebuild it with the new geometry rather than refuse to start.
    for (const name of layer.readdir(indexDir)) layer.unlink(join(indexDir, name));
  }
  const startMeta = meta ?? { segmentBytes: opts.segmentBytes, indexSegmentEntries: opts.indexSegmentEntries, startIndex: 0, startTerm: 0, startPosition: 0, wipePending: false };
  if (startMeta.wipePending) {
    // A reset was cut short after its new start was written: finish discarding the old files.
    for (const sub of ['data', 'index']) {
      const d = join(dir, sub);
      if (layer.exists(d)) for (const name of layer.readdir(d)) layer.unlink(join(d, name));
    }
    log?.warn({ dir, startIndex: startMeta.startIndex }, 'finished a reset that a crash interrupted');
  }
  if (meta === undefined || meta.indexSegmentEntries !== opts.indexSegmentEntries || startMeta.wipePending) {
    writeMeta(layer, dir, { ...startMeta, indexSegmentEntries: opts.indexSegmentEntries, wipePending: false });
  }
  return startMeta;
}

/**
 * Maps the data and index files found on disk and recovers the tail from `start`. On failure
 * the files mapped so far are closed before the error goes on.
 */
export function loadAndRecover(data: MappedFileList, index: EntryIndex, start: LogMeta, opts: ResolvedOptions): { tail: RecoveredTail; recovery: RecoveryReport } {
  try {
    const gaps = [...data.load().deletedAfterGap, ...index.files.load().deletedAfterGap];
    const tail = recoverTail({
      data,
      index,
      startIndex: start.startIndex,
      startTerm: start.startTerm,
      startPosition: start.startPosition,
      scanSegments: opts.recoveryScanSegments,
      zeroRunBytes: opts.recoveryZeroRunBytes,
    });
    return { tail, recovery: { ...tail.report, deletedFiles: tail.report.deletedFiles + gaps.length } };
  } catch (err) {
    data.close();
    index.files.close();
    throw err;
  }
}
