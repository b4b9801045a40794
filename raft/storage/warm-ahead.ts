// Creating the files the next appends will need before they need them (MmapLogStorage.warmAhead):
// the data segment the next `bytes` reach, and the index file their entries will fall in, judged
// by the log's average entry size. Nothing is written or touched: only files are created.

import { ENTRY_HEADER_BYTES } from './entry-codec.js';
import type { EntryIndex } from './entry-index.js';
import type { MappedFileList } from './mapped-file-list.js';

export interface WarmTarget {
  data: MappedFileList;
  index: EntryIndex;
  startIndex: number;
  startPosition: number;
  lastIndex: number;
  endPosition: number;
}

export function createFilesAhead(log: WarmTarget, bytes: number): void {
  const { data, index } = log;
  const S = data.fileBytes;
  const end = log.endPosition;
  const to = end + Math.max(0, Math.min(bytes, S));
  // The window is capped at one segment, so it reaches at most the next file.
  const lastFile = Math.floor(Math.max(end, to - 1) / S);
  for (let k = Math.floor(end / S); k <= lastFile; k++) {
    if (data.file(k) === undefined && (data.count === 0 || k === data.last + 1)) data.ensure(k);
  }

  const entryCount = log.lastIndex - log.startIndex;
  const averageEntryBytes = entryCount > 0 ? Math.max(ENTRY_HEADER_BYTES, (end - log.startPosition) / entryCount) : 1024;
  const N = index.entriesPerFile;
  const indexTo = Math.min(log.lastIndex + 1 + Math.ceil(bytes / averageEntryBytes), (index.fileOf(log.lastIndex + 1) + 1) * N);
  index.files.ensure(index.fileOf(indexTo));
}
