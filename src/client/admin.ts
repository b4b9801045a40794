// Admin operations: topics (create on every master, list, status, delete), routes, cluster info,
// subscription groups, consumer progress and offset resets (admin-ops.ts), message lookup by id and by key, manual retention (mqadmin deleteExpiredCommitLog, on
// every node), and the two Raft calls of our own (leadership transfer, per-node Raft status;
// codes and shapes in docs/client.md), and ACL administration (RocketMQ's codes 50-52, on each
// group's leader: the group replicates the change).
import { makeRequest, MASTER_ID, PERM_READ_WRITE, RequestCode, ResponseCode, type ClusterInfo, type DeleteExpiredBody, type TopicRouteData } from '../protocol/index.js';
import { RaftRequestCode } from './client-constants.js';
import { withReplicaFallback } from './replica-fallback.js';
import { BrokerResponseError, ClientConfigError, ClientStateError, MessageNotFoundError } from './client-errors.js';
import { ClientInstance, type ClientOptions } from './client-instance.js';
import * as ops from './admin-ops.js';
import * as acl from './admin-acl.js';
import type { AclAccountSpec, GroupAclConfig } from './admin-acl.js';
import { changeMembers, type ChangeMembersResult } from './admin-members.js';
import { getConsumerIdList, getMaxOffset, getMinOffset, queryConsumerOffset } from './broker-api.js';
import type { MessageExt, MessageQueue } from './message.js';
import { decodeOwnedMessageRecords } from './message-decoder.js';
import { parseOffsetMsgId } from './message-id.js';
import { parseBody } from './namesrv-client.js';
import { checkGroup, checkTopic } from './validation.js';
import { DEFAULT_TOPIC } from '../common/system-topics.js';

export type { AclAccountSpec, GroupAclConfig } from './admin-acl.js';
export type { ChangeMembersResult } from './admin-members.js';

export interface CreateTopicOptions {
  readQueueNums?: number;
  writeQueueNums?: number;
  perm?: number;
  /** Only the masters of this cluster (default: every cluster). */
  clusterName?: string;
  order?: boolean;
}

export interface QueueStatus {
  brokerName: string;
  queueId: number;
  minOffset: number;
  maxOffset: number;
}

/** One queue of GET_CONSUME_STATS; consumerOffset is 0 when the group committed nothing there (as Apache). */
export type QueueProgress = ops.ConsumeStatsRow;

/** The JSON body of RAFT_STATUS (1501); see docs/client.md. */
export interface RaftStatus {
  nodeId: string;
  role: 'LEADER' | 'FOLLOWER' | 'CANDIDATE' | 'PRE_CANDIDATE' | string;
  term: number;
  leader: string | null;
  commitIndex: number;
  lastIndex: number;
  appliedIndex: number;
  peers: { nodeId: string; raftAddr?: string; brokerAddr?: string; matchIndex?: number }[];
  /** The configuration in force: voting members and learners (absent from older brokers). */
  voters?: string[];
  learners?: string[];
  brokerName?: string;
  brokerAddr?: string;
  /** host:port of the node's /metrics endpoint when metricsPort is set (docs/metrics.md). */
  metricsAddr?: string;
  /** False on a node reset past entries it never applied, until it installs a metadata snapshot. */
  metadataComplete?: boolean;
}

/** The JSON body of RAFT_TRANSFER_LEADER (1500); see docs/client.md. */
export interface TransferLeaderResult {
  previousLeader: string;
  newLeader: string;
  term: number;
  /** Milliseconds from the old leader starting the transfer to it seeing the new leader (absent from older brokers). */
  tookMs?: number;
}

/** The JSON body of DELETE_EXPIRED_COMMITLOG (329) from one node, with its remark: what it deleted and why the rest stayed. */
export interface DeleteExpiredResult extends DeleteExpiredBody {
  remark: string;
}

/** One node's answer to deleteExpiredCommitLog (or the error that prevented it). */
export interface NodeDeleteExpired {
  clusterName: string;
  brokerName: string;
  /** As registered with the NameServer (0 = the leader); -1 for an address it does not list. */
  brokerId: number;
  addr: string;
  result?: DeleteExpiredResult;
  error?: string;
}

export interface NodeStatus {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  addr: string;
  status?: RaftStatus;
  error?: string;
}

export class Admin {
  private instance: ClientInstance | undefined;

