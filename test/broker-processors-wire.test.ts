// The further processors over the wire against a one-node in-process broker group: batch send,
// view by offset, query by key, min offset, search by time and topic creation, each with the
// bad inputs a person can make and the remark that tells them what to change.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerController } from '../src/broker/broker-controller.js';
import { encodeBatch } from '../src/client/batch-encoder.js';
import { RequestCode, ResponseCode, type RemotingCommand } from '../src/protocol/index.js';
import { decodeMessageRecord, getProperty, messageRecords, parseMessageId, type MessageRecord } from '../src/store/index.js';
import { props, request, sendV2, startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { readQueue, registerMyProcessors } from './broker-processors-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;
let leader: BrokerController;
let addr: string;

function batchHeader(topic: string, queueId: number, extra: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  return sendV2(topic, queueId, '', { m: true, ...extra });
}

function decodeBody(resp: RemotingCommand): MessageRecord[] {
  const body = resp.body ?? Buffer.alloc(0);
  return [...messageRecords(body)].map(([offset]) => decodeMessageRecord(body, offset));
}

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 1, { maxMessageSize: String(64 * 1024) });
  leader = await waitForReadyLeader(g);
  registerMyProcessors(leader);
  addr = leader.brokerAddr;
});

afterAll(async () => {
  await g?.close();
});

describe('SEND_BATCH_MESSAGE', () => {
  it('stores every message of a batch in one queue, in order, and answers with all ids and the first offset', async () => {
    const entries = [0, 1, 2].map((i) => ({ body: Buffer.from(`batch-${i}`), flag: i, properties: props({ KEYS: `bk-${i}`, TAGS: 'b' }) }));
    const first = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, batchHeader('BATCH_T', 1), encodeBatch(entries));
    expect(first.code, first.remark).toBe(ResponseCode.SUCCESS);
    const ids = first.extFields['msgId']!.split(',');
    expect(ids).toHaveLength(3);
    expect(first.extFields['queueId']).toBe('1');
    expect(first.extFields['queueOffset']).toBe('0');
    const second = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, batchHeader('BATCH_T', 1), encodeBatch(entries.slice(0, 2)));
    expect(second.extFields['queueOffset']).toBe('3');

    const stored = readQueue(leader, 'BATCH_T', 1);
    expect(stored.map((m) => Buffer.from(m.body).toString())).toEqual(['batch-0', 'batch-1', 'batch-2', 'batch-0', 'batch-1']);
    expect(stored.map((m) => m.flag)).toEqual([0, 1, 2, 0, 1]);
    expect(stored.map((m) => getProperty(m.properties, 'KEYS'))).toEqual(['bk-0', 'bk-1', 'bk-2', 'bk-0', 'bk-1']);
    expect(stored.slice(0, 3).map((m) => m.physicalOffset)).toEqual(ids.map((id) => parseMessageId(id).physicalOffset));
  });

  it('accepts the long header names as well as the one-letter ones', async () => {
    const ext = { producerGroup: 'PG', topic: 'BATCH_LONG', queueId: 0, sysFlag: 0, bornTimestamp: Date.now(), flag: 0, properties: '', reconsumeTimes: 0, unitMode: false, batch: true };
    const resp = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, ext, encodeBatch([{ body: Buffer.from('x'), flag: 0, properties: '' }]));
    expect(resp.code, resp.remark).toBe(ResponseCode.SUCCESS);
    expect(readQueue(leader, 'BATCH_LONG', 0)).toHaveLength(1);
  });

  it('refuses bad batches with a remark that says what to change, and stays up', async () => {
    const good = encodeBatch([{ body: Buffer.from('a'), flag: 0, properties: '' }, { body: Buffer.from('b'), flag: 0, properties: '' }]);
    const cases: [string, Record<string, string | number | boolean>, Buffer | undefined, number, RegExp][] = [
      ['cut body', batchHeader('BATCH_BAD', 0), good.subarray(0, good.length - 3), ResponseCode.MESSAGE_ILLEGAL, /malformed batch body: message #2/],
      ['empty body', batchHeader('BATCH_BAD', 0), undefined, ResponseCode.MESSAGE_ILLEGAL, /empty/],
      ['delayed message', batchHeader('BATCH_BAD', 0), encodeBatch([{ body: Buffer.from('d'), flag: 0, properties: props({ DELAY: '2' }) }]), ResponseCode.MESSAGE_ILLEGAL, /delay/],
      ['retry topic', batchHeader('%RETRY%G', 0), good, ResponseCode.MESSAGE_ILLEGAL, /one by one/],
      ['system topic', batchHeader('SCHEDULE_TOPIC_XXXX', 0), good, ResponseCode.NO_PERMISSION, /system topic/],
      ['invalid topic', batchHeader('bad topic!', 0), good, ResponseCode.SYSTEM_ERROR, /invalid topic name/],
      ['queue out of range', batchHeader('BATCH_T', 99), good, ResponseCode.SYSTEM_ERROR, /queueId 99 is out of range/],
      ['over maxMessageSize', batchHeader('BATCH_BAD', 0), encodeBatch([{ body: Buffer.alloc(65 * 1024), flag: 0, properties: '' }]), ResponseCode.MESSAGE_ILLEGAL, /exceeds maxMessageSize/],
    ];
    for (const [name, ext, body, code, remark] of cases) {
      const resp = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, ext, body);
      expect(resp.code, name).toBe(code);
      expect(resp.remark, name).toMatch(remark);
    }
    expect(readQueue(leader, 'BATCH_BAD', 0)).toHaveLength(0);
    const after = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, batchHeader('BATCH_BAD', 0), good);
    expect(after.code).toBe(ResponseCode.SUCCESS);
  });
});

