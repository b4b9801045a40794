// The on-disk half of MmapLogStorage.reset: replacing the whole log by a new start, atomically
// as far as a crash can tell (prepareMeta in log-open.ts finishes a wipe a crash interrupted).

import type { EntryIndex } from './entry-index.js';
import type { FileLayer } from './file-layer.js';
import type { MappedFileList } from './mapped-file-list.js';
import { type LogMeta, writeMeta } from './state-files.js';

/**
 * Atomic in two steps: the new start with `wipePending`, then the deletions, then the flag
 * cleared. A crash after the first step makes the next open finish the wipe; deleting first
 * would let a crash regress the log to its old start with nothing after it (a voter losing
 * entries it acknowledged), and clearing the files last without the flag could let a stale
 * entry at the new start position pass for the first entry of the new log.
 */
export function wipeForReset(layer: FileLayer, dir: string, data: MappedFileList, index: EntryIndex, meta: Omit<LogMeta, 'wipePending'>): void {
  writeMeta(layer, dir, { ...meta, wipePending: true });
  data.deleteAll();
  index.files.deleteAll();
  data.flush();
  index.files.flush();
  writeMeta(layer, dir, { ...meta, wipePending: false });
}
