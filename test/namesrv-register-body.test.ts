// The REGISTER_BROKER body: our form, Apache's wrapper form, defaults, and refusals naming the field.
import { describe, expect, it } from 'vitest';
import { parseRegisterBrokerBody } from '../src/namesrv/register-broker-body.js';
import { BadRequestBodyError } from '../src/protocol/protocol-errors.js';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('register broker body', () => {
  it('reads the topic table, auto-create flag and default queue count', () => {
    const body = parseRegisterBrokerBody(
      json({ topicConfigTable: { A: { topicName: 'A', readQueueNums: 2, writeQueueNums: 3, perm: 6, topicSysFlag: 0 } }, autoCreateTopicEnable: true, defaultTopicQueueNums: 4 }),
    );
    expect(body).toEqual({
      topicConfigs: [{ topicName: 'A', readQueueNums: 2, writeQueueNums: 3, perm: 6, topicSysFlag: 0 }],
      skippedTopics: [],
      skippedTopicCount: 0,
      autoCreateTopicEnable: true,
      defaultTopicQueueNums: 4,
    });
  });

  it("reads Apache's topicConfigSerializeWrapper form and fills perm and sysflag defaults", () => {
    const body = parseRegisterBrokerBody(
      json({ topicConfigSerializeWrapper: { topicConfigTable: { B: { readQueueNums: 8, writeQueueNums: 8 } }, dataVersion: {} }, filterServerList: [] }),
    );
    expect(body.topicConfigs).toEqual([{ topicName: 'B', readQueueNums: 8, writeQueueNums: 8, perm: 6, topicSysFlag: 0 }]);
    expect(body.autoCreateTopicEnable).toBe(false);
    expect(body.defaultTopicQueueNums).toBe(8);
  });

  it('treats an absent body as no topic table and no auto-create', () => {
    expect(parseRegisterBrokerBody(undefined)).toEqual({ topicConfigs: undefined, skippedTopics: [], skippedTopicCount: 0, autoCreateTopicEnable: false, defaultTopicQueueNums: 8 });
  });

  it('leaves out a topic whose name breaks the rule and keeps every other topic of the registration', () => {
    const body = parseRegisterBrokerBody(json({
      topicConfigTable: {
        '%RETRY%bad group': { topicName: '%RETRY%bad group', readQueueNums: 1, writeQueueNums: 1 },
        [`L${'x'.repeat(127)}`]: { readQueueNums: 1, writeQueueNums: 1 },
        Good: { topicName: 'Good', readQueueNums: 4, writeQueueNums: 4 },
      },
    }));
    expect(body.topicConfigs).toEqual([{ topicName: 'Good', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }]);
    expect(body.skippedTopicCount).toBe(2);
    expect(body.skippedTopics[0]).toBe('%RETRY%bad group');
  });

  it('refuses invalid queue counts and flags, naming what is wrong', () => {
    expect(() => parseRegisterBrokerBody(json({ topicConfigTable: { A: { readQueueNums: 1 } } }))).toThrow(/A\.writeQueueNums/);
    expect(() => parseRegisterBrokerBody(json({ topicConfigTable: { A: { readQueueNums: 1, writeQueueNums: 5000 } } }))).toThrow(/\[0, 1024\]/);
    expect(() => parseRegisterBrokerBody(json({ autoCreateTopicEnable: 'yes' }))).toThrow(/autoCreateTopicEnable must be a boolean/);
    expect(() => parseRegisterBrokerBody(Buffer.from('not json'))).toThrow(BadRequestBodyError);
  });
});
