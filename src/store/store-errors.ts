// Operating errors of the message store: one class per stable `code`, so callers (the broker's
// processors, the CLI) can branch on the code and show the message to a person. Programmer
// errors are assertions and never use these classes. The record codec's errors (bad magic, CRC,
// lengths, message ids) live with the codec in src/common/message/message-errors.ts.

export abstract class StoreError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An index key (`topic#key`) is longer than the configured limit. */
export class IndexKeyTooLongError extends StoreError {
  readonly code = 'ERR_STORE_INDEX_KEY_TOO_LONG';
}

/** A committed log entry holds a record that does not decode: dispatch stops before it. */
export class CorruptLogEntryError extends StoreError {
  readonly code = 'ERR_STORE_CORRUPT_LOG_ENTRY';
}

/** The checkpoint file exists but its CRC or layout is wrong. */
export class BadCheckpointError extends StoreError {
  readonly code = 'ERR_STORE_BAD_CHECKPOINT';
}

/** A store file (ConsumeQueue, IndexFile) has an unexpected name, size or header. */
export class BadStoreFileError extends StoreError {
  readonly code = 'ERR_STORE_BAD_FILE';
}

/**
 * The per-queue offsets to record in the log's start record would exceed QUEUE_START_MAX_BYTES:
 * the log head is not deleted (queue-start.ts).
 */
export class QueueStartTooLargeError extends StoreError {
  readonly code = 'ERR_STORE_QUEUE_START_TOO_LARGE';
}

/** The queue start record in the log's start record does not decode. */
export class BadQueueStartError extends StoreError {
  readonly code = 'ERR_STORE_BAD_QUEUE_START';
}