describe('VIEW_MESSAGE_BY_ID', () => {
  it('returns the record at a message id’s offset with its offsets filled in', async () => {
    const sent = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('VIEW_T', 0, props({ KEYS: 'v1' })), Buffer.from('look at me'));
    const offset = parseMessageId(sent.extFields['msgId']!).physicalOffset;
    const resp = await request(g, addr, RequestCode.VIEW_MESSAGE_BY_ID, { offset });
    expect(resp.code, resp.remark).toBe(ResponseCode.SUCCESS);
    const [m] = decodeBody(resp);
    expect(Buffer.from(m!.body).toString()).toBe('look at me');
    expect([m!.topic, m!.physicalOffset, m!.queueOffset]).toEqual(['VIEW_T', offset, 0]);
  });

  it('answers offsets that hold no message with SYSTEM_ERROR and a remark', async () => {
    const sent = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('VIEW_T', 0, ''), Buffer.from('x'));
    const offset = parseMessageId(sent.extFields['msgId']!).physicalOffset;
    for (const [bad, remark] of [[-1, /negative/], [offset + 1, /no message starts/], [2 ** 40, /end before/]] as const) {
      const resp = await request(g, addr, RequestCode.VIEW_MESSAGE_BY_ID, { offset: bad });
      expect(resp.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(resp.remark).toMatch(remark);
    }
    const missing = await request(g, addr, RequestCode.VIEW_MESSAGE_BY_ID, {});
    expect([missing.code, missing.remark]).toEqual([ResponseCode.SYSTEM_ERROR, "header field 'offset' is missing"]);
  });
});

describe('QUERY_MESSAGE', () => {
  it('finds the messages of a topic carrying a key within the time range and says how far the index reaches', async () => {
    const before = Date.now() - 1000;
    for (const k of ['qa', 'qb', 'qa']) await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('QUERY_T', 0, props({ KEYS: `${k} other` })), Buffer.from(k));
    await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('QUERY_OTHER', 0, props({ KEYS: 'qa' })), Buffer.from('other topic'));
    const resp = await request(g, addr, RequestCode.QUERY_MESSAGE, { topic: 'QUERY_T', key: 'qa', maxNum: 32, beginTimestamp: before, endTimestamp: Date.now() + 1000 });
    expect(resp.code, resp.remark).toBe(ResponseCode.SUCCESS);
    const found = decodeBody(resp);
    expect(found).toHaveLength(2);
    expect(found.every((m) => m.topic === 'QUERY_T' && Buffer.from(m.body).toString() === 'qa')).toBe(true);
    expect(Number(resp.extFields['indexLastUpdatePhyoffset'])).toBeGreaterThan(0);
    expect(Number(resp.extFields['indexLastUpdateTimestamp'])).toBeGreaterThanOrEqual(before);

    const one = await request(g, addr, RequestCode.QUERY_MESSAGE, { topic: 'QUERY_T', key: 'qa', maxNum: 1, beginTimestamp: before, endTimestamp: Date.now() + 1000 });
    expect(decodeBody(one)).toHaveLength(1);
  });

  it('answers QUERY_NOT_FOUND for an unknown key or a time range before the messages, and refuses nonsense ranges', async () => {
    const none = await request(g, addr, RequestCode.QUERY_MESSAGE, { topic: 'QUERY_T', key: 'nope', maxNum: 32, beginTimestamp: 0, endTimestamp: Date.now() + 1000 });
    expect(none.code).toBe(ResponseCode.QUERY_NOT_FOUND);
    expect(none.extFields['indexLastUpdateTimestamp']).toBeDefined();
    const early = await request(g, addr, RequestCode.QUERY_MESSAGE, { topic: 'QUERY_T', key: 'qa', maxNum: 32, beginTimestamp: 0, endTimestamp: 1000 });
    expect(early.code).toBe(ResponseCode.QUERY_NOT_FOUND);
    const zero = await request(g, addr, RequestCode.QUERY_MESSAGE, { topic: 'QUERY_T', key: 'qa', maxNum: 0, beginTimestamp: 0, endTimestamp: 1 });
    expect([zero.code, zero.remark]).toEqual([ResponseCode.SYSTEM_ERROR, expect.stringMatching(/maxNum 0/)]);
    const swapped = await request(g, addr, RequestCode.QUERY_MESSAGE, { topic: 'QUERY_T', key: 'qa', maxNum: 4, beginTimestamp: 10, endTimestamp: 1 });
    expect(swapped.remark).toMatch(/swap them/);
  });
});

