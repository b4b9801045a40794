// The NameServer's routing state: topic queue table, broker address table, cluster table and
// broker live table. It is pure (the clock is passed in) so the master-election rules and expiry
// are unit-testable. Raft rule: a broker group's master (brokerId 0) is the registrant with the
// highest raftTerm; a claim of id 0 with a lower (or equal, from another address) term is ignored
// while the master keeps registering. A claim that lost is remembered (with its topic table) so
// that when the master expires, unregisters or falls silent for longer than `masterSilenceMs`
// the best live claimant (highest term) takes over at once instead of at its next registration.
// A silent master also loses to a lower-term claim: Raft terms never go down, so a live leader
// with a lower term means the group's disks were wiped and it restarted (docs/operations.md).
import { assert } from '../common/assert.js';
import {
  MASTER_ID,
  PERM_READ_WRITE,
  type BrokerData,
  type ClusterInfo,
  type QueueData,
  type TopicConfig,
  type TopicRouteData,
} from '../protocol/route-data.js';

export const RETRY_TOPIC_PREFIX = '%RETRY%';
export const DEFAULT_TOPIC_QUEUE_NUMS = 8;

export interface BrokerRegistration {
  clusterName: string;
  brokerName: string;
  brokerAddr: string;
  brokerId: number;
  haServerAddr: string;
  /** Raft term of the registrant; 0 for brokers that are not Raft groups. */
  raftTerm: number;
  /** undefined: the registration carried no topic table (keep what is known). */
  topicConfigs: TopicConfig[] | undefined;
  /** The registrant's Raft node id and configuration in force (brokers with membership changes). */
  raftMembers?: { nodeId: string; index: number; voters: string[]; learners: string[] };
  autoCreateTopicEnable: boolean;
  defaultTopicQueueNums: number;
}

export interface RegisterResult {
  /** false when a claim of brokerId 0 lost to a registrant with a higher term. */
  accepted: boolean;
  masterAddr: string | undefined;
  masterRaftTerm: number | undefined;
  masterHaServerAddr: string | undefined;
}

interface BrokerLiveInfo {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: number;
  readonly raftTerm: number;
  readonly haServerAddr: string;
  readonly autoCreateTopicEnable: boolean;
  readonly defaultTopicQueueNums: number;
  lastUpdateMs: number;
  /** The topic table of a brokerId-0 claim that lost (undefined: none sent, or not a lost claim). */
  readonly claimTopics: TopicConfig[] | undefined;
  readonly raftNodeId?: string;
}

/** A master registers every 30 s; silent for 1.5 rounds it has most likely stopped. */
export const DEFAULT_MASTER_SILENCE_MS = 45_000;

export interface RouteInfoOptions {
  /**
   * A master not heard from for longer than this yields brokerId 0 to a live claimant, whatever
   * the claimant's term (must exceed the brokers' 30 s registration interval).
   */
  masterSilenceMs?: number;
}

interface BrokerGroup {
  cluster: string;
  readonly brokerName: string;
  readonly addrs: Map<number, string>;
  /** Term of the address that holds brokerId 0; undefined when there is no master. */
  masterTerm: number | undefined;
  /** The newest configuration any node of the group registered (highest Config entry index). */
  members?: { index: number; voters: string[]; learners: string[] };
}

export class RouteInfoManager {
  private readonly topicQueueTable = new Map<string, Map<string, StoredQueueData>>();
  private readonly brokerAddrTable = new Map<string, BrokerGroup>();
  private readonly clusterAddrTable = new Map<string, Set<string>>();
  private readonly brokerLiveTable = new Map<string, BrokerLiveInfo>();
  private readonly masterSilenceMs: number;

  constructor(options: RouteInfoOptions = {}) {
    this.masterSilenceMs = options.masterSilenceMs ?? DEFAULT_MASTER_SILENCE_MS;
    assert(this.masterSilenceMs > 0, 'masterSilenceMs must be positive');
  }

