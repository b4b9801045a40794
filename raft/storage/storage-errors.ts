// Typed operating errors of the Raft log storage. Each code is stable and means one thing; the
// node runner logs them and keeps the process up (a corrupt entry must never crash a replica).
import { CodedError } from '../coded-error.js';

export type LogStorageErrorCode =
  /** An entry (or index record) read back fails its magic, CRC, index, term or position check. */
  | 'ERR_LOG_CORRUPT'
  /** The hard-state or meta file exists but fails its CRC or layout check. */
  | 'ERR_LOG_STATE_CORRUPT'
  /** An append whose indexes are not contiguous with the log, or that starts before its head. */
  | 'ERR_LOG_BAD_APPEND'
  /** An entry larger than a data segment can ever hold. */
  | 'ERR_LOG_ENTRY_TOO_LARGE'
  /** A truncation, slice or reset target outside what the log holds. */
  | 'ERR_LOG_OUT_OF_RANGE'
  /** A LogStart whose `data` does not carry a byte position this storage can use. */
  | 'ERR_LOG_BAD_START'
  /** A start record whose application section exceeds MAX_START_APP_BYTES. */
  | 'ERR_LOG_START_TOO_LARGE'
  /** Files on disk were written with another segment size (positions would not agree). */
  | 'ERR_LOG_CONFIG_MISMATCH'
  /** A write to the log's files failed (disk full, I/O error); the log is unchanged. */
  | 'ERR_LOG_IO'
  /** A call after `close()`. */
  | 'ERR_LOG_CLOSED';

export class LogStorageError extends CodedError<LogStorageErrorCode> {}
