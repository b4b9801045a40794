// Public surface of the client SDK (the CLI and the jepsen-like harness import from here).
export * from './client-constants.js';
export * from './client-errors.js';
export type { ClientOptions } from './client-instance.js';
export * from './message.js';
export { createOffsetMsgId, parseOffsetMsgId, createUniqueId } from './message-id.js';
export { decodeMessageRecord, decodeMessageRecords } from './message-decoder.js';
export { encodeBatch, decodeBatch, type BatchEntry } from './batch-encoder.js';
export { allocateAveragely } from './allocate-averagely.js';
export { buildSubscription, matchesSubscription } from './subscription.js';
export { javaStringHash } from '../common/message/java-hash.js';
export { selectByHash, selectRandom, type QueueSelector } from './queue-selector.js';
export type { SendResult, SendStatus } from './send-request.js';
export type { PullResult, PullStatus } from './broker-api.js';
export type { MessageHandler } from './consume-service.js';
export { Producer, type ProducerOptions, type SendOptions, type SendCallback } from './producer.js';
export { PushConsumer, type PushConsumerOptions } from './push-consumer.js';
export { PullConsumer, type PullConsumerOptions, type PullOptions } from './pull-consumer.js';
export { Admin, type CreateTopicOptions, type DeleteExpiredResult, type NodeDeleteExpired, type QueueStatus, type QueueProgress, type RaftStatus, type TransferLeaderResult, type NodeStatus } from './admin.js';
