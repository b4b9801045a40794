// A test double of one broker node, in process and in memory, speaking the real remoting protocol
// through RemotingServer: register with a NameServer (103, with a raftTerm), send (310/320), pull
// (11, long poll), consumer offsets (14/15), max/min offset (30/31), offset by time (29), heartbeat
// (34), unregister (35), consumer list (38, and NOTIFY_CONSUMER_IDS_CHANGED on changes), send back
// (36), create topic (17), view by id (33), query by key (12) and the Raft admin codes (1500/1501).
// Several FakeBrokers may share one FakeGroupStore to act as the replicas of one Raft group: the
// "leader" is whichever registered as brokerId 0 with the highest term. It is deliberately simple
// (no delay levels, no DLQ timing) and is not the broker.
import zlib from 'node:zlib';
import {
  makeRequest,
  makeResponse,
  parseSendMessageHeader,
  RemotingClient,
  RemotingServer,
  RequestCode,
  ResponseCode,
  decodeJsonBody,
  encodeJsonBody,
  encodeMqTableBody,
  type RemotingChannel,
  type RemotingCommand,
} from '../../src/protocol/index.js';
import { decodeBatch } from '../../src/client/batch-encoder.js';
import { createOffsetMsgId } from '../../src/client/message-id.js';
import { parseProperties } from '../../src/client/message.js';
import { createLogger } from '../../src/common/logger.js';
import { NameServer } from '../../src/namesrv/namesrv.js';

export interface StoredMessage {
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  body: Buffer;
  sysFlag: number;
  flag: number;
  properties: string;
  props: Record<string, string>;
  reconsumeTimes: number;
  bornTimestamp: number;
  storeTimestamp: number;
  storeHost: string;
  storePort: number;
  record: Buffer;
}

export interface SendBackRecord {
  group: string;
  offset: number;
  originMsgId: string;
  originTopic: string;
}

const MAGIC_V1 = 0xdaa320a7 | 0;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0) >>> 0;
}

export function encodeRecord(m: Omit<StoredMessage, 'record' | 'props'>): Buffer {
  const topic = Buffer.from(m.topic);
  const props = Buffer.from(m.properties);
  const size = 91 + m.body.length + topic.length + props.length;
  const b = Buffer.alloc(size);
  b.writeInt32BE(size, 0);
  b.writeInt32BE(MAGIC_V1, 4);
  b.writeInt32BE(zlib.crc32(m.body) & 0x7fffffff, 8);
  b.writeInt32BE(m.queueId, 12);
  b.writeInt32BE(m.flag, 16);
  b.writeBigInt64BE(BigInt(m.queueOffset), 20);
  b.writeBigInt64BE(BigInt(m.physicalOffset), 28);
  b.writeInt32BE(m.sysFlag, 36);
  b.writeBigInt64BE(BigInt(m.bornTimestamp), 40);
  b.writeUInt32BE(ipToInt('127.0.0.1'), 48);
  b.writeInt32BE(40000, 52);
  b.writeBigInt64BE(BigInt(m.storeTimestamp), 56);
  b.writeUInt32BE(ipToInt(m.storeHost), 64);
  b.writeInt32BE(m.storePort, 68);
  b.writeInt32BE(m.reconsumeTimes, 72);
  b.writeBigInt64BE(0n, 76);
  b.writeInt32BE(m.body.length, 84);
  m.body.copy(b, 88);
  let p = 88 + m.body.length;
  b.writeInt8(topic.length, p);
  topic.copy(b, p + 1);
  p += 1 + topic.length;
  b.writeInt16BE(props.length, p);
  props.copy(b, p + 2);
  return b;
}

/** The replicated state of one broker group, shared by its FakeBroker "replicas". */
export class FakeGroupStore {
  readonly topics = new Map<string, { readQueueNums: number; writeQueueNums: number; perm: number }>();
  readonly queues = new Map<string, StoredMessage[][]>();
  readonly byPhysicalOffset = new Map<number, StoredMessage>();
  readonly offsets = new Map<string, number>();
  readonly sendBacks: SendBackRecord[] = [];
  private readonly waiters = new Map<string, Set<() => void>>();
  private nextPhysicalOffset = 0;

