// Brokers and a NameServer (in process, real TCP) under hostile input: names that break the
// naming rules never reach the replicated tables or cost a broker its routes, the tables and
// control entries are bounded by broker.conf limits, and one connection cannot take every held
// pull from the other consumers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { decodeJsonBody, makeRequest, RemotingClient, RequestCode, ResponseCode, type RemotingCommand, type TopicRouteData } from '../src/protocol/index.js';
import { request, sendV2, silent, startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

let g: TestGroup;
let leader: BrokerController;
let addr: string;

beforeAll(async () => {
  g = await startTestGroup(await findFreeBlock(30), 1, {
    maxTopicCount: '40',
    maxConsumerOffsetCount: '30',
    maxControlEntryBytes: String(64 * 1024),
    maxHeldPullsPerConnection: '10',
  });
  leader = await waitForReadyLeader(g);
  addr = leader.brokerAddr;
  // Created before the topic limit is reached by the tests below.
  const created = await request(g, addr, RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'HoldTopic', readQueueNums: 1, writeQueueNums: 1, perm: 6 });
  expect(created.code).toBe(ResponseCode.SUCCESS);
});

afterAll(async () => {
  await g?.close();
});

const heartbeat = (clientID: string, group: string): Buffer => Buffer.from(JSON.stringify({
  clientID,
  producerDataSet: [],
  consumerDataSet: [{ groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', unitMode: false,
    subscriptionDataSet: [{ topic: 'LimTopic', subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 1 }] }],
}));

