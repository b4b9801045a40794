// Where the fields of a stored message record sit (RocketMQ's CommitLog layout, docs/storage.md "Message record"):
// the magic values, the fixed byte offsets of the V1 layout with IPv4 hosts that this project
// writes, the size limits and the sysFlag bits. Kept apart from the codec because the store's hot
// paths (dispatch, read patching) read fields at these offsets without decoding a record.

/** V1 magic (-626843481 as a Java int). V2 (2-byte topic length) is never written: ali-ons cannot read it. */
export const MESSAGE_MAGIC_V1 = 0xdaa320a7 | 0;
/** V2 magic: a 2-byte topic length. Only read, from brokers other than ours. */
export const MESSAGE_MAGIC_V2 = 0xdaa320ab | 0;

/** Byte offsets of the fixed fields (IPv4 hosts). */
export const RecordOffset = {
  TOTAL_SIZE: 0,
  MAGIC: 4,
  BODY_CRC: 8,
  QUEUE_ID: 12,
  FLAG: 16,
  QUEUE_OFFSET: 20,
  PHYSICAL_OFFSET: 28,
  SYS_FLAG: 36,
  BORN_TIMESTAMP: 40,
  BORN_HOST: 48,
  BORN_PORT: 52,
  STORE_TIMESTAMP: 56,
  STORE_HOST: 64,
  STORE_PORT: 68,
  RECONSUME_TIMES: 72,
  PREPARED_TRANSACTION_OFFSET: 76,
  BODY_LENGTH: 84,
  BODY: 88,
} as const;

/** The bytes up to and including physicalOffset: the part the read path patches. */
export const RECORD_PATCHED_HEAD_BYTES = 36;
/** Size of a record with an empty body, a 0-byte topic and no properties. */
export const RECORD_FIXED_BYTES = 91;
export const MAX_TOPIC_BYTES = 127;
export const MAX_PROPERTIES_BYTES = 32767;
/** What an IPv6 host adds to the 4 bytes of an IPv4 one. */
export const IPV6_EXTRA_BYTES = 12;

export const SysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_PREPARED: 0x4,
  TRANSACTION_COMMIT: 0x8,
  TRANSACTION_ROLLBACK: 0xc,
  BORN_HOST_V6: 0x10,
  STORE_HOST_V6: 0x20,
  NEED_UNWRAP: 0x40,
  INNER_BATCH: 0x80,
} as const;
export const HOST_V6_BITS = SysFlag.BORN_HOST_V6 | SysFlag.STORE_HOST_V6;
