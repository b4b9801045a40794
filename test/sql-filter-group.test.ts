// SQL92 subscriptions end to end. On a real 3-node group (processes from dist/, random ports,
// enablePropertyFilter=true) a PushConsumer subscribed with an SQL92 selector receives exactly the
// messages whose properties match, and so do a PullConsumer with the same selector and the
// unmodified ali-ons client subscribed with { expressionType: 'SQL92', subString }; a bad
// expression is refused with 23 and the parse error at heartbeat, at pull and already by the
// SDK's subscribe(). On a broker with the filter off (the default) SQL92 heartbeats, pulls and a
// push consumer's start() are refused with 23 and a remark naming the broker.conf key.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { Admin, BrokerResponseError, ConsumeFromWhere, FilterSyntaxError, Producer, PullConsumer, PushConsumer } from '../src/client/index.js';
import { encodeJsonBody, makeRequest, RemotingClient, RequestCode, ResponseCode } from '../src/protocol/index.js';
import { encodeBatch } from '../src/client/batch-encoder.js';
import { decodeMessageRecords } from '../src/client/index.js';
import { SQL_FILTER_SCAN_RECORDS_PER_PULL } from '../src/broker/filter/sql-filtered-read.js';
import { props, request, sendV2, startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Consumer: any };
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

const TOPIC = 'SqlOrders';
const COLORS = ['red', 'blue', 'green'];
const EXPRESSION = "color IN ('red', 'blue') AND (price IS NULL OR price > 10) AND TAGS <> 'TagB'";

/** The expression above, written by hand over the properties the test sends. */
function expectedMatch(m: { color: string; price: number | undefined; tag: string }): boolean {
  return (m.color === 'red' || m.color === 'blue') && (m.price === undefined || m.price > 10) && m.tag !== 'TagB';
}

function heartbeatBody(group: string, expressionType: string, subString: string): Buffer {
  return encodeJsonBody({
    clientID: 'sql-test-client',
    producerDataSet: [],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
      subscriptionDataSet: [{ topic: TOPIC, subString, classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 1, expressionType }],
    }],
  });
}

function pullExt(group: string, expressionType: string, subscription: string): Record<string, string> {
  return { consumerGroup: group, topic: TOPIC, queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: '4', commitOffset: '0', suspendTimeoutMillis: '0', subscription, subVersion: '1', expressionType };
}

