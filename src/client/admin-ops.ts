// The metadata and consumer administration of mqadmin, on a Raft broker group's leader (brokerId
// 0, which replicates each change through its log): topic deletion (every master, then every
// NameServer), subscription groups, the broker-side offset reset by time, consume stats and a
// consumer's running info (docs/client.md). Admin exposes them; kept apart to keep admin.ts small.
import {
  decodeMqTableBody,
  makeRequest,
  MASTER_ID,
  RequestCode,
  ResponseCode,
  type ClusterInfo,
  type RemotingCommand,
} from '../protocol/index.js';
import { getConsumerIdList } from './broker-api.js';
import { BrokerResponseError, ClientConfigError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { parseBody } from './namesrv-client.js';
import { checkGroup, checkTopic } from './validation.js';

export interface SubscriptionGroupSettings {
  groupName: string;
  consumeEnable?: boolean;
  retryQueueNums?: number;
  retryMaxTimes?: number;
  /** Orderly consumption: RocketMQ 5 PushConsumers of the group consume FIFO (gRPC endpoint). */
  consumeMessageOrderly?: boolean;
}

export interface QueueOffsetRow {
  topic: string;
  brokerName: string;
  queueId: number;
  offset: number;
}

export interface ConsumeStatsRow {
  topic: string;
  brokerName: string;
  queueId: number;
  brokerOffset: number;
  consumerOffset: number;
  diff: number;
  /** Store time (ms) of the last message consumed, the one just below consumerOffset; 0 when none. */
  lastTimestamp: number;
}

/** What a consumer reports about itself (GET_CONSUMER_RUNNING_INFO); see docs/client.md. */
export interface ConsumerRunningInfo {
  properties: Record<string, string>;
  subscriptionSet: { topic: string; subString: string; expressionType?: string }[];
  mqTable: { topic: string; brokerName: string; queueId: number; nextOffset: number; inflight: number; locked?: boolean; dropped: boolean }[];
}

export interface ConsumerStatus {
  clientId: string;
  info?: ConsumerRunningInfo;
  error?: string;
}

/** brokerName → master address, of every group (or one cluster's); throws when one has no master. */
export function mastersOf(info: ClusterInfo, clusterName?: string): [string, string][] {
  const names = clusterName === undefined ? Object.keys(info.brokerAddrTable) : info.clusterAddrTable[clusterName] ?? [];
  if (names.length === 0) {
    throw new ClientConfigError(clusterName === undefined ? 'no broker is registered with the NameServer; start a broker group first' : `cluster '${clusterName}' has no brokers; check the cluster name (see clusterInfo)`);
  }
  return names.sort().map((name) => {
    const addr = info.brokerAddrTable[name]?.brokerAddrs[String(MASTER_ID)];
    if (addr === undefined) throw new BrokerResponseError(name, 0, ResponseCode.SERVICE_NOT_AVAILABLE, `broker group ${name} has no master (leader) right now; retry when it has one`);
    return [name, addr];
  });
}

async function expectOk(instance: ClientInstance, addr: string, req: RemotingCommand, timeoutMs?: number): Promise<RemotingCommand> {
  const resp = await instance.invoke(addr, req, timeoutMs);
  if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
  return resp;
}

/** DELETE_TOPIC_IN_BROKER (215) on every master, then DELETE_TOPIC_IN_NAMESRV (216) on every NameServer. */
export async function deleteTopic(instance: ClientInstance, topic: string, clusterName?: string): Promise<string[]> {
  checkTopic(topic);
  const masters = mastersOf(await instance.namesrv.getClusterInfo(), clusterName);
  const done: string[] = [];
  for (const [, addr] of masters) {
    await expectOk(instance, addr, makeRequest(RequestCode.DELETE_TOPIC_IN_BROKER, { topic }));
    done.push(addr);
  }
  // Brokers first: one still listing the topic would register it again.
  for (const addr of instance.namesrv.addrs) await expectOk(instance, addr, makeRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic }));
  return done;
}

/** UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) on every master. */
export async function updateSubscriptionGroup(instance: ClientInstance, settings: SubscriptionGroupSettings, clusterName?: string): Promise<string[]> {
  checkGroup(settings.groupName);
  const body = Buffer.from(JSON.stringify({
    groupName: settings.groupName,
    consumeEnable: settings.consumeEnable ?? true,
    retryQueueNums: settings.retryQueueNums ?? 1,
    retryMaxTimes: settings.retryMaxTimes ?? 16,
    consumeMessageOrderly: settings.consumeMessageOrderly ?? false,
  }));
  const masters = mastersOf(await instance.namesrv.getClusterInfo(), clusterName);
  for (const [, addr] of masters) await expectOk(instance, addr, makeRequest(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, { body }));
  return masters.map(([, a]) => a);
}

