// The one home of RocketMQ's reserved topic names that more than one layer knows: the broker
// refuses sends to them and writes them itself, the store indexes the schedule topic by due time,
// the client skips them, and the CLI hides them from listings.

/** The auto-create template topic (a send names it as `defaultTopic`). */
export const DEFAULT_TOPIC = 'TBW102';
/** Where delayed messages wait, one queue per delay level. */
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
export const OFFSET_MOVED_EVENT = 'OFFSET_MOVED_EVENT';
/** `%RETRY%<group>`: a consumer group's retry topic. */
export const RETRY_TOPIC_PREFIX = '%RETRY%';
/** `%DLQ%<group>`: a consumer group's dead-letter topic. */
export const DLQ_TOPIC_PREFIX = '%DLQ%';
/**
 * `%GRPC_TX%<topic>`: the producer group of a gRPC producer's transactions on a topic (v5 clients
 * name no producer group); the gRPC endpoint registers it, the broker relays checks to it.
 */
export const GRPC_TRANSACTION_GROUP_PREFIX = '%GRPC_TX%';