describe('SQL92 subscriptions on a group with enablePropertyFilter=true', () => {
  let dir: string;
  let cluster: LocalCluster;
  const closers: (() => Promise<void>)[] = [];
  /** The `n` property of every message the first test sent that matches EXPRESSION. */
  const expected = new Set<string>();
  let admin: Admin;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sql-filter-group-'));
    cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(20), logLevel: 'warn', extraConf: { enablePropertyFilter: 'true' } });
    await cluster.waitForLeader(30_000);
  }, 60_000);

  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers exactly the messages whose properties match to a push consumer subscribed by SQL92', async () => {
    admin = new Admin({ namesrvAddr: cluster.namesrvAddr });
    await admin.start();
    closers.push(() => admin.shutdown());
    await admin.createTopic(TOPIC, { writeQueueNums: 4, readQueueNums: 4 });
    await expect.poll(async () => (await admin.topicStatus(TOPIC)).length, { timeout: 15_000 }).toBe(4);

    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'sql-producers' });
    await producer.start();
    closers.push(() => producer.shutdown());
    const total = 90;
    for (let i = 0; i < total; i++) {
      const m = { color: COLORS[i % 3]!, price: i % 4 === 0 ? undefined : (i * 7) % 25, tag: i % 5 === 0 ? 'TagB' : 'TagA' };
      const properties: Record<string, string> = { color: m.color, n: String(i) };
      if (m.price !== undefined) properties['price'] = String(m.price);
      await producer.send({ topic: TOPIC, tags: m.tag, body: Buffer.from(`m${i}`), properties });
      if (expectedMatch(m)) expected.add(String(i));
    }
    expect(expected.size).toBeGreaterThan(0);
    expect(expected.size).toBeLessThan(total);

    const received: string[] = [];
    const consumer = new PushConsumer({
      namesrvAddr: cluster.namesrvAddr,
      consumerGroup: 'sql-group',
      consumeFromWhere: ConsumeFromWhere.FIRST_OFFSET,
      handler: (msg) => {
        received.push(msg.properties['n'] ?? '?');
      },
    });
    consumer.subscribe(TOPIC, { type: 'SQL92', expression: EXPRESSION });
    closers.push(() => consumer.shutdown());
    await consumer.start();
    // Done once the group's committed offsets reach the end of every queue: whatever was going to
    // be delivered has been, so the received set can be compared whole.
    await expect.poll(async () => (await admin.consumerProgress('sql-group', TOPIC)).every((q) => q.consumerOffset === q.brokerOffset), { timeout: 30_000, interval: 200 }).toBe(true);
    expect(new Set(received)).toEqual(expected);
    expect(received.length).toBe(expected.size);
  }, 90_000);

  it('returns exactly the matching messages to a pull consumer with an SQL92 selector', async () => {
    expect(expected.size).toBeGreaterThan(0);
    const consumer = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'sql-pull-group' });
    await consumer.start();
    closers.push(() => consumer.shutdown());
    const received: string[] = [];
    for (const mq of await consumer.fetchQueues(TOPIC)) {
      const end = await consumer.maxOffset(mq);
      // Bounded: every answer moves the offset forward (FOUND or NO_MATCHED_MSG) until the end.
      for (let offset = 0, rounds = 0; offset < end && rounds < 100; rounds++) {
        const r = await consumer.pull(mq, offset, 32, { selector: { type: 'SQL92', expression: EXPRESSION } });
        for (const m of r.messages) received.push(m.properties['n'] ?? '?');
        offset = r.nextBeginOffset;
      }
    }
    expect(new Set(received)).toEqual(expected);
    expect(received.length).toBe(expected.size);
  }, 60_000);

  it('delivers exactly the matching messages to the unmodified ali-ons client subscribed by SQL92', async () => {
    expect(expected.size).toBeGreaterThan(0);
    const received: string[] = [];
    const consumer = new ons.Consumer({
      httpclient: {}, logger: quiet, pollNameServerInteval: 1000, heartbeatBrokerInterval: 2000, rebalanceInterval: 2000,
      nameSrv: [cluster.namesrvAddr], consumerGroup: 'sql-ons-group', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    });
    consumer.on('error', () => undefined);
    closers.push(() => consumer.close());
    consumer.subscribe(TOPIC, { expressionType: 'SQL92', subString: EXPRESSION }, async (msg: any) => {
      received.push(String(msg.properties['n']));
    });
    await consumer.ready();
    await expect.poll(async () => (await admin.consumerProgress('sql-ons-group', TOPIC)).every((q) => q.consumerOffset === q.brokerOffset), { timeout: 45_000, interval: 200 }).toBe(true);
    expect(new Set(received)).toEqual(expected);
  }, 90_000);

  it('refuses a bad expression with 23 and the parse error at heartbeat and at pull, and the SDK refuses it at subscribe()', async () => {
    const leader = await cluster.waitForLeader(20_000);
    const raw = new RemotingClient({});
    closers.push(() => raw.close());
    const bad = "color IN ('red' AND price > 1";
    const hb = await raw.invoke(leader.brokerAddr, makeRequest(RequestCode.HEART_BEAT, {}, { body: heartbeatBody('sql-bad', 'SQL92', bad) }), 5000);
    expect(hb.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(hb.remark).toMatch(/sql-bad.*SqlOrders.*position 16/);
    const pull = await raw.invoke(leader.brokerAddr, makeRequest(RequestCode.PULL_MESSAGE, pullExt('sql-bad', 'SQL92', bad)), 5000);
    expect(pull.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(pull.remark).toMatch(/expected ',' or '\)'.*position 16/);
    const good = await raw.invoke(leader.brokerAddr, makeRequest(RequestCode.HEART_BEAT, {}, { body: heartbeatBody('sql-good', 'SQL92', 'price > 1') }), 5000);
    expect(good.code, good.remark).toBe(ResponseCode.SUCCESS);

    const consumer = new PushConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'sql-bad', handler: () => undefined });
    expect(() => consumer.subscribe(TOPIC, { type: 'SQL92', expression: bad })).toThrow(FilterSyntaxError);
  }, 60_000);
});