  register(reg: BrokerRegistration, nowMs: number): RegisterResult {
    assert(Number.isInteger(reg.brokerId) && reg.brokerId >= 0, `brokerId must be a non-negative integer, got ${reg.brokerId}`);
    const previous = this.brokerLiveTable.get(reg.brokerAddr);
    if (previous !== undefined && previous.brokerName !== reg.brokerName) this.removeAddr(previous.brokerName, reg.brokerAddr);
    this.brokerLiveTable.set(reg.brokerAddr, {
      clusterName: reg.clusterName,
      brokerName: reg.brokerName,
      brokerId: reg.brokerId,
      raftTerm: reg.raftTerm,
      haServerAddr: reg.haServerAddr,
      autoCreateTopicEnable: reg.autoCreateTopicEnable,
      defaultTopicQueueNums: reg.defaultTopicQueueNums,
      lastUpdateMs: nowMs,
      claimTopics: undefined,
      ...(reg.raftMembers !== undefined ? { raftNodeId: reg.raftMembers.nodeId } : {}),
    });

    let names = this.clusterAddrTable.get(reg.clusterName);
    if (names === undefined) this.clusterAddrTable.set(reg.clusterName, (names = new Set()));
    names.add(reg.brokerName);

    let group = this.brokerAddrTable.get(reg.brokerName);
    if (group === undefined) {
      group = { cluster: reg.clusterName, brokerName: reg.brokerName, addrs: new Map(), masterTerm: undefined };
      this.brokerAddrTable.set(reg.brokerName, group);
    }
    group.cluster = reg.clusterName;
    const m = reg.raftMembers;
    // Configurations only move forward: a lagging node's older one does not replace it.
    if (m !== undefined && (group.members === undefined || m.index >= group.members.index)) group.members = { index: m.index, voters: [...m.voters], learners: [...m.learners] };

    let accepted = true;
    if (reg.brokerId === MASTER_ID) {
      const current = group.addrs.get(MASTER_ID);
      const currentTerm = group.masterTerm ?? -1;
      accepted = current === undefined || current === reg.brokerAddr || reg.raftTerm > currentTerm || this.isSilent(current, nowMs);
      if (accepted) {
        this.dropAddrFromGroup(group, reg.brokerAddr);
        group.addrs.set(MASTER_ID, reg.brokerAddr);
        group.masterTerm = reg.raftTerm;
      } else {
        // Kept so the claim can be promoted without waiting for its next registration.
        this.brokerLiveTable.set(reg.brokerAddr, { ...this.brokerLiveTable.get(reg.brokerAddr)!, claimTopics: reg.topicConfigs });
      }
    } else {
      this.dropAddrFromGroup(group, reg.brokerAddr);
      group.addrs.set(reg.brokerId, reg.brokerAddr);
    }

    if (accepted && reg.topicConfigs !== undefined) {
      if (reg.brokerId === MASTER_ID) this.replaceTopics(reg.brokerName, reg.topicConfigs);
      else this.addMissingTopics(reg.brokerName, reg.topicConfigs);
    }
    const masterAddr = group.addrs.get(MASTER_ID);
    return {
      accepted,
      masterAddr,
      masterRaftTerm: group.masterTerm,
      masterHaServerAddr: masterAddr === undefined ? undefined : this.brokerLiveTable.get(masterAddr)?.haServerAddr,
    };
  }

  /** Removes one broker address (UNREGISTER_BROKER); a master leaving hands id 0 to its best live claimant. */
  unregister(brokerName: string, brokerAddr: string, nowMs: number): void {
    const live = this.brokerLiveTable.get(brokerAddr);
    if (live !== undefined && live.brokerName === brokerName) this.brokerLiveTable.delete(brokerAddr);
    this.removeAddr(brokerName, brokerAddr);
    this.promoteClaimants(nowMs);
  }

  /**
   * Removes addresses not refreshed for more than expiryMs and returns them; then every group
   * left without a master, or whose master is silent for longer than masterSilenceMs, gets its
   * best live claimant as master at once.
   */
  expire(nowMs: number, expiryMs: number): string[] {
    const expired: string[] = [];
    for (const [addr, live] of this.brokerLiveTable) {
      if (nowMs - live.lastUpdateMs <= expiryMs) continue;
      expired.push(addr);
      this.brokerLiveTable.delete(addr);
      this.removeAddr(live.brokerName, addr);
    }
    this.promoteClaimants(nowMs);
    return expired;
  }

  /** Whether the registrant at `addr` has not registered for longer than masterSilenceMs. */
  private isSilent(addr: string, nowMs: number): boolean {
    const live = this.brokerLiveTable.get(addr);
    return live === undefined || nowMs - live.lastUpdateMs > this.masterSilenceMs;
  }

