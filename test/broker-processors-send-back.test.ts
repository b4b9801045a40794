// CONSUMER_SEND_MSG_BACK against a one-node in-process broker with a schedule service on short
// delays: a failed message is parked for %RETRY%<group> at level 3 with the right properties,
// comes back once due, waits longer on each failure, and after 16 retries goes to %DLQ%<group>.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerController } from '../src/broker/broker-controller.js';
import type { ScheduleService } from '../src/broker/schedule/schedule-service.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { getProperty, parseMessageId, parseProperties } from '../src/store/index.js';
import { props, request, sendV2, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { readQueue, registerMyProcessors, replaceScheduleService } from './broker-processors-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
const GROUP = 'SB_G';
let g: TestGroup;
let leader: BrokerController;
let addr: string;
let schedule: ScheduleService;

function sendBack(offset: number, ext: Record<string, string | number | boolean> = {}): ReturnType<typeof request> {
  return request(g, addr, RequestCode.CONSUMER_SEND_MSG_BACK, { offset, group: GROUP, delayLevel: 0, originMsgId: 'X', originTopic: 'SB_T', unitMode: false, maxReconsumeTimes: 16, ...ext });
}

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 1);
  leader = await waitForReadyLeader(g);
  registerMyProcessors(leader);
  addr = leader.brokerAddr;
  // Every level waits 30 ms so sixteen retries take well under a second of delays.
  schedule = await replaceScheduleService(leader, { delayLevelsMs: Array.from({ length: 18 }, () => 30), pollIntervalMs: 10 });
});

afterAll(async () => {
  await schedule?.stop();
  await g?.close();
});

describe('CONSUMER_SEND_MSG_BACK', () => {
  it('parks the first failure at level 3 for the retry topic and delivers it there once due', async () => {
    const sent = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('SB_T', 0, props({ TAGS: 'red', KEYS: 'k-1' })), Buffer.from('try me'));
    const msgId = sent.extFields['msgId']!;
    const resp = await sendBack(parseMessageId(msgId).physicalOffset);
    expect(resp.code, resp.remark).toBe(ResponseCode.SUCCESS);

    const parked = readQueue(leader, 'SCHEDULE_TOPIC_XXXX', 2);
    expect(parked).toHaveLength(1);
    const pp = parseProperties(parked[0]!.properties);
    expect([pp.get('DELAY'), pp.get('REAL_TOPIC'), pp.get('REAL_QID'), pp.get('RETRY_TOPIC'), pp.get('ORIGIN_MESSAGE_ID')]).toEqual(['3', `%RETRY%${GROUP}`, '0', 'SB_T', msgId]);
    expect(parked[0]!.reconsumeTimes).toBe(1);
    expect(leader.context.metadata.topic(`%RETRY%${GROUP}`)).toMatchObject({ readQueueNums: 1, writeQueueNums: 1 });

    await until('the retry copy', 5000, () => readQueue(leader, `%RETRY%${GROUP}`, 0).length === 1);
    const [retry] = readQueue(leader, `%RETRY%${GROUP}`, 0);
    expect(retry!.reconsumeTimes).toBe(1);
    expect(Buffer.from(retry!.body).toString()).toBe('try me');
    const rp = parseProperties(retry!.properties);
    expect([rp.has('DELAY'), rp.get('RETRY_TOPIC'), rp.get('ORIGIN_MESSAGE_ID'), rp.get('TAGS'), rp.get('KEYS')]).toEqual([false, 'SB_T', msgId, 'red', 'k-1']);
  });

  it('waits one level longer on every failure and sends the message to the DLQ after 16 retries', async () => {
    const retryTopic = `%RETRY%${GROUP}`;
    const sent = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('SB_T', 1, props({ KEYS: 'k-dlq' })), Buffer.from('always fails'));
    const originId = sent.extFields['msgId']!;
    const start = readQueue(leader, retryTopic, 0).length;
    let offset = parseMessageId(originId).physicalOffset;
    for (let attempt = 1; attempt <= 16; attempt++) {
      const resp = await sendBack(offset);
      expect(resp.code, resp.remark).toBe(ResponseCode.SUCCESS);
      // The parked copy waits at level 3 + the times it was already reconsumed (capped at 18).
      const level = Math.min(18, 2 + attempt);
      const parked = readQueue(leader, 'SCHEDULE_TOPIC_XXXX', level - 1);
      expect(getProperty(parked[parked.length - 1]!.properties, 'DELAY')).toBe(String(level));
      await until(`retry #${attempt}`, 5000, () => readQueue(leader, retryTopic, 0).length === start + attempt);
      const copy = readQueue(leader, retryTopic, 0)[start + attempt - 1]!;
      expect(copy.reconsumeTimes).toBe(attempt);
      expect(getProperty(copy.properties, 'ORIGIN_MESSAGE_ID')).toBe(originId);
      expect(getProperty(copy.properties, 'RETRY_TOPIC')).toBe('SB_T');
      offset = copy.physicalOffset;
    }
    const last = await sendBack(offset);
    expect(last.code, last.remark).toBe(ResponseCode.SUCCESS);
    const dlq = readQueue(leader, `%DLQ%${GROUP}`, 0);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.reconsumeTimes).toBe(17);
    expect(Buffer.from(dlq[0]!.body).toString()).toBe('always fails');
    expect(getProperty(dlq[0]!.properties, 'ORIGIN_MESSAGE_ID')).toBe(originId);
    expect(getProperty(dlq[0]!.properties, 'DELAY')).toBeUndefined();
    // Nothing more was parked or retried for it.
    await new Promise((r) => setTimeout(r, 100));
    expect(readQueue(leader, retryTopic, 0)).toHaveLength(start + 16);
  });

  it('answers a send-back it cannot do with a remark that says what to change', async () => {
    const sent = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('SB_T', 0, ''), Buffer.from('x'));
    const offset = parseMessageId(sent.extFields['msgId']!).physicalOffset;
    const cases: [Record<string, string | number | boolean>, RegExp][] = [
      [{ offset: offset + 3 }, /no message starts at commitLog offset/],
      [{ offset: -5 }, /negative/],
      [{ offset, group: 'bad group!' }, /invalid group name/],
      [{ offset, group: 'g'.repeat(121) }, /too long to take messages back/],
      [{ offset: 'abc' }, /'offset' must be an integer/],
    ];
    for (const [ext, remark] of cases) {
      const resp = await sendBack(offset, ext);
      expect(resp.code, JSON.stringify(ext)).toBe(ResponseCode.SYSTEM_ERROR);
      expect(resp.remark).toMatch(remark);
    }
    const ok = await sendBack(offset);
    expect(ok.code).toBe(ResponseCode.SUCCESS);
  });
});
