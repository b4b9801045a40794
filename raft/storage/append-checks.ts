// The checks an append's batch must pass before anything is written: contiguous indexes that
// start inside the log or right after it, non-decreasing terms, known entry types, and payloads
// that fit one segment. A failure is a typed LogStorageError and leaves the log untouched.

import type { Entry } from '../core/types.js';
import { MAX_ENTRY_TYPE } from './entry-codec.js';
import { LogStorageError } from './storage-errors.js';

/** What the checks need to know of the log. */
export interface AppendTarget {
  /** Index of the start entry (the one before the first). */
  startIndex: number;
  lastIndex: number;
  /** Term of a present entry (or of the start). */
  term(index: number): number | undefined;
  maxPayloadBytes: number;
}

export function checkAppend(entries: readonly Entry[], first: number, log: AppendTarget): void {
  if (!Number.isSafeInteger(first) || first <= log.startIndex || first > log.lastIndex + 1) {
    throw new LogStorageError('ERR_LOG_BAD_APPEND', `append at ${first} to a log holding ${log.startIndex + 1}..${log.lastIndex}`);
  }
  let previousTerm = log.term(first - 1)!;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.index !== first + i) throw new LogStorageError('ERR_LOG_BAD_APPEND', `entry ${i} of the batch has index ${e.index}, expected ${first + i}`);
    if (!Number.isSafeInteger(e.term) || e.term < previousTerm) {
      throw new LogStorageError('ERR_LOG_BAD_APPEND', `entry ${e.index} has term ${e.term} below the previous entry's ${previousTerm}`);
    }
    if (!(e.type >= 0 && e.type <= MAX_ENTRY_TYPE) || !Number.isInteger(e.type)) throw new LogStorageError('ERR_LOG_BAD_APPEND', `entry ${e.index} has unknown type ${e.type}`);
    if (e.payload.length > log.maxPayloadBytes) {
      throw new LogStorageError('ERR_LOG_ENTRY_TOO_LARGE', `entry ${e.index} has ${e.payload.length} payload bytes; a segment holds at most ${log.maxPayloadBytes}`);
    }
    previousTerm = e.term;
  }
}