  /**
   * Gives brokerId 0 to the best claimant (highest term, then latest registration) of every group
   * whose master is gone or silent; a claimant must not be silent itself.
   */
  private promoteClaimants(nowMs: number): void {
    const best = new Map<string, [string, BrokerLiveInfo]>();
    for (const [addr, live] of this.brokerLiveTable) {
      if (live.brokerId !== MASTER_ID || this.isSilent(addr, nowMs)) continue;
      const master = this.brokerAddrTable.get(live.brokerName)?.addrs.get(MASTER_ID);
      if (master === addr || (master !== undefined && !this.isSilent(master, nowMs))) continue;
      const other = best.get(live.brokerName)?.[1];
      if (other === undefined || live.raftTerm > other.raftTerm || (live.raftTerm === other.raftTerm && live.lastUpdateMs > other.lastUpdateMs)) best.set(live.brokerName, [addr, live]);
    }
    for (const [addr, live] of best.values()) this.promote(addr, live);
  }

  private promote(addr: string, live: BrokerLiveInfo): void {
    let group = this.brokerAddrTable.get(live.brokerName);
    if (group === undefined) {
      group = { cluster: live.clusterName, brokerName: live.brokerName, addrs: new Map(), masterTerm: undefined };
      this.brokerAddrTable.set(live.brokerName, group);
      let names = this.clusterAddrTable.get(live.clusterName);
      if (names === undefined) this.clusterAddrTable.set(live.clusterName, (names = new Set()));
      names.add(live.brokerName);
    }
    const old = group.addrs.get(MASTER_ID);
    if (old !== undefined) this.dropAddrFromGroup(group, old);
    this.dropAddrFromGroup(group, addr);
    group.addrs.set(MASTER_ID, addr);
    group.masterTerm = live.raftTerm;
    if (live.claimTopics !== undefined) this.replaceTopics(live.brokerName, live.claimTopics);
    this.brokerLiveTable.set(addr, { ...live, claimTopics: undefined });
  }

  /** The route of a topic, or undefined when no live broker group serves it or may create it. */
  getRoute(topic: string): TopicRouteData | undefined {
    const queueDatas: QueueData[] = [];
    const queueMap = this.topicQueueTable.get(topic);
    if (queueMap !== undefined) {
      for (const { order: _order, ...qd } of queueMap.values()) if (this.brokerAddrTable.has(qd.brokerName)) queueDatas.push(qd);
    }
    if (topic.startsWith(RETRY_TOPIC_PREFIX)) {
      // Retry topics exist on every group, one queue each, whether or not a broker listed them yet.
      for (const name of this.brokerAddrTable.keys()) {
        if (queueMap?.has(name) !== true) queueDatas.push(queueData(name, 1, PERM_READ_WRITE));
      }
    } else if (queueDatas.length === 0) {
      // ali-ons never falls back to TBW102, so an auto-create broker must be offered directly.
      for (const group of this.brokerAddrTable.values()) {
        const masterAddr = group.addrs.get(MASTER_ID);
        const master = masterAddr === undefined ? undefined : this.brokerLiveTable.get(masterAddr);
        if (master?.autoCreateTopicEnable === true) queueDatas.push(queueData(group.brokerName, master.defaultTopicQueueNums, PERM_READ_WRITE));
      }
    }
    if (queueDatas.length === 0) return undefined;
    const brokerDatas: BrokerData[] = [];
    for (const qd of queueDatas) {
      const group = this.brokerAddrTable.get(qd.brokerName);
      assert(group !== undefined, 'queue data listed only for known groups');
      brokerDatas.push(toBrokerData(group));
    }
    // An ordered topic's layout as RocketMQ serves it: "brokerName:writeQueueNums;..." of the
    // groups that mark it ordered; clients then publish to exactly those queues.
    const ordered = [...(queueMap?.values() ?? [])].filter((qd) => qd.order && this.brokerAddrTable.has(qd.brokerName));
    const orderTopicConf = ordered.map((qd) => `${qd.brokerName}:${qd.writeQueueNums}`).join(';');
    return { brokerDatas, queueDatas, filterServerTable: {}, ...(orderTopicConf !== '' ? { orderTopicConf } : {}) };
  }

  /**
   * DELETE_TOPIC_IN_NAMESRV: forgets the topic's route (every group). A broker that still lists
   * it puts it back at its next registration, so brokers delete first (mqadmin's order).
   */
  deleteTopic(topic: string): boolean {
    return this.topicQueueTable.delete(topic);
  }

