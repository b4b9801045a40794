// Pure parts of the further processors and the schedule service: the batch body decoder (against
// the client's encoder), the send-back record (retry vs DLQ, properties, reconsume times), the
// record a due delayed message becomes, and the delay-level parser.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../src/client/batch-encoder.js';
import { BadBatchError, decodeBatchBody } from '../src/broker/processors/send-batch.js';
import { buildSendBackRecord, FIRST_RETRY_DELAY_LEVEL } from '../src/broker/retry/retry-record.js';
import { buildDueRecord } from '../src/broker/schedule/due-record.js';
import { parseDelayLevels } from '../src/broker/schedule/delay-levels.js';
import { createMessageId, getProperty, parseProperties, type MessageRecord } from '../src/store/index.js';

const propsArb = fc.dictionary(fc.stringMatching(/^[A-Za-z_]{1,8}$/), fc.stringMatching(/^[ -~]{0,12}$/), { maxKeys: 4 }).map((d) => Object.entries(d).map(([k, v]) => `${k}\x01${v}\x02`).join(''));

function message(over: Partial<MessageRecord> = {}): MessageRecord {
  return {
    topic: 'ORDERS',
    queueId: 2,
    flag: 7,
    queueOffset: 41,
    physicalOffset: 9000,
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost: '10.0.0.9',
    bornPort: 5555,
    storeTimestamp: 1_700_000_000_100,
    storeHost: '127.0.0.1',
    storePort: 10911,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: Buffer.from('payload'),
    properties: 'TAGS\x01red\x02KEYS\x01k1\x02',
    ...over,
  };
}

const sendBackBase = { originalPhysicalOffset: 9000, group: 'G1', requestedDelayLevel: 0, maxReconsumeTimes: 16, retryQueueId: 0, delayLevelCount: 18, storeTimestamp: 1_800_000_000_000, storeHost: { host: '127.0.0.2', port: 20911 } };

describe('the batch body decoder', () => {
  it('reads back exactly what the client encoder wrote, message by message', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ body: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), flag: fc.integer(), properties: propsArb }), { minLength: 1, maxLength: 20 }), (entries) => {
        const decoded = decodeBatchBody(encodeBatch(entries), 1024);
        expect(decoded.map((e) => ({ body: Buffer.from(e.body), flag: e.flag, properties: e.properties }))).toEqual(entries);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a body cut anywhere inside a message and names the message', () => {
    const body = encodeBatch([{ body: Buffer.from('abc'), flag: 0, properties: 'A\x01b\x02' }, { body: Buffer.from('defgh'), flag: 1, properties: '' }]);
    for (let cut = 1; cut < body.length; cut++) {
      if (cut === 4 + 4 + 4 + 4 + 4 + 3 + 2 + 4) continue; // exactly the end of message #1
      expect(() => decodeBatchBody(body.subarray(0, cut), 1024), `cut at ${cut}`).toThrow(BadBatchError);
    }
    expect(() => decodeBatchBody(body.subarray(0, 20), 1024)).toThrow(/message #1/);
  });

  it('refuses more messages than the cap and says how to split them', () => {
    const body = encodeBatch(Array.from({ length: 5 }, () => ({ body: Buffer.from('x'), flag: 0, properties: '' })));
    expect(decodeBatchBody(body, 5)).toHaveLength(5);
    expect(() => decodeBatchBody(body, 4)).toThrow(/at most 4/);
  });
});

