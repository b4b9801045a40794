// Processor tests against one in-process broker node (a 1-node Raft group commits alone) and
// an in-process NameServer, over real TCP with the remoting client: send, pull with long
// polling, consumer offsets, heartbeat/unregister/consumer list and the NOTIFY_CONSUMER_IDS_CHANGED
// they cause, the Raft admin codes, and the bad inputs each must answer with a code and a remark
// instead of failing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RaftAdminCode } from '../src/broker/processors/raft-admin.js';
import { decodeJsonBody, isOneway, makeRequest, RemotingClient, RequestCode, ResponseCode, SerializeType, type RemotingCommand } from '../src/protocol/index.js';
import { createMessageId, decodeMessageRecord, javaStringHash } from '../src/store/index.js';
import { props, request, sendV2, silent, sleep, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;
let broker: BrokerController;
let addr: string;

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 1, { maxMessageSize: '65536' });
  broker = await waitForReadyLeader(g);
  addr = broker.brokerAddr;
});

afterAll(async () => {
  await g?.close();
});

function pull(topic: string, queueId: number, queueOffset: number, extra: Record<string, string | number> = {}) {
  return request(g, addr, RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic, queueId, queueOffset, maxMsgNums: 32, sysFlag: 4, commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 1, ...extra,
  }, undefined, 20_000);
}

function expectPullHeaders(ext: Record<string, string>): void {
  for (const f of ['nextBeginOffset', 'minOffset', 'maxOffset', 'suggestWhichBrokerId']) expect(ext[f], f).toMatch(/^\d+$/);
}

describe('SEND_MESSAGE_V2 and SEND_MESSAGE', () => {
  it('stores a message once committed and answers SEND_OK with its msgId, queueId and dense queue offsets', async () => {
    const p = props({ TAGS: 'TagA', KEYS: 'key-1' });
    const r1 = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('SendTopic', 2, p), Buffer.from('hello'));
    const r2 = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('SendTopic', 2, p), Buffer.from('world'));
    expect(r1.code).toBe(ResponseCode.SUCCESS);
    expect(r2.code).toBe(ResponseCode.SUCCESS);
    expect(r1.extFields['queueId']).toBe('2');
    expect([r1.extFields['queueOffset'], r2.extFields['queueOffset']]).toEqual(['0', '1']);
    expect(r1.extFields['msgId']).toMatch(/^[0-9A-F]{32}$/);

    const got = await pull('SendTopic', 2, 0);
    expect(got.code).toBe(ResponseCode.SUCCESS);
    expectPullHeaders(got.extFields);
    const first = decodeMessageRecord(got.body!, 0);
    expect(Buffer.from(first.body).toString()).toBe('hello');
    expect(first.properties).toBe(p);
    expect(first.queueOffset).toBe(0);
    expect(createMessageId('127.0.0.1', BASE_PORT + 1, first.physicalOffset)).toBe(r1.extFields['msgId']);
    expect(first.bornHost).toBe('127.0.0.1');
  });

  it('accepts the long header names of SEND_MESSAGE (10)', async () => {
    const r = await request(g, addr, RequestCode.SEND_MESSAGE, {
      producerGroup: 'PG', topic: 'SendTopicV1', defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId: 0, sysFlag: 0, bornTimestamp: Date.now(), flag: 0, properties: props({ TAGS: 'x' }), reconsumeTimes: 0, unitMode: false,
    }, Buffer.from('v1'));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(r.extFields['queueOffset']).toBe('0');
    expect(broker.raft.metadata.topic('SendTopicV1')?.writeQueueNums).toBe(8);
  });

  it('refuses bad sends with a code and a remark a person can act on', async () => {
    const bad = async (ext: Record<string, string | number | boolean>, body = Buffer.from('x'), code: number = RequestCode.SEND_MESSAGE_V2) => request(g, addr, code, ext, body);
    const invalidName = await bad(sendV2('bad topic!', 0, ''));
    expect(invalidName.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(invalidName.remark).toMatch(/invalid topic name/);
    const system = await bad(sendV2('TBW102', 0, ''));
    expect(system.code).toBe(ResponseCode.NO_PERMISSION);
    const tooBig = await bad(sendV2('SendTopic', 0, ''), Buffer.alloc(65537));
    expect(tooBig.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect(tooBig.remark).toMatch(/maxMessageSize 65536/);
    const queue = await bad(sendV2('SendTopic', 99, ''));
    expect(queue.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(queue.remark).toMatch(/queueId 99/);
    const missing = await bad({ a: 'PG' });
    expect(missing.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(missing.remark).toMatch(/'b'/);
    const unknown = await bad({}, undefined, 999);
    expect(unknown.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    expect(unknown.remark).toBe('request type 999 not supported');
  });

  it('answers TOPIC_NOT_EXIST for a new topic when autoCreateTopicEnable is off, but always creates retry topics', async () => {
    broker.config.autoCreateTopicEnable = false;
    try {
      const r = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('NoAutoTopic', 0, ''), Buffer.from('x'));
      expect(r.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
      const retry = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('%RETRY%SomeGroup', 0, props({ RETRY_TOPIC: 'T' }), { j: 1 }), Buffer.from('x'));
      expect(retry.code).toBe(ResponseCode.SUCCESS);
      expect(broker.raft.metadata.topic('%RETRY%SomeGroup')?.writeQueueNums).toBe(1);
    } finally {
      broker.config.autoCreateTopicEnable = true;
    }
  });

  it('sends a retry message past its maxReconsumeTimes to the dead-letter topic', async () => {
    const r = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('%RETRY%DlqGroup', 0, '', { j: 16, l: 16 }), Buffer.from('dead'));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    const got = await pull('%DLQ%DlqGroup', 0, 0);
    expect(got.code).toBe(ResponseCode.SUCCESS);
    expect(decodeMessageRecord(got.body!, 0).topic).toBe('%DLQ%DlqGroup');
  });

  it('stores a message with a delay level in the schedule topic with its real topic and queue', async () => {
    const r = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('DelayTopic', 1, props({ DELAY: '3' })), Buffer.from('later'));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    const got = await pull('SCHEDULE_TOPIC_XXXX', 2, 0);
    expect(got.code).toBe(ResponseCode.SUCCESS);
    const m = decodeMessageRecord(got.body!, 0);
    expect(m.properties).toContain('REAL_TOPIC\x01DelayTopic\x02');
    expect(m.properties).toContain('REAL_QID\x011\x02');
  });
});