async function routeQueues(topic: string): Promise<number[]> {
  const resp = await request(g, g.namesrvAddr, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
  if (resp.code !== ResponseCode.SUCCESS) return [];
  return decodeJsonBody<TopicRouteData>(resp.body, 'route').queueDatas.map((q) => q.readQueueNums);
}

/** Creates a topic and waits until the NameServer routes it with its own queue count. */
async function createAndExpectRoute(topic: string, queues: number): Promise<void> {
  const created = await request(g, addr, RequestCode.UPDATE_AND_CREATE_TOPIC, { topic, readQueueNums: queues, writeQueueNums: queues, perm: 6 });
  expect(created.code, created.remark).toBe(ResponseCode.SUCCESS);
  // Until the broker re-registers, the NameServer offers the auto-create route (8 queues).
  await expect.poll(() => routeQueues(topic), { timeout: 10_000 }).toEqual([queues]);
}

describe('names that break the rules', () => {
  it('refuses a heartbeat whose consumer group breaks the rule, and the broker keeps its routes', async () => {
    const resp = await request(g, addr, RequestCode.HEART_BEAT, {}, heartbeat('10.0.0.9@1', 'bad group'));
    // Registration still works: a topic created now is routed with its own queues.
    await createAndExpectRoute('AfterBadHeartbeat', 3);
    expect(resp.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(resp.remark).toMatch(/invalid group name 'bad group'/);
    expect(leader.raft.metadata.subscriptionGroup('bad group')).toBeUndefined();
    expect(leader.raft.metadata.topic('%RETRY%bad group')).toBeUndefined();
  });

  it('ignores a topic with a bad name already committed to the log, so registration keeps working', async () => {
    await leader.raft.proposeControl({ kind: 'topic-upsert', config: { topicName: '%RETRY%old bad', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicSysFlag: 0 } });
    await createAndExpectRoute('AfterBadEntry', 5);
    expect(leader.raft.metadata.topic('%RETRY%old bad')).toBeUndefined();
  });

  it('refuses client ids, offsets and pulls with names that break the rules, and quotes a huge name only in part', async () => {
    const badId = await request(g, addr, RequestCode.HEART_BEAT, {}, heartbeat('10.0.0.1@bad\u0001id', 'GoodGroup'));
    expect(badId.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(badId.remark).toMatch(/invalid client id/);
    const huge = 'G'.repeat(1024 * 1024);
    const offset = await request(g, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: huge, topic: 'LimTopic', queueId: 0, commitOffset: 1 });
    expect(offset.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(offset.remark!.length).toBeLessThan(1000);
    const pull = await request(g, addr, RequestCode.PULL_MESSAGE, { consumerGroup: 'G', topic: 'bad topic', queueId: 0, queueOffset: 0, maxMsgNums: 1, sysFlag: 0 });
    expect(pull.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(pull.remark).toMatch(/invalid topic name/);
  });
});

describe('table and entry limits', () => {
  it('refuses a topic past maxTopicCount with a remark naming the key', async () => {
    let refusal: RemotingCommand | undefined;
    // Bounded: at most 60 topics are asked for against a limit of 40.
    for (let i = 0; i < 60 && refusal === undefined; i++) {
      const resp = await request(g, addr, RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: `Many_${i}`, readQueueNums: 1, writeQueueNums: 1, perm: 6 });
      if (resp.code !== ResponseCode.SUCCESS) refusal = resp;
    }
    expect(refusal?.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(refusal?.remark).toMatch(/maxTopicCount/);
    expect([...leader.raft.metadata.topics()].length).toBe(40);
    // Sends that would auto-create a topic are refused alike.
    const send = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('OneTooMany', 0, ''), Buffer.from('x'));
    expect(send.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(send.remark).toMatch(/maxTopicCount/);
  });

  it('refuses a consumer offset for a new queue past maxConsumerOffsetCount', async () => {
    let refusal: RemotingCommand | undefined;
    for (let q = 0; q < 50 && refusal === undefined; q++) {
      const resp = await request(g, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'OffGroup', topic: 'LimTopic', queueId: q, commitOffset: 1 });
      if (resp.code !== ResponseCode.SUCCESS) refusal = resp;
    }
    expect(refusal?.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(refusal?.remark).toMatch(/maxConsumerOffsetCount/);
  });

  it('refuses a control entry larger than maxControlEntryBytes before it is proposed', async () => {
    const offsets = Array.from({ length: 3000 }, (_, i) => ({ group: 'BigGroup', topic: 'LimTopic', queueId: i, offset: 1 }));
    await expect(leader.raft.proposeControl({ kind: 'consumer-offsets', offsets })).rejects.toMatchObject({ code: 'ERR_BROKER_CONTROL_ENTRY_TOO_LARGE' });
    expect(leader.raft.metadata.consumerOffset('BigGroup', 'LimTopic', 0)).toBeUndefined();
  });
});

describe('held pulls', () => {
  it('lets one connection hold no more than its share: other consumers still long-poll, and the flooder waits before its answer', async () => {
    // Three connections (each under the server's 10,000 requests in flight) send more pulls
    // than the whole node used to hold (20,000).
    const flooders = Array.from({ length: 3 }, () => new RemotingClient({ logger: silent, maxPendingRequests: 30_000 }));
    const pull = (client: RemotingClient, timeoutMs: number) => client.invoke(addr, makeRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: 'PullGroup', topic: 'HoldTopic', queueId: 0, queueOffset: 0, maxMsgNums: 1, sysFlag: 2, suspendTimeoutMillis: timeoutMs,
    }), timeoutMs + 5000);
    try {
      const flood = flooders.flatMap((f) => Array.from({ length: 7000 }, () => pull(f, 15_000).catch(() => undefined)));
      // A connection's requests are taken in order: once this answer is back, every pull sent
      // before it on that connection is held or waiting out its back-off.
      for (const f of flooders) await f.invoke(addr, makeRequest(RequestCode.GET_MAX_OFFSET, { topic: 'HoldTopic', queueId: 0 }), 30_000);
      const t0 = Date.now();
      const late = await pull(flooders[0]!, 5000);
      // Neither at once (a client that hears "nothing new" pulls again immediately) nor held
      // for its whole suspend time: a short back-off.
      expect(late.code).toBe(ResponseCode.PULL_NOT_FOUND);
      expect(late.remark).toMatch(/maxHeldPullsPerConnection/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
      expect(Date.now() - t0).toBeLessThan(4000);
      // Another consumer's long poll is held, and answered by the message it waits for.
      const other = pull(g.client, 10_000);
      const sent = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('HoldTopic', 0, ''), Buffer.from('wake'));
      expect(sent.code, sent.remark).toBe(ResponseCode.SUCCESS);
      expect((await other).code).toBe(ResponseCode.SUCCESS);
      await Promise.all(flood);
    } finally {
      for (const f of flooders) await f.close();
    }
  });
});
