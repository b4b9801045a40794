// Replacing a dead node of a 3-node broker group while a producer keeps sending: a new broker
// started with dLegerJoining=true is added as a learner, promoted, and the dead node removed,
// all through RAFT_CHANGE_MEMBERS; every acknowledged message is in the new node's queue. A live
// follower removed afterwards unregisters from the NameServer.
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { parseBrokerConfig } from '../src/broker/broker-config.js';
import { RaftAdminCode } from '../src/broker/processors/raft-admin.js';
import { decodeMessageRecord } from '../src/store/index.js';
import { decodeJsonBody, RequestCode, ResponseCode, type ClusterInfo } from '../src/protocol/index.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { join } from 'node:path';
import { props, request, sendV2, startBroker, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

let g: TestGroup | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

/** Sends a change to the leader, retrying while it says a change is in flight or the learner lags. */
async function change(group: TestGroup, fields: Record<string, string>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const leader = group.brokers.find((b) => b.raft.isLeader());
    if (leader !== undefined) {
      const r = await request(group, leader.brokerAddr, RaftAdminCode.RAFT_CHANGE_MEMBERS, fields);
      if (r.code === ResponseCode.SUCCESS) return;
      if (!/change-in-progress|learner-behind|ERR_RAFT_NOT_LEADER/.test(r.remark ?? '')) throw new Error(`change refused: ${r.remark}`);
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`change ${JSON.stringify(fields)} not accepted after 100 attempts`);
}

describe('broker group membership', () => {
  it('replaces a dead node under a steady producer without losing an acknowledged message', async () => {
    const base = await findFreeBlock(20);
    g = await startTestGroup(base, 3, { flushDiskType: 'SYNC_FLUSH' });
    const group = g;
    const leader = await waitForReadyLeader(group);
    const dead = group.brokers.find((b) => b !== leader)!;
    await dead.close({ transferLeadership: false });
    const live = (): BrokerController[] => group.brokers.filter((b) => b !== dead);

    const acked: string[] = [];
    let stop = false;
    const producer = (async () => {
      // Bounded: at most 2000 sends, one at a time, to whichever node leads.
      for (let i = 0; i < 2000 && !stop; i++) {
        const to = live().find((b) => b.raft.isLeader()) ?? live()[0]!;
        const r = await request(group, to.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('MemberTopic', 0, props({})), Buffer.from(`m${i}`)).catch(() => undefined);
        if (r?.code === ResponseCode.SUCCESS) acked.push(`m${i}`);
        else await new Promise((res) => setTimeout(res, 20));
      }
    })();
    await until('some messages acknowledged', 10_000, () => acked.length >= 20);

    const peers = `${[0, 1, 2].map((i) => `n${i}-127.0.0.1:${base + 11 + i}`).join(';')};n3-127.0.0.1:${base + 14}`;
    const config = parseBrokerConfig([
      'brokerName=broker-t', `namesrvAddr=127.0.0.1:${base}`, `listenPort=${base + 4}`, `storePathRootDir=${join(group.dir, 'n3')}`,
      `mappedFileSizeCommitLog=${8 * 1024 * 1024}`, `dLegerPeers=${peers}`, 'dLegerSelfId=n3', 'dLegerJoining=true', 'flushDiskType=SYNC_FLUSH',
    ].join('\n')).config;
    const joiner = await startBroker(config);
    group.brokers.push(joiner);
    await change(group, { kind: 'add-learner', nodeId: 'n3', address: `127.0.0.1:${base + 14}` });
    await change(group, { kind: 'promote', nodeId: 'n3' });
    await change(group, { kind: 'remove', nodeId: dead.raft.nodeId });
    const atChange = acked.length;
    await until('sends to continue after the change', 10_000, () => acked.length >= atChange + 20);
    stop = true;
    await producer;

    const voters = [...(joiner.raft.node.membership().voters)].sort();
    expect(voters).toEqual(['n0', 'n1', 'n2', 'n3'].filter((id) => id !== dead.raft.nodeId));
    // Every acknowledged message is in the new node's queue (it may hold more: sends whose answer was lost).
    const bodies = (): Set<string> => {
      const got = joiner.raft.store.getMessage('MemberTopic', 0, 0, 100_000, 64 * 1024 * 1024);
      return new Set(got.messages.map((m) => Buffer.from(decodeMessageRecord(m, 0).body).toString()));
    };
    await until('the new node to hold every acknowledged message', 10_000, () => acked.every((p) => bodies().has(p)));
    expect(acked.filter((p) => !bodies().has(p))).toEqual([]);

    // A live follower removed from the group unregisters from the NameServer.
    const removed = live().find((b) => !b.raft.isLeader() && b !== joiner)!;
    const registered = async (): Promise<boolean> => {
      const r = await request(group, group.namesrvAddr, RequestCode.GET_BROKER_CLUSTER_INFO);
      const table = decodeJsonBody<ClusterInfo>(r.body, 'cluster').brokerAddrTable['broker-t']?.brokerAddrs ?? {};
      return Object.values(table).includes(removed.brokerAddr);
    };
    await until('the follower to be registered', 10_000, registered);
    await change(group, { kind: 'remove', nodeId: removed.raft.nodeId });
    await until('the removed follower to unregister', 10_000, async () => !(await registered()));
  }, 90_000);

  it('registers a joiner told only the leader under its own brokerId, and the NameServer holds the member set', async () => {
    const base = await findFreeBlock(20);
    g = await startTestGroup(base, 3);
    const group = g;
    const leader = await waitForReadyLeader(group);
    const at = Number(leader.raft.nodeId.slice(1));
    // Only the leader and itself: its position in this list (1) is n1's brokerId.
    const peers = `${leader.raft.nodeId}-127.0.0.1:${base + 11 + at};n3-127.0.0.1:${base + 14}`;
    const config = parseBrokerConfig([
      'brokerName=broker-t', `namesrvAddr=127.0.0.1:${base}`, `listenPort=${base + 4}`, `storePathRootDir=${join(group.dir, 'n3')}`,
      `mappedFileSizeCommitLog=${8 * 1024 * 1024}`, `dLegerPeers=${peers}`, 'dLegerSelfId=n3', 'dLegerJoining=true',
    ].join('\n')).config;
    const joiner = await startBroker(config);
    group.brokers.push(joiner);
    await change(group, { kind: 'add-learner', nodeId: 'n3', address: `127.0.0.1:${base + 14}` });
    await change(group, { kind: 'promote', nodeId: 'n3' });
    const info = async (): Promise<ClusterInfo['brokerAddrTable'][string] | undefined> => {
      const r = await request(group, group.namesrvAddr, RequestCode.GET_BROKER_CLUSTER_INFO);
      return decodeJsonBody<ClusterInfo>(r.body, 'cluster').brokerAddrTable['broker-t'];
    };
    const settled = async (): Promise<boolean> => {
      const bd = await info();
      return Object.keys(bd?.brokerAddrs ?? {}).length === 4 && bd?.raftMembers?.voters.length === 4;
    };
    await until('four distinct registrations and the four voters at the NameServer', 20_000, settled).catch(() => undefined);
    const bd = (await info())!;
    expect(bd.brokerAddrs['4']).toBe(joiner.brokerAddr);
    expect(new Set(Object.values(bd.brokerAddrs)).size).toBe(4);
    expect([...bd.raftMembers!.voters].sort()).toEqual(['n0', 'n1', 'n2', 'n3']);
    expect(bd.raftMembers!.nodes[joiner.brokerAddr]).toBe('n3');
  }, 90_000);
});
