// Request codes of RocketMQ's remoting protocol that this project sends, serves or names in a
// remark. Values are wire facts (docs/protocol.md); a code never changes meaning.

export const RequestCode = {
  SEND_MESSAGE: 10,
  PULL_MESSAGE: 11,
  QUERY_MESSAGE: 12,
  QUERY_CONSUMER_OFFSET: 14,
  UPDATE_CONSUMER_OFFSET: 15,
  UPDATE_AND_CREATE_TOPIC: 17,
  SEARCH_OFFSET_BY_TIMESTAMP: 29,
  GET_MAX_OFFSET: 30,
  GET_MIN_OFFSET: 31,
  VIEW_MESSAGE_BY_ID: 33,
  HEART_BEAT: 34,
  UNREGISTER_CLIENT: 35,
  CONSUMER_SEND_MSG_BACK: 36,
  END_TRANSACTION: 37,
  GET_CONSUMER_LIST_BY_GROUP: 38,
  CHECK_TRANSACTION_STATE: 39,
  NOTIFY_CONSUMER_IDS_CHANGED: 40,
  LOCK_BATCH_MQ: 41,
  UNLOCK_BATCH_MQ: 42,
  REGISTER_BROKER: 103,
  UNREGISTER_BROKER: 104,
  GET_ROUTEINFO_BY_TOPIC: 105,
  GET_BROKER_CLUSTER_INFO: 106,
  UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: 200,
  GET_ALL_TOPIC_LIST_FROM_NAMESERVER: 206,
  DELETE_SUBSCRIPTIONGROUP: 207,
  GET_CONSUME_STATS: 208,
  DELETE_TOPIC_IN_BROKER: 215,
  DELETE_TOPIC_IN_NAMESRV: 216,
  GET_KV_CONFIG_BY_VALUE: 217,
  RESET_CONSUMER_CLIENT_OFFSET: 220,
  INVOKE_BROKER_TO_RESET_OFFSET: 222,
  GET_CONSUMER_RUNNING_INFO: 307,
  CONSUME_MESSAGE_DIRECTLY: 309,
  SEND_MESSAGE_V2: 310,
  SEND_BATCH_MESSAGE: 320,
  /** mqadmin deleteExpiredCommitLog: apache/rocketmq RequestCode.java (4.9.x and 5.x) gives 329. */
  DELETE_EXPIRED_COMMITLOG: 329,
} as const;

export type RequestCodeName = keyof typeof RequestCode;

/** RocketMQ's ACL administration codes (ACL 1.0). */
export const AclRequestCode = {
  UPDATE_AND_CREATE_ACL_CONFIG: 50,
  DELETE_ACL_CONFIG: 51,
  GET_BROKER_CLUSTER_ACL_INFO: 52,
  /** Replaces globalWhiteRemoteAddresses; not served here (refused with a remark, acl-admin.ts). */
  UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: 53,
} as const;

/**
 * Our own admin codes, outside Apache's range; docs/client.md and docs/broker.md give their
 * exact request and response shapes. The one home of these numbers for broker, SDK and tools.
 */
export const RaftRequestCode = {
  /** Ask the current leader to hand leadership to another node. */
  RAFT_TRANSFER_LEADER: 1500,
  /** Ask any node for its Raft view (role, term, indexes, peers). */
  RAFT_STATUS: 1501,
  /** Ask any node for hashes of its committed log and ConsumeQueues (ReplicaDigestBody). */
  RAFT_REPLICA_DIGEST: 1502,
  /** Ask the leader for one membership change: add a learner, promote one, remove a member. */
  RAFT_CHANGE_MEMBERS: 1503,
} as const;
