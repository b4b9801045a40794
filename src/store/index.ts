// Public API of the message store (what src/broker imports). The record codec lives in
// src/common/message (the client reads the same bytes) and is re-exported here for the broker.
export * from './store-errors.js';
export * from '../common/message/message-errors.js';
export * from '../common/message/record-layout.js';
export * from '../common/message/message-record.js';
export * from '../common/message/message-properties.js';
export * from '../common/message/message-id.js';
export { toIPv4 } from '../common/message/ipv4.js';
export { javaStringHash } from '../common/message/java-hash.js';
export { ConsumeQueue, CQ_UNIT_BYTES, DEFAULT_UNITS_PER_FILE, type ConsumeQueueUnit } from './consume-queue.js';
export { IndexService, DEFAULT_INDEX_OPTIONS, type IndexOptions } from './index-service.js';
export { type StoreCheckpoint } from './checkpoint.js';
export { NORMAL_ENTRY_TYPE, type CommitLogEntry, type CommitLogLocation, type CommitLogReader, type SegmentedCommitLog } from './commit-log.js';
export { DEFAULT_DELAY_LEVELS_MS, type DispatcherHooks } from './dispatcher.js';
export { SCHEDULE_TOPIC } from '../common/system-topics.js';
export { type RecoveryReport } from './recovery.js';
export { QUEUE_START_MAX_BYTES, decodeQueueStarts, encodeQueueStarts, type QueueStarts } from './queue-start.js';
export * from './message-store.js';
export * from './retention/index.js';
export { defaultStorePaths, type StorePaths } from './store-paths.js';
