// Request codes of our own (the Raft admin calls the broker implements for us), the property names
// users may not set, and the client defaults RocketMQ's clients use, in one place. Property names and the
// stored sysFlag bits come from the shared message codec (src/common/message), re-exported here
// under the names the SDK has always used.
import { MessageProperty } from '../common/message/message-properties.js';

export { MessageProperty } from '../common/message/message-properties.js';
/** Stored message sysFlag bits (compressed, multi tags, IPv6 hosts, transaction type...). */
export { SysFlag as MessageSysFlag } from '../common/message/record-layout.js';

/** Our Raft admin codes (their home is src/protocol); re-exported for the SDK's users. */
export { RaftRequestCode } from '../protocol/request-code.js';

/** Property names users may not set themselves (the client or broker owns them). */
export const RESERVED_PROPERTIES: ReadonlySet<string> = new Set([
  MessageProperty.UNIQ_KEY,
  MessageProperty.MIN_OFFSET,
  MessageProperty.MAX_OFFSET,
  MessageProperty.RETRY_TOPIC,
  MessageProperty.REAL_TOPIC,
  MessageProperty.REAL_QID,
]);

export { DEFAULT_TOPIC, DLQ_TOPIC_PREFIX as DLQ_GROUP_TOPIC_PREFIX, RETRY_TOPIC_PREFIX as RETRY_GROUP_TOPIC_PREFIX } from '../common/system-topics.js';
export const DEFAULT_PRODUCER_GROUP = 'DEFAULT_PRODUCER';
export const CLIENT_INNER_PRODUCER_GROUP = 'CLIENT_INNER_PRODUCER';

/** RocketMQ's maxMessageSize on client and broker. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DELAY_LEVEL_MAX = 18;

export const ClientDefaults = {
  sendMsgTimeoutMs: 3000,
  retryTimesWhenSendFailed: 2,
  compressMsgBodyOverBytes: 4096,
  routeRefreshIntervalMs: 30_000,
  heartbeatIntervalMs: 30_000,
  rebalanceIntervalMs: 20_000,
  /** Orderly consumers renew their queue locks this often (RocketMQ: 20 s). */
  lockRenewIntervalMs: 20_000,
  /** A queue lock is trusted this long after the request that won it (RocketMQ's client: 30 s; brokers expire it at 60 s). */
  lockMaxLiveTimeMs: 30_000,
  consumerListPollIntervalMs: 5_000,
  persistOffsetIntervalMs: 5_000,
  pullBatchSize: 32,
  pullThresholdForQueue: 1000,
  pullThresholdSizeForQueueBytes: 100 * 1024 * 1024,
  brokerSuspendMaxTimeMs: 15_000,
  pullTimeoutWhenSuspendMs: 30_000,
  pullDelayWhenFlowControlMs: 50,
  pullDelayWhenErrorMs: 3000,
  consumeConcurrency: 20,
  maxReconsumeTimes: 16,
  suspendCurrentQueueTimeMs: 1000,
  awaitTerminationMs: 10_000,
  requestTimeoutMs: 3000,
  maxAsyncSendsInFlight: 10_000,
} as const;

export const ConsumeResult = {
  CONSUME_SUCCESS: 'CONSUME_SUCCESS',
  RECONSUME_LATER: 'RECONSUME_LATER',
} as const;
export type ConsumeResult = (typeof ConsumeResult)[keyof typeof ConsumeResult];

export const ConsumeFromWhere = {
  LAST_OFFSET: 'CONSUME_FROM_LAST_OFFSET',
  FIRST_OFFSET: 'CONSUME_FROM_FIRST_OFFSET',
  TIMESTAMP: 'CONSUME_FROM_TIMESTAMP',
} as const;
export type ConsumeFromWhere = (typeof ConsumeFromWhere)[keyof typeof ConsumeFromWhere];

export const MessageModel = {
  CLUSTERING: 'CLUSTERING',
  BROADCASTING: 'BROADCASTING',
} as const;
export type MessageModel = (typeof MessageModel)[keyof typeof MessageModel];

/** PULL_MESSAGE request sysFlag bits. */
export const PullSysFlag = {
  COMMIT_OFFSET: 1,
  SUSPEND: 2,
  SUBSCRIPTION: 4,
  CLASS_FILTER: 8,
} as const;
