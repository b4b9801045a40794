// RouteInfoManager: master election by Raft term, slaves, expiry, auto-create and retry routes,
// cluster info. Pure state with an injected clock, so no sockets here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TopicConfig } from '../src/protocol/route-data.js';
import { RouteInfoManager, type BrokerRegistration } from '../src/namesrv/route-info-manager.js';

function reg(overrides: Partial<BrokerRegistration> & { brokerAddr: string }): BrokerRegistration {
  return {
    clusterName: 'DefaultCluster',
    brokerName: 'broker-a',
    brokerId: 0,
    haServerAddr: '',
    raftTerm: 0,
    topicConfigs: undefined,
    autoCreateTopicEnable: false,
    defaultTopicQueueNums: 8,
    ...overrides,
  };
}

function topic(topicName: string, queueNums = 4): TopicConfig {
  return { topicName, readQueueNums: queueNums, writeQueueNums: queueNums, perm: 6, topicSysFlag: 0 };
}

const A = '127.0.0.1:10911';
const B = '127.0.0.1:10921';
const C = '127.0.0.1:10931';

describe('RouteInfoManager master election', () => {
  it('makes the registrant with the highest raft term the master and ignores a lower-term claim', () => {
    const m = new RouteInfoManager();
    expect(m.register(reg({ brokerAddr: A, raftTerm: 1 }), 0).accepted).toBe(true);
    expect(m.register(reg({ brokerAddr: B, raftTerm: 2 }), 0).accepted).toBe(true);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, B]]));
    const stale = m.register(reg({ brokerAddr: A, raftTerm: 1 }), 0);
    expect(stale).toMatchObject({ accepted: false, masterAddr: B, masterRaftTerm: 2 });
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, B]]));
  });

  it('does not let another address with the same term displace the master', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 5 }), 0);
    expect(m.register(reg({ brokerAddr: B, raftTerm: 5 }), 0).accepted).toBe(false);
    expect(m.getBrokerAddrs('broker-a').get(0)).toBe(A);
  });

  it('keeps as master the first address to reach the highest term, for any sequence of claims', () => {
    const claim = fc.record({ addr: fc.constantFrom(A, B, C), termStep: fc.nat({ max: 3 }) });
    fc.assert(
      fc.property(fc.array(claim, { minLength: 1, maxLength: 40 }), (claims) => {
        const m = new RouteInfoManager();
        // A Raft node's term never decreases, so each address claims non-decreasing terms.
        const termOf = new Map<string, number>();
        let best: { addr: string; term: number } | undefined;
        for (const { addr, termStep } of claims) {
          const term = (termOf.get(addr) ?? 0) + termStep;
          termOf.set(addr, term);
          m.register(reg({ brokerAddr: addr, raftTerm: term }), 0);
          if (best === undefined || term > best.term || (addr === best.addr && term >= best.term)) best = { addr, term };
          expect(m.getBrokerAddrs('broker-a').get(0)).toBe(best.addr);
          expect(m.getMasterTerm('broker-a')).toBe(best.term);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('lists registrations from other addresses as slaves by their brokerId', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 3 }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 1, raftTerm: 3 }), 0);
    m.register(reg({ brokerAddr: C, brokerId: 2, raftTerm: 3 }), 0);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, A], [1, B], [2, C]]));
  });

  it('removes a deposed master from id 0 when it re-registers as a follower, freeing the slot', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 3 }), 0);
    m.register(reg({ brokerAddr: A, brokerId: 1, raftTerm: 4 }), 0);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[1, A]]));
    expect(m.getMasterTerm('broker-a')).toBeUndefined();
    expect(m.register(reg({ brokerAddr: B, raftTerm: 4 }), 0).accepted).toBe(true);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, B], [1, A]]));
  });

  it('moves a follower that wins an election from its slave id to id 0', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 1 }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 2, raftTerm: 1 }), 0);
    m.register(reg({ brokerAddr: B, raftTerm: 2 }), 0);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, B]]));
  });
});

describe('RouteInfoManager expiry', () => {
  it('removes an address not refreshed within the expiry and keeps the refreshed ones', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 1, topicConfigs: [topic('T')] }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 1, raftTerm: 1 }), 0);
    m.register(reg({ brokerAddr: A, raftTerm: 1, topicConfigs: [topic('T')] }), 100_000);
    expect(m.expire(120_000, 120_000)).toEqual([]);
    expect(m.expire(120_001, 120_000)).toEqual([B]);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, A]]));
    expect(m.getRoute('T')?.queueDatas).toHaveLength(1);
  });

  it('drops a group and its topic routes when its last address expires', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, topicConfigs: [topic('T')] }), 0);
    expect(m.expire(200_000, 120_000)).toEqual([A]);
    expect(m.getRoute('T')).toBeUndefined();
    expect(m.getClusterInfo()).toEqual({ brokerAddrTable: {}, clusterAddrTable: {} });
    expect(m.getTopicNames()).toEqual([]);
  });
});