describe('SQL92 subscriptions on a broker with the property filter off', () => {
  let g: TestGroup;
  let addr: string;

  beforeAll(async () => {
    g = await startTestGroup(await findFreeBlock(20), 1);
    addr = (await waitForReadyLeader(g)).brokerAddr;
  });

  afterAll(async () => {
    await g?.close();
  });

  it('refuses SQL92 heartbeats and pulls with 23 and a remark naming enablePropertyFilter, and still serves tag pulls', async () => {
    const hb = await request(g, addr, RequestCode.HEART_BEAT, {}, heartbeatBody('sql-off', 'SQL92', 'price > 1'));
    expect(hb.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(hb.remark).toMatch(/enablePropertyFilter=true/);
    const pull = await request(g, addr, RequestCode.PULL_MESSAGE, pullExt('sql-off', 'SQL92', 'price > 1'));
    expect(pull.code).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect(pull.remark).toMatch(/enablePropertyFilter=true/);
    const tagHb = await request(g, addr, RequestCode.HEART_BEAT, {}, heartbeatBody('tag-on', 'TAG', 'TagA || TagB'));
    expect(tagHb.code, tagHb.remark).toBe(ResponseCode.SUCCESS);
    const tagPull = await request(g, addr, RequestCode.PULL_MESSAGE, pullExt('tag-on', 'TAG', 'TagA'));
    expect(tagPull.code).not.toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
  });

  it('fails a push consumer\'s start() with the broker\'s refusal instead of pulling in a loop', async () => {
    const admin = new Admin({ namesrvAddr: g.namesrvAddr });
    await admin.start();
    try {
      await admin.createTopic(TOPIC, { writeQueueNums: 1, readQueueNums: 1 });
      await expect.poll(async () => (await admin.topicStatus(TOPIC).catch(() => [])).length, { timeout: 15_000 }).toBe(1);
    } finally {
      await admin.shutdown();
    }
    const consumer = new PushConsumer({ namesrvAddr: g.namesrvAddr, consumerGroup: 'sql-off-push', handler: () => undefined });
    consumer.subscribe(TOPIC, { type: 'SQL92', expression: 'price > 1' });
    const failure = await consumer.start().then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(BrokerResponseError);
    expect((failure as BrokerResponseError).brokerCode).toBe(ResponseCode.SUBSCRIPTION_PARSE_FAILED);
    expect((failure as BrokerResponseError).remark).toMatch(/enablePropertyFilter=true/);
    expect(consumer.assignedQueues()).toEqual([]);
  });
});

describe('SQL92 pulls over long runs of non-matching messages', () => {
  let g: TestGroup;
  let addr: string;

  beforeAll(async () => {
    g = await startTestGroup(await findFreeBlock(20), 1, { enablePropertyFilter: 'true' });
    addr = (await waitForReadyLeader(g)).brokerAddr;
  });

  afterAll(async () => {
    await g?.close();
  });

  it('answers "retry at once" with the progress made after its scan budget, then finds the match further on', async () => {
    const skipped = 1200;
    for (let sent = 0; sent < skipped; sent += 400) {
      const entries = Array.from({ length: 400 }, () => ({ body: Buffer.from('g'), flag: 0, properties: props({ color: 'green' }) }));
      const r = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, sendV2(TOPIC, 0, '', { m: true }), encodeBatch(entries));
      expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
    }
    const last = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2(TOPIC, 0, props({ color: 'red', n: 'last' })), Buffer.from('r'));
    expect(last.code, last.remark).toBe(ResponseCode.SUCCESS);

    const first = await request(g, addr, RequestCode.PULL_MESSAGE, pullExt('sql-scan', 'SQL92', "color = 'red'"));
    expect(first.code).toBe(ResponseCode.PULL_RETRY_IMMEDIATELY);
    const next = Number(first.extFields['nextBeginOffset']);
    expect(next).toBe(SQL_FILTER_SCAN_RECORDS_PER_PULL);
    const second = await request(g, addr, RequestCode.PULL_MESSAGE, { ...pullExt('sql-scan', 'SQL92', "color = 'red'"), queueOffset: String(next) });
    expect(second.code).toBe(ResponseCode.SUCCESS);
    expect(decodeMessageRecords(second.body!, 'broker-t').map((m) => [m.queueOffset, m.properties['n']])).toEqual([[skipped, 'last']]);
    expect(second.extFields['nextBeginOffset']).toBe(String(skipped + 1));
  });
});
