// Units of the admin operations and orderly locks: the broker's queue lock table (grants, renewals,
// expiry, a new leader's pause, losing leadership), the MessageQueue-keyed tables of Java bodies,
// the NameServer's orderTopicConf and topic deletion, our SDK's ordered routes, and rmq's reset-time forms.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QueueLockTable } from '../src/broker/queue-locks.js';
import { parseResetTime } from '../src/cli/commands/admin-groups.js';
import { RouteInfoManager } from '../src/namesrv/route-info-manager.js';
import { orderedWriteQueues, RouteCache } from '../src/client/route-cache.js';
import type { NamesrvClient } from '../src/client/namesrv-client.js';
import { createLogger } from '../src/common/logger.js';
import { decodeMqTableBody, encodeMqTableBody } from '../src/protocol/index.js';

const q = (queueId: number) => ({ topic: 'T', brokerName: 'b', queueId });
const leading = (term: number) => ({ role: 'leader' as const, leaderId: 'n0', term, ready: true });

describe('the queue lock table', () => {
  it('grants nothing for one expiry period after leadership starts, then one holder per queue until it expires or unlocks', () => {
    let now = 1000;
    const t = new QueueLockTable(60_000, () => now);
    t.onRole(leading(1));
    expect(t.tryLock('g', 'c1', [q(0)])).toEqual([]);
    now += 60_000;
    expect(t.tryLock('g', 'c1', [q(0), q(1)])).toEqual([q(0), q(1)]);
    expect(t.tryLock('g', 'c2', [q(0), q(2)])).toEqual([q(2)]);
    now += 59_000;
    expect(t.tryLock('g', 'c1', [q(0)])).toEqual([q(0)]); // renewed
    now += 59_000;
    expect(t.tryLock('g', 'c2', [q(0)])).toEqual([]);
    now += 2_000;
    expect(t.holder('g', q(0))).toBeUndefined();
    expect(t.tryLock('g', 'c2', [q(0)])).toEqual([q(0)]);
    t.unlock('g', 'c1', [q(0)]); // not c1's any more: nothing happens
    expect(t.holder('g', q(0))).toBe('c2');
    t.unlock('g', 'c2', [q(0)]);
    expect(t.tryLock('g', 'c3', [q(0)])).toEqual([q(0)]);
    expect(t.tryLock('other', 'c1', [q(0)])).toEqual([q(0)]); // groups are apart
  });

  it('forgets every lock when leadership is lost and pauses again in a new term', () => {
    let now = 0;
    const t = new QueueLockTable(1000, () => now);
    t.onRole(leading(1));
    now = 1000;
    expect(t.tryLock('g', 'c1', [q(0)])).toEqual([q(0)]);
    t.onRole({ role: 'follower', leaderId: 'n1', term: 2, ready: false });
    expect(t.holder('g', q(0))).toBeUndefined();
    t.onRole(leading(3));
    expect(t.tryLock('g', 'c2', [q(0)])).toEqual([]);
    now = 2000;
    expect(t.tryLock('g', 'c2', [q(0)])).toEqual([q(0)]);
    t.onRole(leading(3)); // the same term again changes nothing
    expect(t.holder('g', q(0))).toBe('c2');
  });
});

describe('MessageQueue-keyed bodies', () => {
  it('decode to what was encoded, in the Java form with unquoted queue keys', () => {
    const name = fc.stringMatching(/^[%|a-zA-Z0-9_-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(name, name, fc.nat(1023), fc.nat()), { maxLength: 20 }), (rows) => {
        const table = rows.map(([topic, brokerName, queueId, v]) => [{ topic, brokerName, queueId }, { brokerOffset: v, consumerOffset: 0 }] as const);
        const body = encodeMqTableBody('offsetTable', table, { consumeTps: 0 });
        expect(body.toString()).not.toMatch(/"\{/);
        const out = decodeMqTableBody<{ brokerOffset: number }>(body, 'offsetTable', 'x');
        const unique = new Map(table.map(([k, v]) => [JSON.stringify(k), v.brokerOffset]));
        expect(new Map(out.rows.map(([k, v]) => [JSON.stringify({ topic: k.topic, brokerName: k.brokerName, queueId: k.queueId }), v.brokerOffset]))).toEqual(
          new Map([...unique].map(([k, v]) => [JSON.stringify({ topic: JSON.parse(k).topic, brokerName: JSON.parse(k).brokerName, queueId: JSON.parse(k).queueId }), v])),
        );
        expect(out.rest).toEqual({ consumeTps: 0 });
      }),
    );
    expect(() => decodeMqTableBody(Buffer.from('{"offsetTable":{{"x":1}:2}}'), 'offsetTable', 'bad')).toThrow(/MessageQueue keys/);
  });
});

