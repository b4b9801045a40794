// Admin against the real NameServer and a fake broker: topic creation on every master, routes,
// cluster info, topic status, consumer progress, lookups by offset id, unique id and key, and the
// two Raft admin codes (shapes as docs/client.md defines them).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NameServer } from '../src/namesrv/namesrv.js';
import { Admin, BrokerResponseError, Producer, PullConsumer, PushConsumer, RaftRequestCode } from '../src/client/index.js';
import { FakeBroker, FakeGroupStore, portAllocator, startNameServer } from './helpers/fake-broker.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';
const nextPort = portAllocator(await findFreeBlock(100));

let namesrv: NameServer;
let namesrvAddr: string;
let brokers: FakeBroker[];
let admin: Admin;
let producer: Producer;

beforeEach(async () => {
  ({ namesrv, namesrvAddr } = await startNameServer(nextPort));
  // Two broker groups, auto-create off, so createTopic is what makes topics exist.
  brokers = [];
  for (const name of ['broker-a', 'broker-b']) {
    const b = new FakeBroker({ store: new FakeGroupStore(), namesrvAddr, port: nextPort, brokerName: name, autoCreateTopicEnable: false, nodeId: `${name}-n0` });
    await b.start();
    brokers.push(b);
  }
  admin = new Admin({ namesrvAddr });
  await admin.start();
  producer = new Producer({ namesrvAddr });
  await producer.start();
});

afterEach(async () => {
  await producer.shutdown();
  await admin.shutdown();
  for (const b of brokers) await b.close();
  await namesrv.close();
});

describe('Admin', () => {
  it('lists the live members of a consumer group from the masters', async () => {
    expect(await admin.consumerIds('MembersGroup')).toEqual([]);
    await admin.createTopic('MembersTopic');
    const consumer = new PushConsumer({ namesrvAddr, consumerGroup: 'MembersGroup', handler: () => undefined });
    consumer.subscribe('MembersTopic', '*');
    await consumer.start();
    try {
      const ids = await admin.consumerIds('MembersGroup');
      expect(ids).toHaveLength(1);
      expect(ids[0]).toMatch(/@/);
    } finally {
      await consumer.shutdown();
    }
  });

  it('says a broker address given as the NameServer is not a NameServer, and names codes in refusals', async () => {
    const wrong = new Admin({ namesrvAddr: brokers[0]!.addr });
    await wrong.start();
    try {
      await expect(wrong.clusterInfo()).rejects.toThrow(new RegExp(`${brokers[0]!.addr} does not answer GET_BROKER_CLUSTER_INFO: it is not a NameServer`));
    } finally {
      await wrong.shutdown();
    }
    expect(new BrokerResponseError('127.0.0.1:1', 1500, 1, 'busy').message).toBe('broker 127.0.0.1:1 refused RAFT_TRANSFER_LEADER (request 1500) with SYSTEM_ERROR (code 1): busy');
  });

  it('creates a topic on every master and shows it in routes, cluster info and the topic list', async () => {
    await expect(admin.topicRoute('Made')).rejects.toMatchObject({ code: 'ERR_CLIENT_TOPIC_NOT_EXIST' });
    const addrs = await admin.createTopic('Made', { writeQueueNums: 3 });
    expect(addrs.sort()).toEqual(brokers.map((b) => b.addr).sort());
    const route = await admin.topicRoute('Made');
    expect(route.queueDatas.map((q) => [q.brokerName, q.writeQueueNums])).toEqual([
      ['broker-a', 3],
      ['broker-b', 3],
    ]);
    expect(await admin.listTopics()).toContain('Made');
    const info = await admin.clusterInfo();
    expect(Object.keys(info.brokerAddrTable).sort()).toEqual(['broker-a', 'broker-b']);
    expect(info.clusterAddrTable['DefaultCluster']?.sort()).toEqual(['broker-a', 'broker-b']);
  });

  it('reports queue offsets and a group progress against them', async () => {
    await admin.createTopic('Prog', { writeQueueNums: 2 });
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'Prog', body: `p${i}` });
    const status = await admin.topicStatus('Prog');
    expect(status).toHaveLength(4);
    expect(status.reduce((n, q) => n + q.maxOffset, 0)).toBe(10);
    const pc = new PullConsumer({ namesrvAddr, consumerGroup: 'progress-group' });
    await pc.start();
    const [first] = await pc.fetchQueues('Prog');
    await pc.commitOffset(first!, 1);
    await pc.shutdown();
    const progress = await admin.consumerProgress('progress-group', 'Prog');
    const row = progress.find((r) => r.brokerName === first!.brokerName && r.queueId === first!.queueId)!;
    expect(row.consumerOffset).toBe(1);
    expect(row.diff).toBe(row.brokerOffset - 1);
    // GET_CONSUME_STATS answers 0 where the group committed nothing, as Apache does.
    expect(progress.filter((r) => r !== row).every((r) => r.consumerOffset === 0)).toBe(true);
  });

  it('finds a message by its offset id, by its unique id and by key', async () => {
    await admin.createTopic('Look', { writeQueueNums: 1 });
    const sent = await producer.send({ topic: 'Look', body: 'find me', keys: ['order-42'] });
    await producer.send({ topic: 'Look', body: 'other', keys: ['order-43'] });
    const byOffsetId = await admin.viewMessage(sent.offsetMsgId);
    expect(byOffsetId.body.toString()).toBe('find me');
    expect(byOffsetId.msgId).toBe(sent.msgId);
    const byUniqueId = await admin.viewMessage(sent.msgId, 'Look');
    expect(byUniqueId.offsetMsgId).toBe(sent.offsetMsgId);
    const byKey = await admin.queryMessageByKey('Look', 'order-42');
    expect(byKey.map((m) => m.body.toString())).toEqual(['find me']);
    await expect(admin.viewMessage('00000000000000000000000000000000')).rejects.toMatchObject({ code: 'ERR_CLIENT_MESSAGE_NOT_FOUND' });
  });

  it('reads every node Raft status and asks a group leader to transfer leadership', async () => {
    const nodes = await admin.clusterRaftStatus();
    expect(nodes.map((n) => [n.brokerName, n.brokerId, n.status?.role])).toEqual([
      ['broker-a', 0, 'LEADER'],
      ['broker-b', 0, 'LEADER'],
    ]);
    expect(nodes[0]!.status).toMatchObject({ nodeId: 'broker-a-n0', term: 1 });
    const r = await admin.transferLeader('broker-b', 'n2');
    expect(r).toEqual({ previousLeader: 'broker-b-n0', newLeader: 'n2', term: 2 });
    expect(brokers[1]!.count(RaftRequestCode.RAFT_TRANSFER_LEADER)).toBe(1);
    await expect(admin.transferLeader('no-such-group')).rejects.toMatchObject({ code: 'ERR_CLIENT_CONFIG', message: expect.stringContaining('broker-a') });
  });
});