describe('PULL_MESSAGE', () => {
  it('answers every status with all four offset fields', async () => {
    for (let i = 0; i < 3; i++) await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('PullTopic', 0, props({ TAGS: `T${i}` })), Buffer.from(`m${i}`));
    const found = await pull('PullTopic', 0, 1);
    expect(found.code).toBe(ResponseCode.SUCCESS);
    expect(found.extFields['nextBeginOffset']).toBe('3');
    expect(found.extFields['maxOffset']).toBe('3');
    const none = await pull('PullTopic', 0, 3);
    expect(none.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expectPullHeaders(none.extFields);
    const moved = await pull('PullTopic', 0, 50);
    expect(moved.code).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expectPullHeaders(moved.extFields);
    expect(moved.extFields['nextBeginOffset']).toBe('0');
    const emptyQueue = await pull('PullTopic', 5, 0);
    expect(emptyQueue.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expectPullHeaders(emptyQueue.extFields);
  });

  it('filters by tag through the ConsumeQueue tag hash and moves past unmatched messages', async () => {
    const only = await pull('PullTopic', 0, 0, { subscription: 'T1 || T9' });
    expect(only.code).toBe(ResponseCode.SUCCESS);
    expect(only.body!.length).toBeGreaterThan(0);
    expect(decodeMessageRecord(only.body!, 0).properties).toContain('TAGS\x01T1\x02');
    expect(only.body!.length).toBe(decodeMessageRecord(only.body!, 0).body.length + 91 + 'PullTopic'.length + props({ TAGS: 'T1' }).length);
    const nothing = await pull('PullTopic', 0, 0, { subscription: 'Nope' });
    expect(nothing.code).toBe(ResponseCode.PULL_RETRY_IMMEDIATELY);
    expect(nothing.extFields['nextBeginOffset']).toBe('3');
    expect(javaStringHash('T1')).not.toBe(javaStringHash('Nope'));
  });

  it('holds a suspended pull until a message arrives on that queue', async () => {
    const started = Date.now();
    const held = pull('LongPollTopic', 0, 0, { sysFlag: 6, suspendTimeoutMillis: 10_000 });
    await until('the pull to be held', 2000, () => (broker.status()['heldPulls'] as number) > 0);
    await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('LongPollTopic', 0, ''), Buffer.from('wake'));
    const r = await held;
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(Buffer.from(decodeMessageRecord(r.body!, 0).body).toString()).toBe('wake');
  });

  it('answers a held pull with PULL_NOT_FOUND by its suspend timeout, never later', async () => {
    const started = Date.now();
    const r = await pull('LongPollTopic', 3, 0, { sysFlag: 6, suspendTimeoutMillis: 400 });
    const heldMs = Date.now() - started;
    expect(r.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expectPullHeaders(r.extFields);
    expect(heldMs).toBeGreaterThanOrEqual(300);
    // Slack for a loaded 2-core machine; the point is that the hold ends by its own timeout.
    expect(heldMs).toBeLessThan(400 + 500);
  });

  it('stores the commit offset a pull carries with the COMMIT_OFFSET flag', async () => {
    const r = await pull('PullTopic', 0, 3, { sysFlag: 5, commitOffset: 2, consumerGroup: 'PullCommitGroup' });
    expect(r.code).toBe(ResponseCode.PULL_NOT_FOUND);
    await until('the offset to be replicated', 3000, () => broker.raft.metadata.consumerOffset('PullCommitGroup', 'PullTopic', 0) === 2);
  });
});

describe('consumer offsets', () => {
  it('answers 0 for a group new to a queue whose messages are all stored, then the committed offset', async () => {
    const q0 = await request(g, addr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'OffGroup', topic: 'PullTopic', queueId: 0 });
    expect(q0.code).toBe(ResponseCode.SUCCESS);
    expect(q0.extFields['offset']).toBe('0');
    await request(g, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'OffGroup', topic: 'PullTopic', queueId: 0, commitOffset: 2 });
    await request(g, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'OffGroup', topic: 'PullTopic', queueId: 0, commitOffset: -1 });
    const q1 = await request(g, addr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'OffGroup', topic: 'PullTopic', queueId: 0 });
    expect(q1.extFields['offset']).toBe('2');
    await until('the offset to be applied through Raft', 3000, () => broker.raft.metadata.consumerOffset('OffGroup', 'PullTopic', 0) === 2);
  });

  it('answers GET_MAX_OFFSET with the number of messages in the queue', async () => {
    const r = await request(g, addr, RequestCode.GET_MAX_OFFSET, { topic: 'PullTopic', queueId: 0 });
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(r.extFields['offset']).toBe('3');
    const empty = await request(g, addr, RequestCode.GET_MAX_OFFSET, { topic: 'NoSuchTopic', queueId: 0 });
    expect(empty.extFields['offset']).toBe('0');
  });
});