describe('the send-back record', () => {
  it('parks a first failure at delay level 3 for the retry topic with one more reconsume and the origin remembered', () => {
    const out = buildSendBackRecord({ ...sendBackBase, original: message() });
    expect(out.target).toBe('retry');
    expect(out.topic).toBe('%RETRY%G1');
    expect(out.delayLevel).toBe(FIRST_RETRY_DELAY_LEVEL);
    const r = out.record;
    expect(r.topic).toBe('SCHEDULE_TOPIC_XXXX');
    expect(r.queueId).toBe(FIRST_RETRY_DELAY_LEVEL - 1);
    expect(r.reconsumeTimes).toBe(1);
    const p = parseProperties(r.properties);
    expect(p.get('REAL_TOPIC')).toBe('%RETRY%G1');
    expect(p.get('REAL_QID')).toBe('0');
    expect(p.get('DELAY')).toBe('3');
    expect(p.get('RETRY_TOPIC')).toBe('ORDERS');
    expect(p.get('ORIGIN_MESSAGE_ID')).toBe(createMessageId('127.0.0.1', 10911, 9000));
    expect(p.get('TAGS')).toBe('red');
    expect(p.get('KEYS')).toBe('k1');
    expect(Buffer.from(r.body).toString()).toBe('payload');
    expect([r.flag, r.bornTimestamp, r.bornHost, r.bornPort]).toEqual([7, 1_700_000_000_000, '10.0.0.9', 5555]);
    expect([r.storeHost, r.storePort, r.storeTimestamp]).toEqual(['127.0.0.2', 20911, 1_800_000_000_000]);
  });

  it('waits longer with every reconsume and caps the level at the last one', () => {
    const levels = [0, 4, 14, 15, 20].map((n) => buildSendBackRecord({ ...sendBackBase, maxReconsumeTimes: 32, original: message({ reconsumeTimes: n }) }).delayLevel);
    expect(levels).toEqual([3, 7, 17, 18, 18]);
  });

  it('keeps the first RETRY_TOPIC and ORIGIN_MESSAGE_ID of a message that was already retried', () => {
    const retried = message({ topic: '%RETRY%G1', reconsumeTimes: 2, properties: 'RETRY_TOPIC\x01ORDERS\x02ORIGIN_MESSAGE_ID\x01ABC\x02REAL_TOPIC\x01%RETRY%G1\x02REAL_QID\x010\x02' });
    const p = parseProperties(buildSendBackRecord({ ...sendBackBase, original: retried }).record.properties);
    expect(p.get('RETRY_TOPIC')).toBe('ORDERS');
    expect(p.get('ORIGIN_MESSAGE_ID')).toBe('ABC');
    expect(p.get('DELAY')).toBe('5');
  });

  it('uses the level the request names instead of the default', () => {
    expect(buildSendBackRecord({ ...sendBackBase, original: message(), requestedDelayLevel: 1 }).record.queueId).toBe(0);
  });

  it('sends the message to the dead-letter topic once it was reconsumed maxReconsumeTimes times, without a delay', () => {
    const out = buildSendBackRecord({ ...sendBackBase, original: message({ reconsumeTimes: 16, properties: 'DELAY\x013\x02TAGS\x01red\x02' }) });
    expect(out.target).toBe('dlq');
    expect(out.record.topic).toBe('%DLQ%G1');
    expect(out.record.queueId).toBe(0);
    expect(out.record.reconsumeTimes).toBe(17);
    expect(getProperty(out.record.properties, 'DELAY')).toBeUndefined();
    expect(getProperty(out.record.properties, 'TAGS')).toBe('red');
    expect(buildSendBackRecord({ ...sendBackBase, original: message({ reconsumeTimes: 15 }) }).target).toBe('retry');
  });

  it('sends the message to the dead-letter topic at once when the request asks with a negative level', () => {
    expect(buildSendBackRecord({ ...sendBackBase, original: message(), requestedDelayLevel: -1 }).target).toBe('dlq');
  });

  it('honours a smaller maxReconsumeTimes from the request', () => {
    expect(buildSendBackRecord({ ...sendBackBase, original: message({ reconsumeTimes: 2 }), maxReconsumeTimes: 2 }).target).toBe('dlq');
  });
});

describe('the due record of a delayed message', () => {
  it('goes to its real topic and queue with DELAY cleared and the other properties kept', () => {
    const parked = message({ topic: 'SCHEDULE_TOPIC_XXXX', queueId: 0, properties: 'TAGS\x01t\x02DELAY\x011\x02REAL_TOPIC\x01ORDERS\x02REAL_QID\x013\x02' });
    const due = buildDueRecord(parked, 42, { host: '127.0.0.3', port: 1 });
    expect(due.ok).toBe(true);
    if (!due.ok) return;
    expect([due.record.topic, due.record.queueId, due.record.storeTimestamp, due.record.storeHost]).toEqual(['ORDERS', 3, 42, '127.0.0.3']);
    const p = parseProperties(due.record.properties);
    expect(p.has('DELAY')).toBe(false);
    expect([p.get('TAGS'), p.get('REAL_TOPIC'), p.get('REAL_QID')]).toEqual(['t', 'ORDERS', '3']);
    expect(due.record.bornTimestamp).toBe(parked.bornTimestamp);
  });

  it('is refused with a reason when REAL_TOPIC or REAL_QID is missing', () => {
    expect(buildDueRecord(message({ properties: 'REAL_QID\x011\x02' }), 1, { host: '127.0.0.1', port: 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/REAL_TOPIC/) });
    expect(buildDueRecord(message({ properties: 'REAL_TOPIC\x01T\x02REAL_QID\x01x\x02' }), 1, { host: '127.0.0.1', port: 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/REAL_QID/) });
  });
});

describe('the delay-level parser', () => {
  it("reads RocketMQ's default 18 levels in milliseconds", () => {
    const ms = parseDelayLevels('1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h');
    expect(ms).toHaveLength(18);
    expect([ms[0], ms[2], ms[4], ms[16], ms[17]]).toEqual([1000, 10_000, 60_000, 3_600_000, 7_200_000]);
    expect(parseDelayLevels('1d')).toEqual([86_400_000]);
  });
});