describe('RouteInfoManager routes', () => {
  it('routes a registered topic to the groups that list it, with their addresses', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 2, topicConfigs: [topic('T', 4)] }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 1, raftTerm: 2 }), 0);
    m.register(reg({ brokerAddr: C, brokerName: 'broker-b', topicConfigs: [topic('U')] }), 0);
    expect(m.getRoute('T')).toEqual({
      brokerDatas: [{ cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { '0': A, '1': B } }],
      queueDatas: [{ brokerName: 'broker-a', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }],
      filterServerTable: {},
    });
  });

  it('offers an unknown topic on a master that allows auto-create, with its default queue count', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, brokerName: 'broker-a', autoCreateTopicEnable: true }), 0);
    m.register(reg({ brokerAddr: B, brokerName: 'broker-b', autoCreateTopicEnable: false }), 0);
    const route = m.getRoute('NewTopic');
    expect(route?.queueDatas).toEqual([{ brokerName: 'broker-a', readQueueNums: 8, writeQueueNums: 8, perm: 6, topicSysFlag: 0 }]);
    expect(route?.brokerDatas.map((b) => b.brokerName)).toEqual(['broker-a']);
  });

  it('does not offer an unknown topic when only a slave allows auto-create, or nobody does', () => {
    const m = new RouteInfoManager();
    expect(m.getRoute('NewTopic')).toBeUndefined();
    m.register(reg({ brokerAddr: B, brokerId: 1, autoCreateTopicEnable: true }), 0);
    expect(m.getRoute('NewTopic')).toBeUndefined();
  });

  it('routes a retry topic to every group with one queue each', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, brokerName: 'broker-a' }), 0);
    m.register(reg({ brokerAddr: B, brokerName: 'broker-b', brokerId: 1 }), 0);
    const route = m.getRoute('%RETRY%group1');
    expect(route?.queueDatas.map((q) => [q.brokerName, q.readQueueNums, q.writeQueueNums, q.perm])).toEqual([
      ['broker-a', 1, 1, 6],
      ['broker-b', 1, 1, 6],
    ]);
    expect(route?.brokerDatas.map((b) => b.brokerAddrs)).toEqual([{ '0': A }, { '1': B }]);
  });

  it('takes the master topic table as authoritative and lets a follower only fill gaps', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 1, topicConfigs: [topic('T', 4), topic('Old')] }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 1, raftTerm: 1, topicConfigs: [topic('T', 2), topic('Extra')] }), 0);
    expect(m.getRoute('T')?.queueDatas[0]?.writeQueueNums).toBe(4);
    expect(m.getTopicNames()).toEqual(['Extra', 'Old', 'T']);
    m.register(reg({ brokerAddr: A, raftTerm: 1, topicConfigs: [topic('T', 4)] }), 0);
    expect(m.getTopicNames()).toEqual(['T']);
  });

  it('reports clusters and groups in cluster info', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, brokerName: 'broker-a', clusterName: 'c1' }), 0);
    m.register(reg({ brokerAddr: B, brokerName: 'broker-b', clusterName: 'c1', brokerId: 1 }), 0);
    m.register(reg({ brokerAddr: C, brokerName: 'broker-c', clusterName: 'c2' }), 0);
    expect(m.getClusterInfo()).toEqual({
      brokerAddrTable: {
        'broker-a': { cluster: 'c1', brokerName: 'broker-a', brokerAddrs: { '0': A } },
        'broker-b': { cluster: 'c1', brokerName: 'broker-b', brokerAddrs: { '1': B } },
        'broker-c': { cluster: 'c2', brokerName: 'broker-c', brokerAddrs: { '0': C } },
      },
      clusterAddrTable: { c1: ['broker-a', 'broker-b'], c2: ['broker-c'] },
    });
  });

  it('forgets an unregistered address and the group once it is empty', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, topicConfigs: [topic('T')] }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 1 }), 0);
    m.unregister('broker-a', A, 0);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[1, B]]));
    m.unregister('broker-a', B, 0);
    expect(m.getRoute('T')).toBeUndefined();
    expect(m.liveBrokerCount).toBe(0);
  });
});

describe('RouteInfoManager Raft member set', () => {
  it('keeps the newest configuration a group registered and each address\'s node id, in cluster info only', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 2, topicConfigs: [topic('T')], raftMembers: { nodeId: 'n0', index: 30, voters: ['n0', 'n1', 'n2'], learners: ['n3'] } }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 2, raftTerm: 2, raftMembers: { nodeId: 'n1', index: 41, voters: ['n0', 'n1', 'n2', 'n3'], learners: [] } }), 0);
    // A lagging node's older configuration does not replace the newer one.
    m.register(reg({ brokerAddr: C, brokerId: 3, raftTerm: 2, raftMembers: { nodeId: 'n2', index: 30, voters: ['n0', 'n1', 'n2'], learners: ['n3'] } }), 0);
    expect(m.getClusterInfo().brokerAddrTable['broker-a']!.raftMembers).toEqual({
      index: 41, voters: ['n0', 'n1', 'n2', 'n3'], learners: [], nodes: { [A]: 'n0', [B]: 'n1', [C]: 'n2' },
    });
    expect(m.getRoute('T')!.brokerDatas[0]!.raftMembers).toBeUndefined();
  });

  it('has no member set for brokers that do not send one', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 1 }), 0);
    expect(m.getClusterInfo().brokerAddrTable['broker-a']!.raftMembers).toBeUndefined();
  });
});