/** DELETE_SUBSCRIPTIONGROUP (207) on every master; `cleanOffset` also drops the group's offsets. */
export async function deleteSubscriptionGroup(instance: ClientInstance, group: string, options: { cleanOffset?: boolean; clusterName?: string } = {}): Promise<{ addr: string; remark: string }[]> {
  checkGroup(group);
  const masters = mastersOf(await instance.namesrv.getClusterInfo(), options.clusterName);
  const out: { addr: string; remark: string }[] = [];
  for (const [, addr] of masters) {
    const resp = await expectOk(instance, addr, makeRequest(RequestCode.DELETE_SUBSCRIPTIONGROUP, { groupName: group, cleanOffset: String(options.cleanOffset ?? false) }));
    out.push({ addr, remark: resp.remark ?? '' });
  }
  return out;
}

/** The broker groups serving `topic` (from its route) and their masters. */
async function topicMasters(instance: ClientInstance, topic: string): Promise<[string, string][]> {
  const route = await instance.namesrv.getRoute(topic);
  const names = [...new Set(route.queueDatas.map((q) => q.brokerName))].sort();
  return names.map((name) => {
    const addr = route.brokerDatas.find((b) => b.brokerName === name)?.brokerAddrs[String(MASTER_ID)];
    if (addr === undefined) throw new BrokerResponseError(name, 0, ResponseCode.SERVICE_NOT_AVAILABLE, `broker group ${name} has no master (leader) right now; retry when it has one`);
    return [name, addr];
  });
}

/**
 * INVOKE_BROKER_TO_RESET_OFFSET (222) at the master of every group serving the topic: the group's
 * offsets go to the first message stored at or after `timestampMs` (-1: each queue's end);
 * without `force` only offsets that move back change. Returns the offsets now in force.
 */
export async function resetOffsetByTime(instance: ClientInstance, group: string, topic: string, timestampMs: number, force = true): Promise<QueueOffsetRow[]> {
  checkGroup(group);
  checkTopic(topic);
  const out: QueueOffsetRow[] = [];
  for (const [, addr] of await topicMasters(instance, topic)) {
    const resp = await expectOk(instance, addr, makeRequest(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, { topic, group, timestamp: String(timestampMs), isForce: String(force) }));
    for (const [mq, offset] of decodeMqTableBody<number>(resp.body, 'offsetTable', `reset offset answer of ${addr}`).rows) out.push({ ...mq, offset: Number(offset) });
  }
  return out.sort((a, b) => (a.brokerName === b.brokerName ? a.queueId - b.queueId : a.brokerName < b.brokerName ? -1 : 1));
}

/**
 * GET_CONSUME_STATS (208) at every master (of the topic's groups when `topic` is given): the
 * group's committed offset against each queue's max offset, as the brokers hold them.
 */
export async function consumeStats(instance: ClientInstance, group: string, topic?: string): Promise<ConsumeStatsRow[]> {
  checkGroup(group);
  if (topic !== undefined) checkTopic(topic);
  const masters = topic === undefined ? mastersOf(await instance.namesrv.getClusterInfo()) : await topicMasters(instance, topic);
  const out: ConsumeStatsRow[] = [];
  for (const [, addr] of masters) {
    const resp = await expectOk(instance, addr, makeRequest(RequestCode.GET_CONSUME_STATS, { consumerGroup: group, ...(topic === undefined ? {} : { topic }) }));
    const { rows } = decodeMqTableBody<{ brokerOffset: number; consumerOffset: number; lastTimestamp?: number }>(resp.body, 'offsetTable', `consume stats of ${addr}`);
    for (const [mq, w] of rows) out.push({ ...mq, brokerOffset: w.brokerOffset, consumerOffset: w.consumerOffset, diff: w.brokerOffset - w.consumerOffset, lastTimestamp: w.lastTimestamp ?? 0 });
  }
  return out.sort((a, b) => (a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.brokerName !== b.brokerName ? (a.brokerName < b.brokerName ? -1 : 1) : a.queueId - b.queueId));
}

/**
 * GET_CONSUMER_RUNNING_INFO (307) through a master for each online client of the group (or only
 * `clientId`); a client that cannot answer is reported with the broker's remark.
 */
export async function consumerStatus(instance: ClientInstance, group: string, clientId?: string): Promise<ConsumerStatus[]> {
  checkGroup(group);
  const [[, addr]] = mastersOf(await instance.namesrv.getClusterInfo()) as [[string, string]];
  const ids = clientId !== undefined ? [clientId] : await getConsumerIdList(instance, addr, group);
  const out: ConsumerStatus[] = [];
  for (const id of ids.sort()) {
    try {
      const resp = await expectOk(instance, addr, makeRequest(RequestCode.GET_CONSUMER_RUNNING_INFO, { consumerGroup: group, clientId: id, jstackEnable: 'false' }));
      out.push({ clientId: id, info: parseBody<ConsumerRunningInfo>(resp, `running info of ${id}`) });
    } catch (err) {
      out.push({ clientId: id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}