describe('the NameServer', () => {
  it('serves an ordered topic as orderTopicConf of the groups that mark it, and forgets a deleted route', () => {
    const r = new RouteInfoManager();
    const reg = (brokerName: string, addr: string, order: boolean) =>
      r.register({ clusterName: 'c', brokerName, brokerAddr: addr, brokerId: 0, haServerAddr: '', raftTerm: 1, autoCreateTopicEnable: false, defaultTopicQueueNums: 8,
        topicConfigs: [{ topicName: 'O', readQueueNums: 4, writeQueueNums: 3, perm: 6, topicSysFlag: 0, ...(order ? { order: true } : {}) }] }, 0);
    reg('a', '127.0.0.1:1', true);
    reg('b', '127.0.0.1:2', false);
    const route = r.getRoute('O')!;
    expect(route.orderTopicConf).toBe('a:3');
    expect(route.queueDatas.every((qd) => !('order' in qd))).toBe(true);
    reg('b', '127.0.0.1:2', true);
    expect(r.getRoute('O')!.orderTopicConf).toBe('a:3;b:3');
    expect(r.deleteTopic('O')).toBe(true);
    expect(r.getRoute('O')).toBeUndefined();
    expect(r.deleteTopic('O')).toBe(false);
  });
});

describe("our SDK's routes", () => {
  it('publish an ordered topic to exactly the queues its orderTopicConf names, whatever the permission or master', async () => {
    const route = {
      brokerDatas: [{ cluster: 'c', brokerName: 'a', brokerAddrs: { '0': '127.0.0.1:1' } }, { cluster: 'c', brokerName: 'b', brokerAddrs: { '1': '127.0.0.1:2' } }],
      queueDatas: [{ brokerName: 'a', readQueueNums: 3, writeQueueNums: 3, perm: 4, topicSysFlag: 0 }, { brokerName: 'b', readQueueNums: 2, writeQueueNums: 2, perm: 6, topicSysFlag: 0 }],
      filterServerTable: {},
    };
    const cacheOf = (r: object) => new RouteCache({ getRoute: async () => r } as unknown as NamesrvClient, createLogger({ component: 'route-test' }));
    // Without the conf: only writable queues of groups with a master (none here).
    expect((await cacheOf(route).get('O')).writeQueues).toEqual([]);
    const ordered = await cacheOf({ ...route, orderTopicConf: 'a:3;b:2' }).get('O');
    expect(ordered.writeQueues.map((m) => `${m.brokerName}${m.queueId}`)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    expect(orderedWriteQueues('O', 'a:2;bad;c:x;:3')?.map((m) => `${m.brokerName}${m.queueId}`)).toEqual(['a0', 'a1']);
    expect(orderedWriteQueues('O', '')).toBeUndefined();
  });
});

describe('rmq resetOffsetByTime -s', () => {
  it('reads ms, -1, now and the mqadmin date form, and refuses anything else', () => {
    expect(parseResetTime('1700000000000', 5)).toBe(1_700_000_000_000);
    expect(parseResetTime('-1', 5)).toBe(-1);
    expect(parseResetTime('now', 5)).toBe(5);
    expect(parseResetTime('2024-01-02#03:04:05:006', 5)).toBe(new Date(2024, 0, 2, 3, 4, 5, 6).getTime());
    for (const bad of ['-2', 'yesterday', '2024-01-02 03:04:05']) expect(() => parseResetTime(bad, 5)).toThrow(/not a time/);
  });
});
