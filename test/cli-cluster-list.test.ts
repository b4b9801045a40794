// `rmq admin clusterList`'s merge of the NameServer's rows with the peers the live nodes name,
// on canned answers: every node is listed once, a dead one as UNREACHABLE under its Raft id.
import { describe, expect, it } from 'vitest';
import type { Admin, NodeStatus, RaftStatus } from '../src/client/index.js';
import { clusterList } from '../src/cli/commands/cluster-list.js';

function status(nodeId: string, role: string, peers: RaftStatus['peers']): RaftStatus {
  return { nodeId, role, term: 3, leader: 'n0', commitIndex: 10, lastIndex: 10, appliedIndex: 10, peers };
}

function fakeAdmin(nodes: NodeStatus[]): Admin {
  return {
    clusterRaftStatus: async () => nodes,
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
});