  constructor(private readonly options: ClientOptions = {}) {}

  async start(): Promise<void> {
    if (this.instance !== undefined) throw new ClientStateError('admin was already started');
    this.instance = new ClientInstance(this.options, 'admin');
  }

  async shutdown(): Promise<void> {
    await this.instance?.close();
  }

  clusterInfo(): Promise<ClusterInfo> {
    return this.running().namesrv.getClusterInfo();
  }

  topicRoute(topic: string): Promise<TopicRouteData> {
    checkTopic(topic);
    return this.running().namesrv.getRoute(topic);
  }

  listTopics(): Promise<string[]> {
    return this.running().namesrv.getTopicList();
  }

  /** UPDATE_AND_CREATE_TOPIC (17) on every master; returns the addresses that accepted it. */
  async createTopic(topic: string, options: CreateTopicOptions = {}): Promise<string[]> {
    checkTopic(topic);
    const instance = this.running();
    const info = await instance.namesrv.getClusterInfo();
    const names = options.clusterName === undefined ? Object.keys(info.brokerAddrTable) : info.clusterAddrTable[options.clusterName] ?? [];
    if (names.length === 0) {
      throw new ClientConfigError(
        options.clusterName === undefined ? 'no broker is registered with the NameServer; start a broker group first' : `cluster '${options.clusterName}' has no brokers; check the cluster name ('rmq admin clusterList' lists them)`,
      );
    }
    const queues = options.writeQueueNums ?? 8;
    const ext = {
      topic,
      defaultTopic: DEFAULT_TOPIC,
      readQueueNums: String(options.readQueueNums ?? queues),
      writeQueueNums: String(queues),
      perm: String(options.perm ?? PERM_READ_WRITE),
      topicFilterType: 'SINGLE_TAG',
      topicSysFlag: '0',
      order: String(options.order ?? false),
    };
    const done: string[] = [];
    for (const name of names) {
      const addr = info.brokerAddrTable[name]?.brokerAddrs[String(MASTER_ID)];
      if (addr === undefined) throw new BrokerResponseError(name, RequestCode.UPDATE_AND_CREATE_TOPIC, ResponseCode.SERVICE_NOT_AVAILABLE, `broker group ${name} has no master (leader) right now; retry when it has one`);
      const req = makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { ...ext });
      const resp = await instance.invoke(addr, req);
      if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
      done.push(addr);
    }
    return done;
  }

  /** Min and max offset of every readable queue. */
  async topicStatus(topic: string): Promise<QueueStatus[]> {
    checkTopic(topic);
    const instance = this.running();
    const info = await instance.routes.refresh(topic);
    return Promise.all(
      info.readQueues.map(async (mq) => {
        const [minOffset, maxOffset] = await this.readFromAnyReplica(mq, (addr) => Promise.all([getMinOffset(instance, addr, mq), getMaxOffset(instance, addr, mq)]));
        return { brokerName: mq.brokerName, queueId: mq.queueId, minOffset, maxOffset };
      }),
    );
  }

  /**
   * The group's committed offset against each queue's max offset (GET_CONSUME_STATS at each
   * master), for the given topics, or for every topic where the group holds an offset.
   */
  async consumerProgress(group: string, topics?: string | readonly string[]): Promise<QueueProgress[]> {
    const instance = this.running();
    if (topics === undefined) return ops.consumeStats(instance, group);
    const out: QueueProgress[] = [];
    for (const topic of typeof topics === 'string' ? [topics] : topics) out.push(...(await ops.consumeStats(instance, group, topic)));
    return out;
  }

  /** DELETE_TOPIC_IN_BROKER on every master (or one cluster's), then DELETE_TOPIC_IN_NAMESRV; returns the masters. */
  deleteTopic(topic: string, clusterName?: string): Promise<string[]> {
    return ops.deleteTopic(this.running(), topic, clusterName);
  }

  /** UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on every master (or one cluster's). */
  updateSubscriptionGroup(settings: ops.SubscriptionGroupSettings, clusterName?: string): Promise<string[]> {
    return ops.updateSubscriptionGroup(this.running(), settings, clusterName);
  }

  /** DELETE_SUBSCRIPTIONGROUP on every master; `cleanOffset` drops the group's offsets too. */
  deleteSubscriptionGroup(group: string, options: { cleanOffset?: boolean; clusterName?: string } = {}): Promise<{ addr: string; remark: string }[]> {
    return ops.deleteSubscriptionGroup(this.running(), group, options);
  }

  /** INVOKE_BROKER_TO_RESET_OFFSET at the masters of the topic (mqadmin resetOffsetByTime). */
  resetOffsetByTime(group: string, topic: string, timestampMs: number, force = true): Promise<ops.QueueOffsetRow[]> {
    return ops.resetOffsetByTime(this.running(), group, topic, timestampMs, force);
  }

  /** GET_CONSUMER_RUNNING_INFO of each online consumer of the group (or one client id). */
  consumerStatus(group: string, clientId?: string): Promise<ops.ConsumerStatus[]> {
    return ops.consumerStatus(this.running(), group, clientId);
  }

  /**
   * Client ids of a consumer group's live members, as the masters know them from heartbeats
   * (GET_CONSUMER_LIST_BY_GROUP on every group's master; a master that does not answer is skipped).
   */
  async consumerIds(group: string): Promise<string[]> {
    checkGroup(group);
    const instance = this.running();
    const info = await instance.namesrv.getClusterInfo();
    const ids = new Set<string>();
    await Promise.all(Object.values(info.brokerAddrTable).map(async (bd) => {
      const addr = bd.brokerAddrs[String(MASTER_ID)];
      if (addr === undefined) return;
      for (const id of await getConsumerIdList(instance, addr, group).catch(() => [])) ids.add(id);
    }));
    return [...ids].sort();
  }

  /**
   * A message by its offset id (VIEW_MESSAGE_BY_ID at the address inside the id; when that node
   * is gone, at every known broker, keeping only an exact id match), or by its unique id
   * (UNIQ_KEY) when `topic` is given.
   */
  async viewMessage(msgId: string, topic?: string): Promise<MessageExt> {
    const instance = this.running();
    const parts = parseOffsetMsgId(msgId);
    if (parts !== undefined) {
      const info = await instance.namesrv.getClusterInfo().catch(() => undefined);
      const addrs = [parts.addr];
      for (const bd of Object.values(info?.brokerAddrTable ?? {})) for (const a of Object.values(bd.brokerAddrs)) if (!addrs.includes(a)) addrs.push(a);
      for (const addr of addrs) {
        try {
          const req = makeRequest(RequestCode.VIEW_MESSAGE_BY_ID, { offset: String(parts.physicalOffset) });
          const resp = await instance.invoke(addr, req);
          if (resp.code !== ResponseCode.SUCCESS) continue;
          const msg = decodeOwnedMessageRecords(resp.body, brokerNameOf(info, addr), 1)[0];
          if (msg !== undefined && msg.offsetMsgId === msgId.toUpperCase()) return msg;
        } catch {
          // Try the next node: the one in the id may have been the leader that is now down.
        }
      }
    }
    if (topic !== undefined) {
      const found = (await this.queryMessageByKey(topic, msgId, { maxNum: 32 })).filter((m) => m.msgId === msgId);
      if (found[0] !== undefined) return found[0];
    }
    throw new MessageNotFoundError(`no message with id ${msgId}${topic === undefined ? '; pass the topic to look up a client-generated id (UNIQ_KEY)' : ` in topic ${topic}`}`);
  }

  /** QUERY_MESSAGE (12) on every broker group of the topic; newest first is not guaranteed. */
  async queryMessageByKey(topic: string, key: string, options: { maxNum?: number; beginTimestampMs?: number; endTimestampMs?: number } = {}): Promise<MessageExt[]> {
    checkTopic(topic);
    const instance = this.running();
    const info = await instance.routes.refresh(topic);
    const names = [...new Set(info.readQueues.map((q) => q.brokerName))];
    const out: MessageExt[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      const addr = instance.routes.addrFor(name);
      if (addr === undefined) continue;
      const req = makeRequest(RequestCode.QUERY_MESSAGE, {
        topic,
        key,
        maxNum: String(options.maxNum ?? 64),
        beginTimestamp: String(options.beginTimestampMs ?? 0),
        endTimestamp: String(options.endTimestampMs ?? Number.MAX_SAFE_INTEGER),
      });
      const resp = await instance.invoke(addr, req);
      if (resp.code === ResponseCode.QUERY_NOT_FOUND) continue;
      if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
      for (const m of decodeOwnedMessageRecords(resp.body, name)) {
        if (m.topic !== topic || seen.has(m.offsetMsgId)) continue;
        if (!m.keys.includes(key) && m.msgId !== key) continue;
        seen.add(m.offsetMsgId);
        out.push(m);
      }
    }
    return out;
  }

  /** RAFT_STATUS (1501) of one node. */
  async raftStatus(brokerAddr: string): Promise<RaftStatus> {
    const instance = this.running();
    const req = makeRequest(RaftRequestCode.RAFT_STATUS);
    const resp = await instance.invoke(brokerAddr, req);
    if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(brokerAddr, req.code, resp.code, resp.remark);
    return parseBody<RaftStatus>(resp, `raft status of ${brokerAddr}`);
  }

  /** Every registered node with its Raft status (or the error that prevented reading it). */
  async clusterRaftStatus(): Promise<NodeStatus[]> {
    const nodes: NodeStatus[] = registeredNodes(await this.clusterInfo());
    await askEach(nodes, async (n) => {
      n.status = await this.raftStatus(n.addr);
    });
    return nodes;
  }

  /**
   * DELETE_EXPIRED_COMMITLOG (329) at one node: its retention deletes expired head segments of
   * its log now, within the bounds of the scheduled rule (docs/operations.md, "Retention").
   */
  async deleteExpiredCommitLogAt(brokerAddr: string): Promise<DeleteExpiredResult> {
    const instance = this.running();
    const req = makeRequest(RequestCode.DELETE_EXPIRED_COMMITLOG);
    const resp = await instance.invoke(brokerAddr, req);
    if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(brokerAddr, req.code, resp.code, resp.remark);
    return { ...parseBody<DeleteExpiredBody>(resp, `deleteExpiredCommitLog answer of ${brokerAddr}`), remark: resp.remark ?? '' };
  }

  /**
   * deleteExpiredCommitLogAt on every node registered with the NameServer, or those of one
   * cluster, or the one at `brokerAddr`: every replica runs its own retention over its own copy
   * of the log, so asking only the leader would leave the followers' segments. A node that fails
   * is reported with its error, not thrown.
   */
  async deleteExpiredCommitLog(options: { clusterName?: string; brokerAddr?: string } = {}): Promise<NodeDeleteExpired[]> {
    // With an address the NameServer only names the node; it need not answer.
    const info = options.brokerAddr === undefined ? await this.clusterInfo() : await this.clusterInfo().catch(() => undefined);
    let nodes: NodeDeleteExpired[] = info === undefined ? [] : registeredNodes(info);
    if (options.clusterName !== undefined) {
      nodes = nodes.filter((n) => n.clusterName === options.clusterName);
      if (nodes.length === 0) throw new ClientConfigError(`cluster '${options.clusterName}' has no brokers registered; check the cluster name ('rmq admin clusterList' lists them)`);
    }
    if (options.brokerAddr !== undefined) {
      const addr = options.brokerAddr;
      // An address the NameServer does not list (a node not registered yet) is still asked.
      nodes = nodes.filter((n) => n.addr === addr);
      if (nodes.length === 0) nodes = [{ clusterName: options.clusterName ?? '', brokerName: '', brokerId: -1, addr }];
    }
    if (nodes.length === 0) throw new ClientConfigError('no broker is registered with the NameServer; start a broker group first');
    await askEach(nodes, async (n) => {
      n.result = await this.deleteExpiredCommitLogAt(n.addr);
      if (n.brokerName === '') n.brokerName = n.result.brokerName;
    });
    return nodes;
  }

  /**
   * RAFT_TRANSFER_LEADER (1500) to the group's current leader; resolves once the broker reports
   * the new leader. `targetNodeId` absent lets the leader pick its most up-to-date follower.
   */
  async transferLeader(brokerName: string, targetNodeId?: string, timeoutMs = 10_000): Promise<TransferLeaderResult> {
    const instance = this.running();
    const info = await instance.namesrv.getClusterInfo();
    const addr = info.brokerAddrTable[brokerName]?.brokerAddrs[String(MASTER_ID)];
    if (addr === undefined) {
      throw new ClientConfigError(`broker group '${brokerName}' has no leader registered; check the name ('rmq admin clusterList' lists them; known: ${Object.keys(info.brokerAddrTable).join(', ') || 'none'})`);
    }
    return this.transferLeaderAt(addr, targetNodeId, timeoutMs);
  }

  /** Like transferLeader, asking the node at `brokerAddr` (a follower relays it to its leader). */
  async transferLeaderAt(brokerAddr: string, targetNodeId?: string, timeoutMs = 10_000): Promise<TransferLeaderResult> {
    const instance = this.running();
    const addr = brokerAddr;
    const req = makeRequest(RaftRequestCode.RAFT_TRANSFER_LEADER, targetNodeId === undefined ? {} : { targetNodeId });
    const resp = await instance.invoke(addr, req, timeoutMs);
    if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
    return parseBody<TransferLeaderResult>(resp, 'transfer leader result');
  }

  /** UPDATE_AND_CREATE_ACL_CONFIG (50) on every group's leader; returns the addresses that accepted it. */
  async updateAclConfig(account: AclAccountSpec, clusterName?: string): Promise<string[]> {
    return acl.updateAclConfig(this.running(), account, clusterName);
  }

  /** DELETE_ACL_CONFIG (51) on every group's leader. */
  async deleteAclConfig(accessKey: string, clusterName?: string): Promise<string[]> {
    return acl.deleteAclConfig(this.running(), accessKey, clusterName);
  }

  /** GET_BROKER_CLUSTER_ACL_INFO (52) from every group's leader. */
  async getAclConfig(clusterName?: string): Promise<GroupAclConfig[]> {
    return acl.getAclConfig(this.running(), clusterName);
  }

  /**
   * RAFT_CHANGE_MEMBERS (1503) through the group's leader: add a learner (with its Raft address,
   * host:port), promote a learner to voter, or remove a member; resolves once it is in force.
   */
  async changeMembers(brokerName: string, kind: 'add-learner' | 'promote' | 'remove', nodeId: string, address?: string, timeoutMs = 15_000): Promise<ChangeMembersResult> {
    return changeMembers(this.running(), brokerName, kind, nodeId, address, timeoutMs);
  }

  private running(): ClientInstance {
    if (this.instance === undefined || this.instance.isClosed) throw new ClientStateError('call admin.start() first (or create a new Admin after shutdown)');
    return this.instance;
  }

  /** Offsets are replicated through Raft: any node of the group can answer (replica-fallback.ts). */
  private readFromAnyReplica<T>(mq: MessageQueue, read: (addr: string) => Promise<T>): Promise<T> {
    return withReplicaFallback(this.running().routes, mq.brokerName, this.addrOf(mq), read);
  }

  private addrOf(mq: MessageQueue): string {
    const addr = this.running().routes.addrFor(mq.brokerName);
    if (addr === undefined) throw new ClientConfigError(`broker group ${mq.brokerName} has no address in the route`);
    return addr;
  }
}

