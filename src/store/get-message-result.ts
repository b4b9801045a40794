// What a read of a ConsumeQueue answers (MessageStore.getMessage): a status named as RocketMQ
// names it and the records found. Its own file so the read helpers (read-buffers.ts) and the
// store share the type without importing each other.

export const GetMessageStatus = {
  FOUND: 'FOUND',
  NO_MATCHED_MESSAGE: 'NO_MATCHED_MESSAGE',
  NO_MESSAGE_IN_QUEUE: 'NO_MESSAGE_IN_QUEUE',
  OFFSET_FOUND_NULL: 'OFFSET_FOUND_NULL',
  OFFSET_OVERFLOW_ONE: 'OFFSET_OVERFLOW_ONE',
  OFFSET_OVERFLOW_BADLY: 'OFFSET_OVERFLOW_BADLY',
  OFFSET_TOO_SMALL: 'OFFSET_TOO_SMALL',
} as const;
export type GetMessageStatus = (typeof GetMessageStatus)[keyof typeof GetMessageStatus];

export interface GetMessageResult {
  status: GetMessageStatus;
  /** One view per message into `body`, each a complete record with its offsets patched in. */
  messages: Buffer[];
  /** Every returned record back to back: exactly a PULL_MESSAGE response body. */
  body: Buffer;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
}
