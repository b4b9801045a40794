// The RocketMQ message codec shared by the store, the broker and the client SDK: the stored record
// layout (also the body of a pull response, docs/storage.md "Message record"), the properties string, message ids
// and the small byte helpers they rest on.
export * from './message-errors.js';
export * from './record-layout.js';
export * from './message-record.js';
export * from './record-view.js';
export * from './message-properties.js';
export * from './message-id.js';
export { crc32 } from './crc32.js';
export { readInt64BE, writeInt64BE } from './int64.js';
export { toIPv4, ipv4ToUint32, uint32ToIPv4 } from './ipv4.js';
export { javaStringHash, javaUtf8Hash, indexKeyHash } from './java-hash.js';
