// The on-disk half of MmapLogStorage.deleteHead: dropping whole data segments before a given
// entry, with the new start written before any file goes.

import type { LogStart } from '../core/types.js';
import { probe } from './entry-codec.js';
import type { EntryIndex } from './entry-index.js';
import type { FileLayer } from './file-layer.js';
import type { StartAppSource } from './log-storage.js';
import type { MappedFileList } from './mapped-file-list.js';
import { encodeStartData, writeMeta } from './state-files.js';
import { LogStorageError } from './storage-errors.js';

/** What the cut needs to know of the log as it stands. */
export interface HeadView {
  firstIndex: number;
  startPosition: number;
  /** Index-record position of entry `target` (the last entry that may go). */
  targetPosition: number;
  term(index: number): number | undefined;
}

export interface HeadCut {
  start: LogStart;
  startPosition: number;
  startApp: Uint8Array | undefined;
  deletedFiles: number;
}

/** Returns undefined when no whole segment can go (the first entry stays where it is). */
export function cutHead(layer: FileLayer, dir: string, data: MappedFileList, index: EntryIndex, segmentBytes: number, view: HeadView, target: number, startApp?: StartAppSource): HeadCut | undefined {
  const S = segmentBytes;
  const keepFile = Math.floor(view.targetPosition / S);
  if (keepFile <= Math.floor(view.startPosition / S)) return undefined;
  // Entries never span segments, so the first entry of a later segment sits at its base.
  const basePosition = keepFile * S;
  const head = probe(data.file(keepFile)!.buffer, 0, basePosition, false);
  // The first entry itself may open a later segment than the start position's: after a reset
  // to a position near a segment end, it did not fit there and moved on. Dropping the segments
  // before it would delete no entry, so there is nothing to do.
  if (head.kind === 'entry' && head.index === view.firstIndex) return undefined;
  if (head.kind !== 'entry' || head.index < view.firstIndex || head.index > target) {
    throw new LogStorageError('ERR_LOG_CORRUPT', `no valid entry at the start of segment ${basePosition} (${head.kind})`);
  }
  // Asked before anything changes: a section it cannot make (it throws) leaves the log whole.
  const app = startApp?.({ index: head.index, position: basePosition });
  if (app !== undefined && !(app instanceof Uint8Array)) throw new TypeError('startApp must return a Uint8Array');
  const start: LogStart = { index: head.index - 1, term: view.term(head.index - 1)!, data: encodeStartData(basePosition, app) };
  // Meta first: a crash before the deletions leaves files that recovery deletes as lying before
  // the start. writeMeta refuses a section over MAX_START_APP_BYTES before writing anything.
  writeMeta(layer, dir, { segmentBytes: S, indexSegmentEntries: index.entriesPerFile, startIndex: start.index, startTerm: start.term, startPosition: basePosition, wipePending: false, startApp: app });
  const deletedFiles = data.deleteBelow(keepFile) + index.files.deleteBelow(index.fileOf(head.index));
  return { start, startPosition: basePosition, startApp: app, deletedFiles };
}