  createTopic(topic: string, queueNums: number, perm = 6): void {
    const existing = this.topics.get(topic);
    this.topics.set(topic, { readQueueNums: queueNums, writeQueueNums: queueNums, perm });
    let qs = this.queues.get(topic);
    if (qs === undefined) this.queues.set(topic, (qs = []));
    while (qs.length < queueNums) qs.push([]);
    void existing;
  }

  queue(topic: string, queueId: number): StoredMessage[] | undefined {
    return this.queues.get(topic)?.[queueId];
  }

  append(m: Omit<StoredMessage, 'record' | 'props' | 'queueOffset' | 'physicalOffset'>): StoredMessage {
    const q = this.queue(m.topic, m.queueId);
    if (q === undefined) throw new Error(`no queue ${m.topic}:${m.queueId}`);
    const base = { ...m, queueOffset: q.length, physicalOffset: this.nextPhysicalOffset };
    const record = encodeRecord(base);
    const stored: StoredMessage = { ...base, record, props: parseProperties(m.properties) };
    this.nextPhysicalOffset += record.length;
    q.push(stored);
    this.byPhysicalOffset.set(stored.physicalOffset, stored);
    const key = `${m.topic}:${m.queueId}`;
    const w = this.waiters.get(key);
    if (w !== undefined) {
      this.waiters.delete(key);
      for (const wake of w) wake();
    }
    return stored;
  }

  /** Resolves when a message lands in the queue or after timeoutMs. */
  waitFor(topic: string, queueId: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const key = `${topic}:${queueId}`;
      let set = this.waiters.get(key);
      if (set === undefined) this.waiters.set(key, (set = new Set()));
      const done = (): void => {
        clearTimeout(t);
        set!.delete(done);
        resolve();
      };
      const t = setTimeout(done, timeoutMs);
      set.add(done);
    });
  }

  /** Every stored message of a topic (all queues), in queue then offset order. */
  messages(topic: string): StoredMessage[] {
    return (this.queues.get(topic) ?? []).flat();
  }
}

export interface FakeBrokerOptions {
  store: FakeGroupStore;
  namesrvAddr: string;
  /** A port, or a source of ports to try in turn (client sockets may hold some of ours). */
  port: number | (() => number);
  brokerName?: string;
  clusterName?: string;
  brokerId?: number;
  raftTerm?: number;
  autoCreateTopicEnable?: boolean;
  defaultTopicQueueNums?: number;
  nodeId?: string;
}

export class FakeBroker {
  readonly store: FakeGroupStore;
  readonly brokerName: string;
  readonly requestCounts = new Map<number, number>();
  /** When set, sends are refused with SERVICE_NOT_AVAILABLE "not leader" (a deposed leader). */
  refuseSendsAsNotLeader = false;
  /** When set, CONSUMER_SEND_MSG_BACK fails (the consumer must re-send to the retry topic itself). */
  failSendBack = false;
  /** Extra delay before answering a send (to provoke timeouts). */
  sendDelayMs = 0;
  private readonly server = new RemotingServer({ logger: createLogger({ component: 'fake-broker' }) });
  private readonly client = new RemotingClient({ logger: createLogger({ component: 'fake-broker-client' }) });
  private readonly consumers = new Map<string, Map<string, RemotingChannel>>();
  private port = 0;
  private closed = false;

