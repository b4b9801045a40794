// Typed shapes of the JSON bodies that travel between NameServer, brokers and clients, and their
// encoding. Route bodies are standard JSON with quoted broker-id keys ("0"): ali-ons, Java and Go
// clients all accept that form (docs/protocol.md, "Route rules").
import { BadRequestBodyError } from './protocol-errors.js';

export const PERM_READ = 4;
export const PERM_WRITE = 2;
export const PERM_INHERIT = 1;
export const PERM_READ_WRITE = PERM_READ | PERM_WRITE;

/** brokerId of the master; in a Raft group, the current leader. */
export const MASTER_ID = 0;

export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag: number;
}

export interface BrokerData {
  cluster: string;
  brokerName: string;
  /** brokerId (decimal string) → "ip:port". */
  brokerAddrs: Record<string, string>;
  /** Cluster info only (never in topic routes): the Raft group's member set as its nodes registered it. */
  raftMembers?: RaftMembersInfo;
}

/** A Raft group's configuration in force, as the NameServer last heard it (the newest one wins). */
export interface RaftMembersInfo {
  /** Index of the Config entry that made it (0: the bootstrap peers). */
  index: number;
  voters: string[];
  learners: string[];
  /** Raft node id of each registered address ("ip:port" → "n0"). */
  nodes: Record<string, string>;
}

export interface TopicRouteData {
  brokerDatas: BrokerData[];
  queueDatas: QueueData[];
  filterServerTable: Record<string, string[]>;
  orderTopicConf?: string;
}

export interface ClusterInfo {
  brokerAddrTable: Record<string, BrokerData>;
  clusterAddrTable: Record<string, string[]>;
}

export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag: number;
  /**
   * An ordered topic (updateTopic -o true): the NameServer serves its queue layout in the
   * route's `orderTopicConf`, so producers keep a fixed queue list. Absent means false.
   */
  order?: boolean;
}

export interface SubscriptionData {
  topic: string;
  subString: string;
  classFilterMode?: boolean;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  expressionType?: string;
}

export interface ProducerData {
  groupName: string;
}

export interface ConsumerData {
  groupName: string;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  unitMode?: boolean;
  subscriptionDataSet: SubscriptionData[];
}

export interface HeartbeatData {
  clientID: string;
  producerDataSet: ProducerData[];
  consumerDataSet: ConsumerData[];
}

/** Why retention stopped before the next log segment (CleanService's report). */
export type RetentionStop = 'unexpired' | 'undispatched' | 'min-retain-index' | 'last-segment' | 'run-limit';

/** The JSON body of DELETE_EXPIRED_COMMITLOG (329) from one node (docs/client.md). */
export interface DeleteExpiredBody {
  nodeId: string;
  brokerName: string;
  brokerAddr: string;
  deletedSegments: number;
  /** ConsumeQueue and IndexFile files deleted because the log head moved past them. */
  deletedStoreFiles: number;
  /** The node's first retained Raft index after the run. */
  firstIndex: number;
  /** Why the next segment stayed (a manual run always says). */
  stoppedBy?: RetentionStop;
  /** Highest used ratio (0..1) of the store's file systems when the run started. */
  usedRatio: number;
  fileReservedTimeHours: number;
}

/**
 * The JSON body of RAFT_REPLICA_DIGEST (1502): hashes of a node's committed log over
 * [firstIndex, upToIndex] and of every ConsumeQueue over [hashedFrom, maxOffset). Replicas that
 * hold the same committed prefix and dispatched it alike give the same hashes.
 */
export interface ReplicaDigestBody {
  nodeId: string;
  firstIndex: number;
  upToIndex: number;
  logSha256: string;
  dispatchedIndex: number;
  /** "topic@queueId" → the queue's bounds and the hash of its units from hashedFrom. */
  consumeQueues: Record<string, { minOffset: number; maxOffset: number; hashedFrom: number; sha256: string }>;
  /** SHA-256 over the sorted consumeQueues entries. */
  consumeQueuesSha256: string;
}

/** JSON body as a buffer (one stringify). */
export function encodeJsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

// fastjson (Apache NameServer answering old clients) writes integer map keys unquoted:
// {0:"10.0.0.1:10911"}. Quote them so JSON.parse can read such a body too. The pattern only
// matches a bare integer right after '{' or ',' and before ':', which cannot occur inside the
// strings of a route body (broker names and addresses have no braces or commas).
const BARE_INT_KEY = /([{,]\s*)(-?\d+)(\s*:)/g;

/** Parses a JSON body; accepts fastjson's unquoted integer keys. Throws BadRequestBodyError. */
export function decodeJsonBody<T>(body: Buffer | undefined, what: string): T {
  if (body === undefined || body.length === 0) throw new BadRequestBodyError(`${what}: body is empty`);
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (first) {
    try {
      return JSON.parse(text.replace(BARE_INT_KEY, '$1"$2"$3')) as T;
    } catch {
      throw new BadRequestBodyError(`${what}: body is not JSON`, { cause: first });
    }
  }
}

/** Sorted by brokerName, as ali-ons sorts them anyway; stable output makes tests and diffs simple. */
export function encodeTopicRouteData(route: TopicRouteData): Buffer {
  const byName = (a: { brokerName: string }, b: { brokerName: string }): number =>
    a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0;
  return encodeJsonBody({
    brokerDatas: [...route.brokerDatas].sort(byName),
    queueDatas: [...route.queueDatas].sort(byName),
    filterServerTable: route.filterServerTable,
    ...(route.orderTopicConf !== undefined ? { orderTopicConf: route.orderTopicConf } : {}),
  });
}
