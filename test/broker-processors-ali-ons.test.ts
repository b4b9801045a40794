// The real ali-ons client against a one-node in-process broker serving CONSUMER_SEND_MSG_BACK
// and the schedule service (short delays): a message the consumer fails once goes back through
// the broker's send-back (parked at level 3), then reaches the consumer again from
// %RETRY%<group> with reconsumeTimes 1 and its original topic restored by the client. The same
// consumer takes the broker's NOTIFY_CONSUMER_IDS_CHANGED without an error and keeps consuming.

import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerController } from '../src/broker/broker-controller.js';
import type { ScheduleService } from '../src/broker/schedule/schedule-service.js';
import { getProperty } from '../src/store/index.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { request, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { readQueue, registerMyProcessors, replaceScheduleService } from './broker-processors-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Producer: any; Consumer: any; Message: any };

const BASE_PORT = await findFreeBlock(20);
const TOPIC = 'ONS_RETRY_T';
const GROUP = 'ONS_RETRY_G';
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const clientOptions = { httpclient: {}, pollNameServerInteval: 1000, heartbeatBrokerInterval: 2000, rebalanceInterval: 1000, logger: quiet };

let g: TestGroup;
let leader: BrokerController;
let schedule: ScheduleService;
let producer: any;
let consumer: any;

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 1);
  leader = await waitForReadyLeader(g);
  registerMyProcessors(leader);
  schedule = await replaceScheduleService(leader, { delayLevelsMs: Array.from({ length: 18 }, () => 200), pollIntervalMs: 20 });
  producer = new ons.Producer({ ...clientOptions, nameSrv: [g.namesrvAddr], producerGroup: 'ONS_RETRY_P' });
  producer.on('error', () => undefined);
  await producer.ready();
});

afterAll(async () => {
  await consumer?.close().catch(() => undefined);
  await producer?.close().catch(() => undefined);
  await ons.Producer.defaultProducer?.close().catch(() => undefined);
  await schedule?.stop();
  await g?.close();
});

describe('ali-ons with the broker’s send-back', () => {
  /** What the consumer's handler took, after its one deliberate failure. */
  const seen: { body: string; topic: string; reconsumeTimes: number }[] = [];

  it('gets a failed message back from the retry topic with reconsumeTimes 1 after the broker parked it', async () => {
    let failed = false;
    consumer = new ons.Consumer({ ...clientOptions, nameSrv: [g.namesrvAddr], consumerGroup: GROUP, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    consumer.on('error', () => undefined);
    consumer.subscribe(TOPIC, '*', async (msg: any) => {
      if (!failed) {
        failed = true;
        throw new Error('RECONSUME_LATER for the test');
      }
      seen.push({ body: msg.body.toString(), topic: msg.topic, reconsumeTimes: msg.reconsumeTimes });
    });
    await consumer.ready();
    const msg = new ons.Message(TOPIC, 'TagR', 'fail me once');
    msg.keys = ['r-1'];
    const r = await producer.send(msg);
    expect(r.sendStatus).toBe('SEND_OK');

    await until('the redelivery', 30_000, () => seen.length >= 1);
    expect(seen[0]).toEqual({ body: 'fail me once', topic: TOPIC, reconsumeTimes: 1 });
    // It went through the broker's send-back (parked at level 3), not the client's fallback send.
    const parked = readQueue(leader, 'SCHEDULE_TOPIC_XXXX', 2);
    expect(parked).toHaveLength(1);
    expect(getProperty(parked[0]!.properties, 'ORIGIN_MESSAGE_ID')).toBe(r.msgId);
  }, 60_000);

  it('takes NOTIFY_CONSUMER_IDS_CHANGED from the broker as a one-way JSON request without an error, and keeps consuming', async () => {
    const notices: { code: number; group: unknown; oneway: boolean; response: boolean }[] = [];
    const errors: unknown[] = [];
    consumer.on('error', (err: unknown) => errors.push(err));
    // ali-ons' remoting client re-emits every request a server sends as 'request' (nothing of
    // ali-ons listens); listening here only observes what it decoded.
    consumer._mqClient.on('request', (req: any) => notices.push({ code: req.data.code, group: req.data.extFields?.consumerGroup, oneway: req.data.isOnewayRPC, response: req.isResponse }));
    const other = Buffer.from(JSON.stringify({
      clientID: '10.9.9.9@other',
      producerDataSet: [],
      consumerDataSet: [{ groupName: GROUP, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false, subscriptionDataSet: [] }],
    }));
    expect((await request(g, leader.brokerAddr, RequestCode.HEART_BEAT, {}, other)).code).toBe(ResponseCode.SUCCESS);
    await until('ali-ons to hear that a consumer joined', 5000, () => notices.length >= 1);
    expect((await request(g, leader.brokerAddr, RequestCode.UNREGISTER_CLIENT, { clientID: '10.9.9.9@other', consumerGroup: GROUP })).code).toBe(ResponseCode.SUCCESS);
    await until('ali-ons to hear that it left', 5000, () => notices.length >= 2);
    expect(notices).toEqual([
      { code: RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, group: GROUP, oneway: true, response: false },
      { code: RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, group: GROUP, oneway: true, response: false },
    ]);
    expect((await producer.send(new ons.Message(TOPIC, 'TagN', 'after the notices'))).sendStatus).toBe('SEND_OK');
    await until('the message after the notices', 30_000, () => seen.some((m) => m.body === 'after the notices'));
    expect(errors).toEqual([]);
  }, 60_000);
});