  constructor(private readonly options: FakeBrokerOptions) {
    this.store = options.store;
    this.brokerName = options.brokerName ?? 'broker-a';
    this.register();
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  count(code: number): number {
    return this.requestCounts.get(code) ?? 0;
  }

  async start(): Promise<void> {
    const source = this.options.port;
    this.port = await listenOnFreePort((port) => this.server.listen(port, '127.0.0.1').then((b) => b.port), typeof source === 'number' ? () => source : source);
    await this.registerWithNamesrv();
  }

  async registerWithNamesrv(): Promise<void> {
    const topicConfigTable: Record<string, unknown> = {};
    for (const [topicName, t] of this.store.topics) topicConfigTable[topicName] = { topicName, ...t, topicSysFlag: 0 };
    const req = makeRequest(
      RequestCode.REGISTER_BROKER,
      {
        brokerName: this.brokerName,
        brokerAddr: this.addr,
        clusterName: this.options.clusterName ?? 'DefaultCluster',
        haServerAddr: '',
        brokerId: String(this.options.brokerId ?? 0),
        raftTerm: String(this.options.raftTerm ?? 1),
      },
      {
        body: encodeJsonBody({
          topicConfigTable,
          autoCreateTopicEnable: this.options.autoCreateTopicEnable ?? true,
          defaultTopicQueueNums: this.options.defaultTopicQueueNums ?? 4,
        }),
      },
    );
    const resp = await this.client.invoke(this.options.namesrvAddr, req, 3000);
    if (resp.code !== ResponseCode.SUCCESS) throw new Error(`register failed: ${resp.code} ${resp.remark}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.server.close();
    await this.client.close();
  }

  private handle(code: number, fn: (req: RemotingCommand, ch: RemotingChannel) => RemotingCommand | undefined | Promise<RemotingCommand | undefined>): void {
    this.server.registerHandler(code, (req, ch) => {
      this.requestCounts.set(code, (this.requestCounts.get(code) ?? 0) + 1);
      return fn(req, ch);
    });
  }

  private ensureTopic(topic: string): boolean {
    if (this.store.topics.has(topic)) return true;
    if (topic.startsWith('%RETRY%')) {
      this.store.createTopic(topic, 1);
      void this.registerWithNamesrv().catch(() => undefined);
      return true;
    }
    if (this.options.autoCreateTopicEnable === false) return false;
    this.store.createTopic(topic, this.options.defaultTopicQueueNums ?? 4);
    void this.registerWithNamesrv().catch(() => undefined);
    return true;
  }

  private register(): void {
    const ext = (req: RemotingCommand, name: string): string => req.extFields[name] ?? '';
    const int = (req: RemotingCommand, name: string): number => Number(req.extFields[name] ?? '0');

    const storeOne = (topic: string, queueId: number, body: Buffer, sysFlag: number, flag: number, properties: string, bornTimestamp: number, reconsumeTimes: number): StoredMessage =>
      this.store.append({ topic, queueId, body, sysFlag, flag, properties, reconsumeTimes, bornTimestamp, storeTimestamp: Date.now(), storeHost: '127.0.0.1', storePort: this.port });

    const sendHandler = async (req: RemotingCommand): Promise<RemotingCommand> => {
      if (this.sendDelayMs > 0) await new Promise((r) => setTimeout(r, this.sendDelayMs));
      if (this.refuseSendsAsNotLeader) return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'not leader: this node is a follower now');
      const batch = req.code === RequestCode.SEND_BATCH_MESSAGE;
      const h = parseSendMessageHeader(req.extFields, req.extFields['b'] !== undefined);
      if (!this.ensureTopic(h.topic)) return makeResponse(req, ResponseCode.TOPIC_NOT_EXIST, `topic ${h.topic} not exist`);
      const q = this.store.queue(h.topic, h.queueId);
      if (q === undefined) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `queueId ${h.queueId} out of range`);
      const body = req.body ?? Buffer.alloc(0);
      const stored: StoredMessage[] = [];
      if (batch) {
        for (const e of decodeBatch(body)) stored.push(storeOne(h.topic, h.queueId, e.body, 0, e.flag, e.properties, h.bornTimestamp, 0));
      } else {
        stored.push(storeOne(h.topic, h.queueId, Buffer.from(body), h.sysFlag, h.flag, h.properties, h.bornTimestamp, h.reconsumeTimes));
      }
      const ids = stored.map((s) => createOffsetMsgId(s.storeHost, s.storePort, s.physicalOffset));
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {
        msgId: ids.join(','),
        queueId: String(h.queueId),
        queueOffset: String(stored[0]!.queueOffset),
      });
    };
    this.handle(RequestCode.SEND_MESSAGE_V2, sendHandler);
    this.handle(RequestCode.SEND_BATCH_MESSAGE, sendHandler);

    this.handle(RequestCode.PULL_MESSAGE, async (req) => {
      const topic = ext(req, 'topic');
      const queueId = int(req, 'queueId');
      const group = ext(req, 'consumerGroup');
      const sysFlag = int(req, 'sysFlag');
      const maxNums = Math.max(1, int(req, 'maxMsgNums'));
      const sub = ext(req, 'subscription');
      const tags = sub === '' || sub === '*' ? undefined : sub.split('||').map((t) => t.trim());
      if ((sysFlag & 1) !== 0 && int(req, 'commitOffset') >= 0) this.store.offsets.set(`${group}@${topic}@${queueId}`, int(req, 'commitOffset'));
      let offset = int(req, 'queueOffset');
      const q = this.store.queue(topic, queueId);
      const header = (next: number): Record<string, string> => ({
        nextBeginOffset: String(next),
        minOffset: '0',
        maxOffset: String(q?.length ?? 0),
        suggestWhichBrokerId: '0',
      });
      if (q === undefined) return makeResponse(req, ResponseCode.PULL_NOT_FOUND, 'no such queue', header(0));
      if (offset < 0 || offset > q.length) return makeResponse(req, ResponseCode.PULL_OFFSET_MOVED, 'offset out of range', header(offset < 0 ? 0 : q.length));
      if (offset === q.length && (sysFlag & 2) !== 0) {
        await this.store.waitFor(topic, queueId, Math.min(int(req, 'suspendTimeoutMillis') || 1000, 15_000));
      }
      if (offset >= q.length) return makeResponse(req, ResponseCode.PULL_NOT_FOUND, 'no new message', header(q.length));
      const found: Buffer[] = [];
      let scanned = 0;
      // Bounded by maxNums found and 4096 scanned.
      while (offset < q.length && found.length < maxNums && scanned < 4096) {
        const m = q[offset]!;
        offset++;
        scanned++;
        if (tags === undefined || tags.includes(m.props['TAGS'] ?? '')) found.push(m.record);
      }
      if (found.length === 0) return makeResponse(req, ResponseCode.PULL_RETRY_IMMEDIATELY, 'filtered', header(offset));
      return makeResponse(req, ResponseCode.SUCCESS, undefined, header(offset), Buffer.concat(found));
    });

    this.handle(RequestCode.QUERY_CONSUMER_OFFSET, (req) => {
      const o = this.store.offsets.get(`${ext(req, 'consumerGroup')}@${ext(req, 'topic')}@${int(req, 'queueId')}`);
      return o === undefined ? makeResponse(req, ResponseCode.QUERY_NOT_FOUND, 'not found') : makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(o) });
    });
    // Queue locks for orderly consumers: first come holds it until it unlocks (no expiry here).
    const locks = new Map<string, string>();
    const lockBody = (req: RemotingCommand): { consumerGroup: string; clientId: string; mqSet: { topic: string; brokerName: string; queueId: number }[] } => decodeJsonBody(req.body, 'lock body');
    this.handle(RequestCode.LOCK_BATCH_MQ, (req) => {
      const b = lockBody(req);
      const ok = b.mqSet.filter((q) => {
        const k = `${b.consumerGroup}@${q.topic}@${q.queueId}`;
        if ((locks.get(k) ?? b.clientId) !== b.clientId) return false;
        locks.set(k, b.clientId);
        return true;
      });
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ lockOKMQSet: ok }));
    });
    this.handle(RequestCode.UNLOCK_BATCH_MQ, (req) => {
      const b = lockBody(req);
      for (const q of b.mqSet) if (locks.get(`${b.consumerGroup}@${q.topic}@${q.queueId}`) === b.clientId) locks.delete(`${b.consumerGroup}@${q.topic}@${q.queueId}`);
      return makeResponse(req, ResponseCode.SUCCESS);
    });
    // GET_CONSUME_STATS of one topic, as the real broker shapes it (0 when nothing is committed).
    this.handle(RequestCode.GET_CONSUME_STATS, (req) => {
      const topic = ext(req, 'topic');
      const rows: [{ topic: string; brokerName: string; queueId: number }, unknown][] = [];
      for (let queueId = 0; queueId < (this.store.topics.get(topic)?.readQueueNums ?? 0); queueId++) {
        const consumerOffset = this.store.offsets.get(`${ext(req, 'consumerGroup')}@${topic}@${queueId}`) ?? 0;
        rows.push([{ topic, brokerName: this.brokerName, queueId }, { brokerOffset: this.store.queue(topic, queueId)?.length ?? 0, consumerOffset, lastTimestamp: 0 }]);
      }
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeMqTableBody('offsetTable', rows, { consumeTps: 0 }));
    });
    this.handle(RequestCode.UPDATE_CONSUMER_OFFSET, (req) => {
      const o = int(req, 'commitOffset');
      if (o >= 0) this.store.offsets.set(`${ext(req, 'consumerGroup')}@${ext(req, 'topic')}@${int(req, 'queueId')}`, o);
      return makeResponse(req, ResponseCode.SUCCESS);
    });
    this.handle(RequestCode.GET_MAX_OFFSET, (req) =>
      makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(this.store.queue(ext(req, 'topic'), int(req, 'queueId'))?.length ?? 0) }),
    );
    this.handle(RequestCode.GET_MIN_OFFSET, (req) => makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: '0' }));
    this.handle(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, (req) => {
      const q = this.store.queue(ext(req, 'topic'), int(req, 'queueId')) ?? [];
      const ts = int(req, 'timestamp');
      const i = q.findIndex((m) => m.storeTimestamp >= ts);
      return makeResponse(req, ResponseCode.SUCCESS, undefined, { offset: String(i < 0 ? q.length : i) });
    });

    this.handle(RequestCode.HEART_BEAT, (req, ch) => {
      const data = decodeJsonBody<{ clientID: string; consumerDataSet: { groupName: string; subscriptionDataSet: { topic: string }[] }[] }>(req.body, 'heartbeat');
      for (const c of data.consumerDataSet ?? []) {
        for (const s of c.subscriptionDataSet) if (s.topic.startsWith('%RETRY%')) this.ensureTopic(s.topic);
        let members = this.consumers.get(c.groupName);
        if (members === undefined) this.consumers.set(c.groupName, (members = new Map()));
        const isNew = !members.has(data.clientID);
        members.set(data.clientID, ch);
        if (isNew) this.notifyGroup(c.groupName, data.clientID);
      }
      return makeResponse(req, ResponseCode.SUCCESS);
    });
    this.handle(RequestCode.UNREGISTER_CLIENT, (req) => {
      const group = ext(req, 'consumerGroup');
      if (group !== '' && this.consumers.get(group)?.delete(ext(req, 'clientID')) === true) this.notifyGroup(group, undefined);
      return makeResponse(req, ResponseCode.SUCCESS);
    });
    this.server.onChannelClose((ch) => {
      for (const [group, members] of this.consumers) {
        for (const [id, c] of members) {
          if (c !== ch) continue;
          members.delete(id);
          this.notifyGroup(group, undefined);
        }
      }
    });
    this.handle(RequestCode.GET_CONSUMER_LIST_BY_GROUP, (req) => {
      const ids = [...(this.consumers.get(ext(req, 'consumerGroup'))?.keys() ?? [])];
      if (ids.length === 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'no consumer for this group');
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ consumerIdList: ids }));
    });

    this.handle(RequestCode.CONSUMER_SEND_MSG_BACK, (req) => {
      if (this.failSendBack) return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'send back disabled by the test');
      const offset = int(req, 'offset');
      const group = ext(req, 'group');
      const m = this.store.byPhysicalOffset.get(offset);
      if (m === undefined) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `no message at offset ${offset}`);
      this.store.sendBacks.push({ group, offset, originMsgId: ext(req, 'originMsgId'), originTopic: ext(req, 'originTopic') });
      const retryTopic = `%RETRY%${group}`;
      this.ensureTopic(retryTopic);
      const props = { ...m.props };
      props['RETRY_TOPIC'] ??= m.topic;
      props['ORIGIN_MESSAGE_ID'] ??= ext(req, 'originMsgId');
      const properties = Object.entries(props).map(([k, v]) => `${k}\x01${v}\x02`).join('');
      storeOne(retryTopic, 0, m.body, m.sysFlag, m.flag, properties, m.bornTimestamp, m.reconsumeTimes + 1);
      return makeResponse(req, ResponseCode.SUCCESS);
    });

    this.handle(RequestCode.UPDATE_AND_CREATE_TOPIC, async (req) => {
      this.store.createTopic(ext(req, 'topic'), int(req, 'writeQueueNums'), int(req, 'perm') || 6);
      await this.registerWithNamesrv();
      return makeResponse(req, ResponseCode.SUCCESS);
    });
    this.handle(RequestCode.VIEW_MESSAGE_BY_ID, (req) => {
      const m = this.store.byPhysicalOffset.get(int(req, 'offset'));
      return m === undefined ? makeResponse(req, ResponseCode.SYSTEM_ERROR, 'no message at that offset') : makeResponse(req, ResponseCode.SUCCESS, undefined, {}, m.record);
    });
    this.handle(RequestCode.QUERY_MESSAGE, (req) => {
      const key = ext(req, 'key');
      const hits = this.store
        .messages(ext(req, 'topic'))
        .filter((m) => (m.props['KEYS'] ?? '').split(' ').includes(key) || m.props['UNIQ_KEY'] === key)
        .slice(0, int(req, 'maxNum') || 32);
      if (hits.length === 0) return makeResponse(req, ResponseCode.QUERY_NOT_FOUND, 'no message with that key');
      return makeResponse(req, ResponseCode.SUCCESS, undefined, { indexLastUpdateTimestamp: String(Date.now()), indexLastUpdatePhyoffset: '0' }, Buffer.concat(hits.map((m) => m.record)));
    });
    this.handle(1501, (req) =>
      makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({
        nodeId: this.options.nodeId ?? 'n0',
        role: this.refuseSendsAsNotLeader ? 'FOLLOWER' : 'LEADER',
        term: this.options.raftTerm ?? 1,
        leader: this.options.nodeId ?? 'n0',
        commitIndex: 0,
        lastIndex: 0,
        appliedIndex: 0,
        peers: [],
      })),
    );
    this.handle(1500, (req) =>
      makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ previousLeader: this.options.nodeId ?? 'n0', newLeader: req.extFields['targetNodeId'] ?? 'n1', term: (this.options.raftTerm ?? 1) + 1 })),
    );
  }

  /** Tells the group's other members that the membership changed (Apache does this on join/leave). */
  private notifyGroup(group: string, except: string | undefined): void {
    for (const [id, ch] of this.consumers.get(group) ?? []) {
      if (id === except) continue;
      ch.sendOneway(makeRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: group }));
    }
  }
}

/**
 * Calls listen with ports from `nextPort` until one is free. Our range overlaps the kernel's
 * ephemeral ports, so a client socket can hold a port we meant to listen on.
 */
export async function listenOnFreePort<T>(listen: (port: number) => Promise<T>, nextPort: () => number, attempts = 10): Promise<T> {
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await listen(nextPort());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      lastErr = err;
    }
  }
  throw lastErr;
}

/** Starts a NameServer on the first free port from nextPort; returns it and its address. */
export async function startNameServer(nextPort: () => number): Promise<{ namesrv: NameServer; namesrvAddr: string }> {
  // A NameServer that failed to listen cannot be started again, so each attempt makes a new one.
  return listenOnFreePort(async (port) => {
    const namesrv = new NameServer();
    const bound = await namesrv.start({ port });
    return { namesrv, namesrvAddr: `127.0.0.1:${bound.port}` };
  }, nextPort);
}

/** Ports for one test file: base..base+99 of the client's range 23000–23999. */
export function portAllocator(base: number): () => number {
  let next = base;
  return () => {
    if (next >= base + 100) throw new Error(`test used more than 100 ports from ${base}`);
    return next++;
  };
}
