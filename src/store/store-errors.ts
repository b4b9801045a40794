// Operating errors of the message store: one class per stable `code`, so callers (the broker's
// processors, the CLI) can branch on the code and show the message to a person. Programmer
// errors are assertions and never use these classes.

export abstract class StoreError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The 4 bytes at offset 4 of a record are not the V1 message magic 0xDAA320A7. */
export class BadMagicError extends StoreError {
  readonly code = 'ERR_STORE_BAD_MAGIC';
}

/** The stored body CRC does not match crc32(body) & 0x7FFFFFFF. */
export class BadCrcError extends StoreError {
  readonly code = 'ERR_STORE_BAD_CRC';
}

/** A length field (total size, body, topic, properties) is inconsistent or out of range. */
export class BadRecordLengthError extends StoreError {
  readonly code = 'ERR_STORE_BAD_RECORD_LENGTH';
}

/** A message cannot be encoded: topic longer than 127 bytes, properties of 32 KiB or more, IPv6 host... */
export class InvalidMessageError extends StoreError {
  readonly code = 'ERR_STORE_INVALID_MESSAGE';
}

/** A message id is not 32 hexadecimal characters. */
export class BadMessageIdError extends StoreError {
  readonly code = 'ERR_STORE_BAD_MESSAGE_ID';
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
