// Operating errors of the message codec (records, properties, message ids), shared by the store,
// the broker and the client. The codes carry the codec's prefix, `ERR_CODEC_` (docs/errors.md,
// "Prefixes by layer"); a client turns them into its own MalformedResponseError when the bytes
// came over the network.

export abstract class MessageCodecError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The 4 bytes at offset 4 of a record are not a message magic (V1 0xDAA320A7, or V2 where accepted). */
export class BadMagicError extends MessageCodecError {
  readonly code = 'ERR_CODEC_BAD_MAGIC';
}

/** The stored body CRC does not match crc32(body) & 0x7FFFFFFF. */
export class BadCrcError extends MessageCodecError {
  readonly code = 'ERR_CODEC_BAD_CRC';
}

/** A length field (total size, body, topic, properties) is inconsistent or out of range. */
export class BadRecordLengthError extends MessageCodecError {
  readonly code = 'ERR_CODEC_BAD_RECORD_LENGTH';
}

/** A message cannot be encoded: topic longer than 127 bytes, properties of 32 KiB or more, IPv6 host... */
export class InvalidMessageError extends MessageCodecError {
  readonly code = 'ERR_CODEC_INVALID_MESSAGE';
}

/** A message id is not 32 hexadecimal characters. */
export class BadMessageIdError extends MessageCodecError {
  readonly code = 'ERR_CODEC_BAD_MESSAGE_ID';
}
