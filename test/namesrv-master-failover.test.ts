// RouteInfoManager edge cases of master failover: a brokerId-0 claim that lost to a higher term
// takes over as soon as the master expires, unregisters or falls silent (not at the claimant's
// next registration, up to 30 s later), and a group wiped and restarted at a low term is not
// blocked by its old high-term master entry for the whole broker expiry. Pure state, injected clock.
import { describe, expect, it } from 'vitest';
import type { TopicConfig } from '../src/protocol/route-data.js';
import { DEFAULT_MASTER_SILENCE_MS, RouteInfoManager, type BrokerRegistration } from '../src/namesrv/route-info-manager.js';

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
const EXPIRY_MS = 120_000;

describe('promotion of a claim that lost', () => {
  it('makes the highest-term live claimant master when the master expires, with its topic table', () => {
    const m = new RouteInfoManager({ masterSilenceMs: 200_000 });
    m.register(reg({ brokerAddr: A, raftTerm: 5, topicConfigs: [topic('Old')] }), 0);
    // Two lower-term claims (C's is the better one), refused while A registers.
    expect(m.register(reg({ brokerAddr: B, raftTerm: 3, topicConfigs: [topic('FromB')] }), 100_000).accepted).toBe(false);
    expect(m.register(reg({ brokerAddr: C, raftTerm: 4, topicConfigs: [topic('FromC')] }), 110_000).accepted).toBe(false);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, A]]));
    expect(m.expire(120_001, EXPIRY_MS)).toEqual([A]);
    expect(m.getBrokerAddrs('broker-a').get(0)).toBe(C);
    expect(m.getMasterTerm('broker-a')).toBe(4);
    expect(m.getRoute('FromC')?.brokerDatas[0]?.brokerAddrs['0']).toBe(C);
    expect(m.getRoute('Old')).toBeUndefined();
  });

  it('keeps a claimant\'s follower address until it is promoted, then lists it only as master', () => {
    const m = new RouteInfoManager({ masterSilenceMs: 200_000 });
    m.register(reg({ brokerAddr: A, raftTerm: 5, topicConfigs: [topic('T')] }), 0);
    m.register(reg({ brokerAddr: B, brokerId: 2, raftTerm: 5 }), 0);
    expect(m.register(reg({ brokerAddr: B, raftTerm: 4 }), 100_000).accepted).toBe(false);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, A], [2, B]]));
    m.expire(120_001, EXPIRY_MS);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[0, B]]));
    // No topic table came with the claim: what is known stays routed.
    expect(m.getRoute('T')?.brokerDatas[0]?.brokerAddrs).toEqual({ 0: B });
  });

  it('promotes the best claimant at once when the master unregisters', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 5 }), 0);
    m.register(reg({ brokerAddr: B, raftTerm: 4 }), 10);
    m.unregister('broker-a', A, 20);
    expect(m.getBrokerAddrs('broker-a').get(0)).toBe(B);
  });

  it('does not promote a claimant that moved back to a follower id or fell silent itself', () => {
    const m = new RouteInfoManager({ masterSilenceMs: 200_000 });
    m.register(reg({ brokerAddr: A, raftTerm: 5 }), 0);
    m.register(reg({ brokerAddr: B, raftTerm: 4 }), 10_000);
    m.register(reg({ brokerAddr: B, brokerId: 1, raftTerm: 5 }), 20_000);
    m.expire(120_001, EXPIRY_MS);
    expect(m.getBrokerAddrs('broker-a')).toEqual(new Map([[1, B]]));
  });
});

describe('a wiped group restarted at a low term', () => {
  it('takes the lower-term claim once the old master is silent past the bound, not after the broker expiry', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 40, topicConfigs: [topic('Old')] }), 0);
    // Wiped and restarted: B leads at term 1 while A's entry is still fresh.
    const early = m.register(reg({ brokerAddr: B, raftTerm: 1, topicConfigs: [topic('New')] }), 10_000);
    expect(early).toMatchObject({ accepted: false, masterAddr: A, masterRaftTerm: 40 });
    // The next expiry scan after the silence bound promotes B; A is not expired yet.
    expect(m.expire(DEFAULT_MASTER_SILENCE_MS + 1, EXPIRY_MS)).toEqual([]);
    expect(m.getBrokerAddrs('broker-a').get(0)).toBe(B);
    expect(m.getMasterTerm('broker-a')).toBe(1);
    expect(m.getRoute('New')?.brokerDatas[0]?.brokerAddrs['0']).toBe(B);
    // A registration of B after the bound is accepted as well.
    expect(m.register(reg({ brokerAddr: B, raftTerm: 1 }), DEFAULT_MASTER_SILENCE_MS + 20_000).accepted).toBe(true);
  });

  it('accepts the lower-term claim at registration when the old master is silent past the bound', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 40 }), 0);
    expect(m.register(reg({ brokerAddr: B, raftTerm: 1 }), DEFAULT_MASTER_SILENCE_MS + 1).accepted).toBe(true);
    expect(m.getBrokerAddrs('broker-a').get(0)).toBe(B);
    // The silent old master, should it come back with its old term, wins again (a higher term).
    expect(m.register(reg({ brokerAddr: A, raftTerm: 40 }), DEFAULT_MASTER_SILENCE_MS + 2).accepted).toBe(true);
  });

  it('accepts the old master\'s own address at a lower term, and drops its entry when it registers as a follower', () => {
    const m = new RouteInfoManager();
    m.register(reg({ brokerAddr: A, raftTerm: 40 }), 0);
    expect(m.register(reg({ brokerAddr: A, raftTerm: 1 }), 1000).accepted).toBe(true);
    expect(m.getMasterTerm('broker-a')).toBe(1);
    const n = new RouteInfoManager();
    n.register(reg({ brokerAddr: A, raftTerm: 40 }), 0);
    n.register(reg({ brokerAddr: A, brokerId: 1, raftTerm: 1 }), 1000);
    expect(n.register(reg({ brokerAddr: B, raftTerm: 1 }), 1000).accepted).toBe(true);
  });

  it('still refuses a lower-term claim while the master keeps registering', () => {
    const m = new RouteInfoManager();
    for (let t = 0; t <= 5 * DEFAULT_MASTER_SILENCE_MS; t += 30_000) {
      m.register(reg({ brokerAddr: A, raftTerm: 40 }), t);
      expect(m.register(reg({ brokerAddr: B, raftTerm: 39 }), t + 1).accepted).toBe(false);
      expect(m.expire(t + 2, EXPIRY_MS)).toEqual([]);
      expect(m.getBrokerAddrs('broker-a').get(0)).toBe(A);
    }
  });
});