  getClusterInfo(): ClusterInfo {
    const brokerAddrTable: Record<string, BrokerData> = {};
    for (const group of this.brokerAddrTable.values()) {
      const bd = toBrokerData(group);
      if (group.members !== undefined) {
        const nodes: Record<string, string> = {};
        for (const addr of group.addrs.values()) {
          const id = this.brokerLiveTable.get(addr)?.raftNodeId;
          if (id !== undefined) nodes[addr] = id;
        }
        bd.raftMembers = { ...group.members, voters: [...group.members.voters], learners: [...group.members.learners], nodes };
      }
      brokerAddrTable[group.brokerName] = bd;
    }
    const clusterAddrTable: Record<string, string[]> = {};
    for (const [cluster, names] of this.clusterAddrTable) clusterAddrTable[cluster] = [...names].sort();
    return { brokerAddrTable, clusterAddrTable };
  }

  getTopicNames(): string[] {
    return [...this.topicQueueTable.keys()].sort();
  }

  /** brokerId → address of one group (a copy), for tests and admin tools. */
  getBrokerAddrs(brokerName: string): Map<number, string> {
    return new Map(this.brokerAddrTable.get(brokerName)?.addrs ?? []);
  }

  getMasterTerm(brokerName: string): number | undefined {
    return this.brokerAddrTable.get(brokerName)?.masterTerm;
  }

  get liveBrokerCount(): number {
    return this.brokerLiveTable.size;
  }

  private dropAddrFromGroup(group: BrokerGroup, addr: string): void {
    for (const [id, a] of group.addrs) {
      if (a !== addr) continue;
      group.addrs.delete(id);
      if (id === MASTER_ID) group.masterTerm = undefined;
    }
  }

  private removeAddr(brokerName: string, addr: string): void {
    const group = this.brokerAddrTable.get(brokerName);
    if (group === undefined) return;
    this.dropAddrFromGroup(group, addr);
    if (group.addrs.size > 0) return;
    this.brokerAddrTable.delete(brokerName);
    const names = this.clusterAddrTable.get(group.cluster);
    names?.delete(brokerName);
    if (names !== undefined && names.size === 0) this.clusterAddrTable.delete(group.cluster);
    for (const [topic, queueMap] of this.topicQueueTable) {
      queueMap.delete(brokerName);
      if (queueMap.size === 0) this.topicQueueTable.delete(topic);
    }
  }

  /** The master's table is authoritative for its group: topics it no longer lists are dropped. */
  private replaceTopics(brokerName: string, configs: TopicConfig[]): void {
    const listed = new Set<string>();
    for (const tc of configs) {
      listed.add(tc.topicName);
      this.putQueueData(tc, brokerName);
    }
    for (const [topic, queueMap] of this.topicQueueTable) {
      if (listed.has(topic) || !queueMap.has(brokerName)) continue;
      queueMap.delete(brokerName);
      if (queueMap.size === 0) this.topicQueueTable.delete(topic);
    }
  }

  /** A follower's table may lag the master's, so it only fills gaps. */
  private addMissingTopics(brokerName: string, configs: TopicConfig[]): void {
    for (const tc of configs) {
      if (this.topicQueueTable.get(tc.topicName)?.has(brokerName) !== true) this.putQueueData(tc, brokerName);
    }
  }

  private putQueueData(tc: TopicConfig, brokerName: string): void {
    let queueMap = this.topicQueueTable.get(tc.topicName);
    if (queueMap === undefined) this.topicQueueTable.set(tc.topicName, (queueMap = new Map()));
    queueMap.set(brokerName, {
      brokerName,
      readQueueNums: tc.readQueueNums,
      writeQueueNums: tc.writeQueueNums,
      perm: tc.perm,
      topicSysFlag: tc.topicSysFlag,
      order: tc.order === true,
    });
  }
}

/** A group's queues of a topic as the table keeps them: the wire QueueData plus the order flag. */
interface StoredQueueData extends QueueData {
  order: boolean;
}

function queueData(brokerName: string, queueNums: number, perm: number): QueueData {
  return { brokerName, readQueueNums: queueNums, writeQueueNums: queueNums, perm, topicSysFlag: 0 };
}

function toBrokerData(group: BrokerGroup): BrokerData {
  const brokerAddrs: Record<string, string> = {};
  for (const [id, addr] of [...group.addrs].sort((a, b) => a[0] - b[0])) brokerAddrs[String(id)] = addr;
  return { cluster: group.cluster, brokerName: group.brokerName, brokerAddrs };
}
