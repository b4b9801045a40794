// The client's view of routes: TopicRouteData per topic, the queues a producer may write and a
// consumer may read, and the broker address table (brokerName → brokerId → address) merged from
// every route. A refresh replaces a group's addresses wholesale, so after a Raft leader change the
// new leader (registered as brokerId 0) is used as soon as one route query has seen it.
import type { Logger } from '../common/logger.js';
import { MASTER_ID, PERM_READ, PERM_WRITE, type TopicRouteData } from '../protocol/index.js';
import { NoQueueError } from './client-errors.js';
import type { MessageQueue } from './message.js';
import type { NamesrvClient } from './namesrv-client.js';

export interface TopicInfo {
  readonly topic: string;
  readonly route: TopicRouteData;
  /**
   * Writable queues whose group has a master, sorted by broker name then queue id; for an ordered
   * topic (the route carries orderTopicConf) exactly the queues the conf names, in its order.
   */
  readonly writeQueues: readonly MessageQueue[];
  /** Readable queues, sorted the same way. */
  readonly readQueues: readonly MessageQueue[];
  readonly fetchedAtMs: number;
}

/** brokerAddrs keys are decimal strings; the master's, made once. */
const MASTER_KEY = String(MASTER_ID);

/** Topics cached at most; the least recently fetched is dropped first. */
const MAX_CACHED_TOPICS = 10_000;

function byName(a: { brokerName: string }, b: { brokerName: string }): number {
  return a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0;
}

export class RouteCache {
  private readonly topics = new Map<string, TopicInfo>();
  private readonly inflight = new Map<string, Promise<TopicInfo>>();
  private readonly brokerAddrs = new Map<string, Record<string, string>>();

  constructor(
    private readonly namesrv: NamesrvClient,
    private readonly log: Logger,
  ) {}

  /** The cached route, or a fresh one on first use. */
  async get(topic: string): Promise<TopicInfo> {
    return this.topics.get(topic) ?? this.refresh(topic);
  }

  cached(topic: string): TopicInfo | undefined {
    return this.topics.get(topic);
  }

  /** Queries the NameServer now; concurrent callers share one query. */
  refresh(topic: string): Promise<TopicInfo> {
    const running = this.inflight.get(topic);
    if (running !== undefined) return running;
    const p = this.namesrv
      .getRoute(topic)
      .then((route) => this.store(topic, route))
      .finally(() => this.inflight.delete(topic));
    this.inflight.set(topic, p);
    return p;
  }

  /** Refreshes every cached topic; failures are logged and keep the old route. */
  async refreshAll(): Promise<void> {
    await Promise.all(
      [...this.topics.keys()].map((topic) =>
        this.refresh(topic).catch((err: unknown) => this.log.warn({ err, topic }, 'route refresh failed; keeping the cached route')),
      ),
    );
  }

  cachedTopics(): string[] {
    return [...this.topics.keys()];
  }

  masterAddr(brokerName: string): string | undefined {
    return this.brokerAddrs.get(brokerName)?.[MASTER_KEY];
  }

  /** The address of brokerId `id`, else the master, else any address of the group. */
  addrFor(brokerName: string, id = MASTER_ID): string | undefined {
    const addrs = this.brokerAddrs.get(brokerName);
    if (addrs === undefined) return undefined;
    return addrs[String(id)] ?? addrs[String(MASTER_ID)] ?? Object.values(addrs)[0];
  }

  /** Every address of one broker group, in brokerId order. */
  groupAddrs(brokerName: string): string[] {
    const addrs = this.brokerAddrs.get(brokerName) ?? {};
    return Object.keys(addrs).sort((a, b) => Number(a) - Number(b)).map((id) => addrs[id]!);
  }

  /** Every broker address known from any route (heartbeats go to all of them). */
  allAddrs(): string[] {
    const out = new Set<string>();
    for (const addrs of this.brokerAddrs.values()) for (const a of Object.values(addrs)) out.add(a);
    return [...out];
  }

  brokerNames(): string[] {
    return [...this.brokerAddrs.keys()].sort();
  }

  writeQueuesOrThrow(info: TopicInfo): readonly MessageQueue[] {
    if (info.writeQueues.length === 0) throw new NoQueueError(info.topic, 'writable');
    return info.writeQueues;
  }

  private store(topic: string, route: TopicRouteData): TopicInfo {
    const brokerDatas = [...route.brokerDatas].sort(byName);
    for (const bd of brokerDatas) this.brokerAddrs.set(bd.brokerName, { ...bd.brokerAddrs });
    // An ordered topic (orderTopicConf) keeps the fixed queue list the conf names, as RocketMQ's
    // clients do, so a key keeps its queue while a group is down or read-only.
    const ordered = orderedWriteQueues(topic, route.orderTopicConf);
    const writeQueues: MessageQueue[] = ordered ?? [];
    const readQueues: MessageQueue[] = [];
    for (const qd of [...route.queueDatas].sort(byName)) {
      const bd = brokerDatas.find((b) => b.brokerName === qd.brokerName);
      if (ordered === undefined && (qd.perm & PERM_WRITE) !== 0 && bd?.brokerAddrs[String(MASTER_ID)] !== undefined) {
        for (let q = 0; q < qd.writeQueueNums; q++) writeQueues.push({ topic, brokerName: qd.brokerName, queueId: q });
      }
      if ((qd.perm & PERM_READ) !== 0 && bd !== undefined) {
        for (let q = 0; q < qd.readQueueNums; q++) readQueues.push({ topic, brokerName: qd.brokerName, queueId: q });
      }
    }
    const info: TopicInfo = { topic, route, writeQueues, readQueues, fetchedAtMs: Date.now() };
    this.topics.delete(topic);
    this.topics.set(topic, info);
    if (this.topics.size > MAX_CACHED_TOPICS) {
      const oldest = this.topics.keys().next().value;
      if (oldest !== undefined) this.topics.delete(oldest);
    }
    return info;
  }
}

/** Queues per group an orderTopicConf item may name (a topic has at most 1,024). */
const MAX_ORDER_CONF_QUEUES = 1024;

/**
 * The write queues of an ordered topic's `orderTopicConf` (`brokerName:queueNums` items joined by
 * ';'), or undefined when the route has none. Malformed items are skipped.
 */
export function orderedWriteQueues(topic: string, conf: string | undefined): MessageQueue[] | undefined {
  if (conf === undefined || conf === '') return undefined;
  const out: MessageQueue[] = [];
  for (const item of conf.split(';')) {
    const colon = item.lastIndexOf(':');
    const brokerName = item.slice(0, colon);
    const nums = Number(item.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(nums) || nums < 0 || nums > MAX_ORDER_CONF_QUEUES) continue;
    for (let q = 0; q < nums; q++) out.push({ topic, brokerName, queueId: q });
  }
  return out.length === 0 ? undefined : out;
}