describe('heartbeat, unregister and consumer list', () => {
  const heartbeat = (clientID: string, group: string) => Buffer.from(JSON.stringify({
    clientID,
    producerDataSet: [{ groupName: 'CLIENT_INNER_PRODUCER' }],
    consumerDataSet: [{ groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', unitMode: false,
      subscriptionDataSet: [{ topic: 'HbTopic', subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 1 }] }],
  }));

  it('lists the clients of a group from heartbeats and creates the group and its retry topic', async () => {
    const none = await request(g, addr, RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'HbGroup' });
    expect(none.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect((await request(g, addr, RequestCode.HEART_BEAT, {}, heartbeat('10.0.0.2@2', 'HbGroup'))).code).toBe(ResponseCode.SUCCESS);
    expect((await request(g, addr, RequestCode.HEART_BEAT, {}, heartbeat('10.0.0.1@1', 'HbGroup'))).code).toBe(ResponseCode.SUCCESS);
    const list = await request(g, addr, RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'HbGroup' });
    expect(list.code).toBe(ResponseCode.SUCCESS);
    expect(decodeJsonBody<{ consumerIdList: string[] }>(list.body, 'list').consumerIdList).toEqual(['10.0.0.1@1', '10.0.0.2@2']);
    await until('the retry topic and the group to be created', 3000, () => broker.raft.metadata.topic('%RETRY%HbGroup') !== undefined && broker.raft.metadata.subscriptionGroup('HbGroup') !== undefined);
    expect(broker.raft.metadata.topic('%RETRY%HbGroup')!.readQueueNums).toBe(1);
    expect(broker.consumers.subscription('HbGroup', 'HbTopic')?.subString).toBe('*');
  });

  it('forgets a client on UNREGISTER_CLIENT and when its connection closes', async () => {
    await request(g, addr, RequestCode.UNREGISTER_CLIENT, { clientID: '10.0.0.2@2', consumerGroup: 'HbGroup' });
    expect(broker.consumers.consumerIds('HbGroup')).toEqual(['10.0.0.1@1']);
    g.client.closeConnection(addr);
    await until('the closed channel to be forgotten', 3000, () => broker.consumers.consumerIds('HbGroup').length === 0);
  });

  it('tells the consumers of a group with a one-way request in their own header type when one joins or leaves, and no other group', async () => {
    const told = new Map<string, RemotingCommand[]>();
    const member = (name: string, serializeType: SerializeType): RemotingClient => {
      const client = new RemotingClient({ logger: silent, serializeType });
      told.set(name, []);
      client.registerRequestHandler(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (cmd) => void told.get(name)!.push(cmd));
      return client;
    };
    const take = (name: string): string[] => told.get(name)!.splice(0).map((c) => `${c.extFields['consumerGroup']}:${isOneway(c) ? 'oneway' : 'twoway'}:${c.serializeType}`);
    const [a, b, other] = [member('a', SerializeType.JSON), member('b', SerializeType.ROCKETMQ), member('other', SerializeType.JSON)];
    try {
      const beat = (client: RemotingClient, id: string, group: string) => client.invoke(addr, makeRequest(RequestCode.HEART_BEAT, {}, { body: heartbeat(id, group) }), 5000);
      await beat(other, '10.0.0.9@9', 'NotifyOther');
      await beat(a, '10.0.0.3@3', 'NotifyGroup');
      await until('a to hear of its own joining', 3000, () => told.get('a')!.length > 0);
      expect(take('a')).toEqual(['NotifyGroup:oneway:0']);
      take('other');
      await beat(b, '10.0.0.4@4', 'NotifyGroup');
      await until('both members to hear of b', 3000, () => told.get('a')!.length > 0 && told.get('b')!.length > 0);
      expect([take('a'), take('b')]).toEqual([['NotifyGroup:oneway:0'], ['NotifyGroup:oneway:1']]);
      await beat(b, '10.0.0.4@4', 'NotifyGroup');
      await sleep(100);
      expect([take('a'), take('b')]).toEqual([[], []]); // a repeated heartbeat changes no ids
      await b.invoke(addr, makeRequest(RequestCode.UNREGISTER_CLIENT, { clientID: '10.0.0.4@4', consumerGroup: 'NotifyGroup' }), 5000);
      await until('a to hear that b left', 3000, () => told.get('a')!.length > 0);
      expect(take('a')).toEqual(['NotifyGroup:oneway:0']);
      await beat(b, '10.0.0.4@4', 'NotifyGroup');
      await until('a to hear that b is back', 3000, () => told.get('a')!.length > 0);
      take('a');
      take('b');
      await b.close();
      await until('a to hear that the channel of b closed', 3000, () => told.get('a')!.length > 0);
      expect(take('a')).toEqual(['NotifyGroup:oneway:0']);
      await sleep(100);
      expect([take('a'), take('other')]).toEqual([[], []]);
    } finally {
      await Promise.all([a.close(), b.close(), other.close()]);
    }
  });

  it('refuses a heartbeat whose body is not JSON', async () => {
    const r = await request(g, addr, RequestCode.HEART_BEAT, {}, Buffer.from('{nope'));
    expect(r.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(r.remark).toMatch(/heartbeat/);
  });
});