describe('GET_MIN_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP', () => {
  it('give the first offset of a queue and the first offset stored at or after a time', async () => {
    for (let i = 0; i < 3; i++) await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('TIME_T', 0, ''), Buffer.from(`t${i}`));
    await new Promise((r) => setTimeout(r, 20));
    const middle = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 3; i < 5; i++) await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('TIME_T', 0, ''), Buffer.from(`t${i}`));
    const min = await request(g, addr, RequestCode.GET_MIN_OFFSET, { topic: 'TIME_T', queueId: 0 });
    expect([min.code, min.extFields['offset']]).toEqual([ResponseCode.SUCCESS, '0']);
    const at = async (timestamp: number): Promise<string | undefined> => (await request(g, addr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: 'TIME_T', queueId: 0, timestamp })).extFields['offset'];
    expect(await at(0)).toBe('0');
    expect(await at(middle)).toBe('3');
    expect(await at(Date.now() + 60_000)).toBe('5');
    const unknown = await request(g, addr, RequestCode.GET_MIN_OFFSET, { topic: 'NEVER_WRITTEN', queueId: 0 });
    expect(unknown.extFields['offset']).toBe('0');
  });

  it('refuse queue ids out of range and bad timestamps with a remark', async () => {
    const neg = await request(g, addr, RequestCode.GET_MIN_OFFSET, { topic: 'TIME_T', queueId: -1 });
    expect([neg.code, neg.remark]).toEqual([ResponseCode.SYSTEM_ERROR, expect.stringMatching(/queueId -1 is out of range/)]);
    const high = await request(g, addr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: 'TIME_T', queueId: 500, timestamp: 0 });
    expect(high.remark).toMatch(/topic TIME_T has queues 0\.\.7/);
    const badTime = await request(g, addr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: 'TIME_T', queueId: 0, timestamp: 'soon' });
    expect([badTime.code, badTime.remark]).toEqual([ResponseCode.SYSTEM_ERROR, expect.stringMatching(/'timestamp' must be an integer/)]);
  });
});

describe('UPDATE_AND_CREATE_TOPIC', () => {
  const topicExt = (topic: string, over: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> => ({
    topic, defaultTopic: 'TBW102', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false, ...over,
  });

  it('creates a topic through a replicated control entry and updates it later', async () => {
    const created = await request(g, addr, RequestCode.UPDATE_AND_CREATE_TOPIC, topicExt('MADE_T'));
    expect(created.code, created.remark).toBe(ResponseCode.SUCCESS);
    expect(leader.context.metadata.topic('MADE_T')).toEqual({ topicName: 'MADE_T', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 });
    const updated = await request(g, addr, RequestCode.UPDATE_AND_CREATE_TOPIC, topicExt('MADE_T', { writeQueueNums: 2, perm: 4 }));
    expect(updated.code).toBe(ResponseCode.SUCCESS);
    expect(leader.context.metadata.topic('MADE_T')).toMatchObject({ readQueueNums: 4, writeQueueNums: 2, perm: 4 });
    // The new permission is enforced: a read-only topic refuses sends.
    const send = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('MADE_T', 0, ''), Buffer.from('x'));
    expect(send.code).toBe(ResponseCode.NO_PERMISSION);
  });

  it('refuses bad names, reserved topics and out-of-range numbers with a remark', async () => {
    const cases: [Record<string, string | number | boolean>, RegExp][] = [
      [topicExt('bad topic!'), /invalid topic name/],
      [topicExt('x'.repeat(128)), /invalid topic name/],
      [topicExt('SCHEDULE_TOPIC_XXXX'), /reserved system topic/],
      [topicExt('TBW102'), /reserved system topic/],
      [topicExt('broker-t'), /name of this broker/],
      [topicExt('OK_T', { readQueueNums: 0 }), /readQueueNums 0 is out of range: use 1 to 1024/],
      [topicExt('OK_T', { writeQueueNums: 5000 }), /writeQueueNums 5000 is out of range/],
      [topicExt('OK_T', { perm: 9 }), /perm 9 is not a permission/],
      [topicExt('OK_T', { topicFilterType: 'SQL' }), /topicFilterType 'SQL' is unknown/],
      [topicExt('OK_T', { readQueueNums: 'four' }), /'readQueueNums' must be an integer/],
    ];
    for (const [ext, remark] of cases) {
      const resp = await request(g, addr, RequestCode.UPDATE_AND_CREATE_TOPIC, ext);
      expect(resp.code, String(ext['topic'])).toBe(ResponseCode.SYSTEM_ERROR);
      expect(resp.remark, String(ext['topic'])).toMatch(remark);
    }
    expect(leader.context.metadata.topic('OK_T')).toBeUndefined();
  });
});
