// Header accessors, the SEND_MESSAGE_V2 one-letter names, and route body encoding.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTopicName, InvalidTopicNameError, isValidTopicName } from '../src/common/names.js';
import { headerBool, headerInt, headerOptInt, headerString } from '../src/protocol/headers.js';
import { HeaderFieldError } from '../src/protocol/protocol-errors.js';
import { decodeJsonBody, encodeTopicRouteData, type TopicRouteData } from '../src/protocol/route-data.js';
import {
  fromSendV2ExtFields,
  parseSendMessageHeader,
  SEND_V2_SHORT_TO_LONG,
  toSendV2ExtFields,
} from '../src/protocol/send-message-header.js';

describe('header accessors', () => {
  it('reads integers given as strings or numbers and names the field when one is missing or invalid', () => {
    expect(headerInt({ queueId: '3' }, 'queueId')).toBe(3);
    expect(headerInt({ queueId: 3 }, 'queueId')).toBe(3);
    expect(headerInt({ offset: '-1' }, 'offset')).toBe(-1);
    expect(headerInt({ offset: '9007199254740991' }, 'offset')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => headerInt({}, 'queueId')).toThrow(/'queueId' is missing/);
    expect(() => headerInt({ queueId: 'x1' }, 'queueId')).toThrow(HeaderFieldError);
    expect(() => headerInt({ queueId: '1.5' }, 'queueId')).toThrow(/'queueId' must be an integer/);
    expect(headerOptInt({}, 'maxMsgNums', 32)).toBe(32);
    expect(() => headerString({ topic: '' }, 'topic')).toThrow(/'topic' is missing/);
  });

  it('reads booleans in any case and refuses other words', () => {
    expect(headerBool({ k: 'false' }, 'k', true)).toBe(false);
    expect(headerBool({ k: 'TRUE' }, 'k', false)).toBe(true);
    expect(headerBool({ k: true }, 'k', false)).toBe(true);
    expect(headerBool({}, 'k', true)).toBe(true);
    expect(() => headerBool({ k: 'yes' }, 'k', false)).toThrow(/'k' must be true or false/);
  });

  it('a header error carries a stable code and answers SYSTEM_ERROR', () => {
    try {
      headerInt({}, 'queueId');
      expect.fail('expected a throw');
    } catch (err) {
      expect(err).toBeInstanceOf(HeaderFieldError);
      expect((err as HeaderFieldError).code).toBe('ERR_REMOTING_HEADER_FIELD');
      expect((err as HeaderFieldError).responseCode).toBe(1);
      expect((err as HeaderFieldError).field).toBe('queueId');
    }
  });
});

describe('SEND_MESSAGE_V2 header', () => {
  it('parses the exact field set ali-ons sends, with unquoted numbers turned into strings', () => {
    const ext = { a: 'PG', b: 'TopicA', c: 'TBW102', d: '4', e: '2', f: '0', g: '1700000000000', h: '0', i: 'TAGS\u0001t\u0002', j: '0', k: 'false' };
    const h = parseSendMessageHeader(ext, true);
    expect(h).toMatchObject({ producerGroup: 'PG', topic: 'TopicA', queueId: 2, sysFlag: 0, bornTimestamp: 1700000000000, properties: 'TAGS\u0001t\u0002', unitMode: false, batch: false });
    expect(h.maxReconsumeTimes).toBeUndefined();
  });

  it('reads the same values from the long names of SEND_MESSAGE', () => {
    const long = { producerGroup: 'PG', topic: 'T', queueId: '1', sysFlag: '1', bornTimestamp: '5', flag: '0', properties: '', maxReconsumeTimes: '16' };
    expect(parseSendMessageHeader(long, false)).toEqual(parseSendMessageHeader(toSendV2ExtFields(long), true));
    expect(parseSendMessageHeader(long, false).maxReconsumeTimes).toBe(16);
  });

  it('maps short names to long names and back without loss', () => {
    const longNames = Object.values(SEND_V2_SHORT_TO_LONG);
    fc.assert(
      fc.property(fc.subarray(longNames), fc.array(fc.string(), { minLength: 14, maxLength: 14 }), (names, values) => {
        const long: Record<string, string> = {};
        names.forEach((n, i) => (long[n] = values[i]!));
        const short = toSendV2ExtFields(long);
        expect(Object.keys(short).every((k) => k.length === 1)).toBe(true);
        expect(fromSendV2ExtFields(short)).toEqual(long);
      }),
    );
  });

  it('names the missing field when queueId is absent', () => {
    expect(() => parseSendMessageHeader({ a: 'PG', b: 'T' }, true)).toThrow(/header field 'e' is missing/);
  });
});

describe('route body', () => {
  const route: TopicRouteData = {
    brokerDatas: [
      { cluster: 'c', brokerName: 'b2', brokerAddrs: { '0': '127.0.0.1:2', '2': '127.0.0.1:3' } },
      { cluster: 'c', brokerName: 'b1', brokerAddrs: { '0': '127.0.0.1:1' } },
    ],
    queueDatas: [
      { brokerName: 'b2', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 },
      { brokerName: 'b1', readQueueNums: 8, writeQueueNums: 8, perm: 6, topicSysFlag: 0 },
    ],
    filterServerTable: {},
  };

  it('is standard JSON with quoted broker-id keys, sorted by broker name', () => {
    const text = encodeTopicRouteData(route).toString();
    expect(text).toContain('"brokerAddrs":{"0":"127.0.0.1:2","2":"127.0.0.1:3"}');
    const parsed = JSON.parse(text) as TopicRouteData;
    expect(parsed.brokerDatas.map((b) => b.brokerName)).toEqual(['b1', 'b2']);
    expect(parsed.queueDatas.map((q) => q.brokerName)).toEqual(['b1', 'b2']);
  });

  it('decodes fastjson output with unquoted integer keys', () => {
    const fastjson = Buffer.from('{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"b","cluster":"c"}],"queueDatas":[]}');
    const parsed = decodeJsonBody<TopicRouteData>(fastjson, 'route');
    expect(parsed.brokerDatas[0]!.brokerAddrs).toEqual({ '0': '10.0.0.1:10911', '1': '10.0.0.2:10911' });
    expect(() => decodeJsonBody(Buffer.from('{nope'), 'route')).toThrow(/route: body is not JSON/);
  });
});

describe('topic names', () => {
  it('accepts RocketMQ names up to 127 characters and rejects the rest naming the rule', () => {
    expect(isValidTopicName('%RETRY%group_1-a|b')).toBe(true);
    expect(isValidTopicName('a'.repeat(127))).toBe(true);
    expect(isValidTopicName('a'.repeat(128))).toBe(false);
    expect(isValidTopicName('')).toBe(false);
    expect(isValidTopicName('a b')).toBe(false);
    expect(isValidTopicName('a.b')).toBe(false);
    expect(() => checkTopicName('bad topic')).toThrow(InvalidTopicNameError);
    expect(() => checkTopicName('bad topic')).toThrow(/\[%\|a-zA-Z0-9_-\]/);
  });
});
