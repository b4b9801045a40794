// Public API of the message store (what src/broker imports).
export * from './store-errors.js';
export * from './message-record.js';
export * from './message-properties.js';
export * from './message-id.js';
export { toIPv4 } from './ipv4.js';
export { javaStringHash } from './java-hash.js';
export { ConsumeQueue, CQ_UNIT_BYTES, DEFAULT_UNITS_PER_FILE, type ConsumeQueueUnit } from './consume-queue.js';
export { IndexService, DEFAULT_INDEX_OPTIONS, type IndexOptions } from './index-service.js';
export { type StoreCheckpoint } from './checkpoint.js';
export { SCHEDULE_TOPIC, DEFAULT_DELAY_LEVELS_MS, type DispatcherHooks } from './dispatcher.js';
export { type RecoveryReport } from './recovery.js';
export * from './message-store.js';
export * from './retention/index.js';