describe('Raft admin codes', () => {
  it('reports the Raft status as JSON', async () => {
    const r = await request(g, addr, RaftAdminCode.RAFT_STATUS);
    expect(r.code).toBe(ResponseCode.SUCCESS);
    const s = decodeJsonBody<Record<string, unknown>>(r.body, 'status');
    expect(s).toMatchObject({ nodeId: 'n0', role: 'LEADER', leader: 'n0', peers: [], raftAddr: `127.0.0.1:${BASE_PORT + 11}`, brokerAddr: addr, leaderReady: true, voters: ['n0'], learners: [] });
    for (const f of ['term', 'commitIndex', 'lastIndex', 'appliedIndex', 'dispatchedIndex']) expect(typeof s[f], f).toBe('number');
  });

  it('adds and removes a learner with RAFT_CHANGE_MEMBERS, and refuses an invalid change with the reason', async () => {
    const add = await request(g, addr, RaftAdminCode.RAFT_CHANGE_MEMBERS, { kind: 'add-learner', nodeId: 'n9', address: '127.0.0.1:9' });
    expect(add.code, add.remark).toBe(ResponseCode.SUCCESS);
    expect(decodeJsonBody<Record<string, unknown>>(add.body, 'change')).toMatchObject({ voters: ['n0'], learners: ['n9'] });
    const status = decodeJsonBody<Record<string, unknown>>((await request(g, addr, RaftAdminCode.RAFT_STATUS)).body, 'status');
    expect(status).toMatchObject({ voters: ['n0'], learners: ['n9'] });
    const bad = await request(g, addr, RaftAdminCode.RAFT_CHANGE_MEMBERS, { kind: 'promote', nodeId: 'n0' });
    expect(bad.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(bad.remark).toMatch(/ERR_RAFT_MEMBERSHIP_CHANGE_REFUSED.*invalid-change.*n0 is not a learner/);
    const noAddress = await request(g, addr, RaftAdminCode.RAFT_CHANGE_MEMBERS, { kind: 'add-learner', nodeId: 'n8' });
    expect(noAddress.remark).toMatch(/host:port/);
    const remove = await request(g, addr, RaftAdminCode.RAFT_CHANGE_MEMBERS, { kind: 'remove', nodeId: 'n9' });
    expect(remove.code, remove.remark).toBe(ResponseCode.SUCCESS);
    expect(decodeJsonBody<Record<string, unknown>>(remove.body, 'change')).toMatchObject({ voters: ['n0'], learners: [] });
  });

  it('answers a replica digest of the committed log and every ConsumeQueue', async () => {
    const r = await request(g, addr, RaftAdminCode.RAFT_REPLICA_DIGEST);
    const d = decodeJsonBody<{ upToIndex: number; logSha256: string; consumeQueues: Record<string, { maxOffset: number }> }>(r.body, 'digest');
    expect(d.logSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(d.consumeQueues['PullTopic@0']?.maxOffset).toBe(3);
    const earlier = await request(g, addr, RaftAdminCode.RAFT_REPLICA_DIGEST, { index: 1 });
    const e = decodeJsonBody<{ upToIndex: number; logSha256: string }>(earlier.body, 'digest');
    expect(e.upToIndex).toBe(1);
    expect(e.logSha256).not.toBe(d.logSha256);
  });

  it('hashes a replica digest from the range it is given, and refuses a malformed range', async () => {
    type Digest = { firstIndex: number; logSha256: string; consumeQueues: Record<string, { minOffset: number; hashedFrom: number; sha256: string }> };
    const whole = decodeJsonBody<Digest>((await request(g, addr, RaftAdminCode.RAFT_REPLICA_DIGEST)).body, 'digest');
    const from = whole.firstIndex + 1;
    const part = decodeJsonBody<Digest>(
      (await request(g, addr, RaftAdminCode.RAFT_REPLICA_DIGEST, { fromIndex: from, queueFrom: JSON.stringify({ 'PullTopic@0': 2 }) })).body,
      'digest',
    );
    expect(part.firstIndex).toBe(from);
    expect(part.logSha256).not.toBe(whole.logSha256);
    expect(part.consumeQueues['PullTopic@0']).toMatchObject({ minOffset: 0, hashedFrom: 2 });
    expect(part.consumeQueues['PullTopic@0']!.sha256).not.toBe(whole.consumeQueues['PullTopic@0']!.sha256);
    for (const bad of ['[1]', '{"PullTopic@0": -1}', 'nope']) {
      const r = await request(g, addr, RaftAdminCode.RAFT_REPLICA_DIGEST, { queueFrom: bad });
      expect(r.code, bad).toBe(ResponseCode.SYSTEM_ERROR);
      expect(r.remark).toMatch(/queueFrom/);
    }
  });

  it('refuses a leadership transfer to a node that is not a peer, and a 1-node group has no follower to pick', async () => {
    const none = await request(g, addr, RaftAdminCode.RAFT_TRANSFER_LEADER);
    expect(none.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(none.remark).toMatch(/no follower/);
    const r = await request(g, addr, RaftAdminCode.RAFT_TRANSFER_LEADER, { targetNodeId: 'n7' });
    expect(r.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(r.remark).toMatch(/unknown node n7; peers are n0/);
  });
});
