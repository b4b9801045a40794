// `rmq admin clusterList`'s merge of the NameServer's rows with the peers the live nodes name,
// on canned answers: every node is listed once, a dead one as UNREACHABLE under its Raft id.
import { describe, expect, it } from 'vitest';
import type { Admin, NodeStatus, RaftStatus } from '../src/client/index.js';
import { clusterList } from '../src/cli/commands/cluster-list.js';
import type { ClusterInfo } from '../src/protocol/route-data.js';

function status(nodeId: string, role: string, peers: RaftStatus['peers']): RaftStatus {
  return { nodeId, role, term: 3, leader: 'n0', commitIndex: 10, lastIndex: 10, appliedIndex: 10, peers };
}

function fakeAdmin(nodes: NodeStatus[], info?: ClusterInfo): Admin {
  return {
    clusterRaftStatus: async () => nodes,
    clusterInfo: async () => {
      if (info === undefined) throw new Error('no cluster info');
      return info;
    },
    raftStatus: async (addr: string) => {
      throw new Error(`connect ECONNREFUSED ${addr}`);
    },
  } as unknown as Admin;
}

describe('clusterList', () => {
  it('lists a killed follower that never led once, under its id, not as a stale row plus a peer row', async () => {
    const peersOfN0 = [{ nodeId: 'n1', raftAddr: '127.0.0.1:2' }, { nodeId: 'n2', raftAddr: '127.0.0.1:3' }];
    const admin = fakeAdmin([
      { clusterName: 'C', brokerName: 'broker-a', brokerId: 0, addr: '127.0.0.1:10', status: status('n0', 'LEADER', peersOfN0) },
      { clusterName: 'C', brokerName: 'broker-a', brokerId: 1, addr: '127.0.0.1:11', status: status('n1', 'FOLLOWER', [{ nodeId: 'n0', raftAddr: '127.0.0.1:1', brokerAddr: '127.0.0.1:10' }, { nodeId: 'n2', raftAddr: '127.0.0.1:3' }]) },
      { clusterName: 'C', brokerName: 'broker-a', brokerId: 2, addr: '127.0.0.1:12', error: 'broker 127.0.0.1:12 did not answer' },
    ]);
    const [g] = await clusterList(admin);
    expect(g!.nodes.map((n) => [n.nodeId, n.addr, n.role])).toEqual([
      ['n0', '127.0.0.1:10', 'LEADER'],
      ['n1', '127.0.0.1:11', 'FOLLOWER'],
      ['n2', '127.0.0.1:12', 'UNREACHABLE'],
    ]);
    expect(g!.nodes[2]!.raftAddr).toBe('127.0.0.1:3');
  });

  it('shows the member set the NameServer holds: voters, learners, a removed node, and a member that neither registered nor answered', async () => {
    const admin = fakeAdmin(
      [
        { clusterName: 'C', brokerName: 'broker-a', brokerId: 0, addr: '127.0.0.1:10', status: status('n0', 'LEADER', []) },
        { clusterName: 'C', brokerName: 'broker-a', brokerId: 4, addr: '127.0.0.1:13', status: status('n3', 'FOLLOWER', []) },
        { clusterName: 'C', brokerName: 'broker-a', brokerId: 2, addr: '127.0.0.1:11', error: 'broker 127.0.0.1:11 did not answer' },
        { clusterName: 'C', brokerName: 'broker-a', brokerId: 3, addr: '127.0.0.1:12', status: status('n2', 'FOLLOWER', []) },
      ],
      {
        clusterAddrTable: { C: ['broker-a'] },
        brokerAddrTable: {
          'broker-a': {
            cluster: 'C', brokerName: 'broker-a', brokerAddrs: { '0': '127.0.0.1:10', '2': '127.0.0.1:11', '3': '127.0.0.1:12', '4': '127.0.0.1:13' },
            raftMembers: { index: 42, voters: ['n0', 'n1', 'n4'], learners: ['n3'], nodes: { '127.0.0.1:10': 'n0', '127.0.0.1:11': 'n1', '127.0.0.1:12': 'n2', '127.0.0.1:13': 'n3' } },
          },
        },
      },
    );
    const [g] = await clusterList(admin);
    expect([g!.voters, g!.learners, g!.membershipIndex]).toEqual([['n0', 'n1', 'n4'], ['n3'], 42]);
    expect(g!.nodes.map((n) => [n.nodeId, n.role, n.member])).toEqual([
      ['n0', 'LEADER', 'voter'],
      ['n1', 'UNREACHABLE', 'voter'],
      ['n2', 'FOLLOWER', 'not a member'],
      ['n3', 'FOLLOWER', 'learner'],
      ['n4', 'UNREACHABLE', 'voter'],
    ]);
  });

  it('falls back to the leader\'s configuration when the NameServer holds none', async () => {
    const admin = fakeAdmin([
      { clusterName: 'C', brokerName: 'broker-a', brokerId: 0, addr: '127.0.0.1:10', status: { ...status('n0', 'LEADER', []), voters: ['n0', 'n1'], learners: ['n5'] } },
      { clusterName: 'C', brokerName: 'broker-a', brokerId: 2, addr: '127.0.0.1:11', status: status('n1', 'FOLLOWER', []) },
    ]);
    const [g] = await clusterList(admin);
    expect([g!.voters, g!.learners, g!.membershipIndex]).toEqual([['n0', 'n1'], ['n5'], null]);
    expect(g!.nodes.map((n) => [n.nodeId, n.member])).toEqual([['n0', 'voter'], ['n1', 'voter'], ['n5', 'learner']]);
  });
});