/** Asks every node at once; a node that fails keeps its error message instead of failing the rest. */
async function askEach<N extends { error?: string }>(nodes: N[], ask: (node: N) => Promise<void>): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      try {
        await ask(n);
      } catch (err) {
        n.error = err instanceof Error ? err.message : String(err);
      }
    }),
  );
}

/** Every node the NameServer lists, sorted by group then brokerId. */
function registeredNodes(info: ClusterInfo): { clusterName: string; brokerName: string; brokerId: number; addr: string }[] {
  const clusterOf = new Map<string, string>();
  for (const [cluster, names] of Object.entries(info.clusterAddrTable)) for (const n of names) clusterOf.set(n, cluster);
  const nodes: { clusterName: string; brokerName: string; brokerId: number; addr: string }[] = [];
  for (const bd of Object.values(info.brokerAddrTable)) {
    for (const [id, addr] of Object.entries(bd.brokerAddrs)) {
      nodes.push({ clusterName: clusterOf.get(bd.brokerName) ?? bd.cluster, brokerName: bd.brokerName, brokerId: Number(id), addr });
    }
  }
  return nodes.sort((a, b) => (a.brokerName === b.brokerName ? a.brokerId - b.brokerId : a.brokerName < b.brokerName ? -1 : 1));
}

function brokerNameOf(info: ClusterInfo | undefined, addr: string): string {
  for (const bd of Object.values(info?.brokerAddrTable ?? {})) if (Object.values(bd.brokerAddrs).includes(addr)) return bd.brokerName;
  return '';
}
