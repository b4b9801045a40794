// A 3-node SYNC_FLUSH broker group in one process (fast Raft ticks): followers forward sends and offset
// updates to the leader and serve pulls of committed data; the NameServer routes brokerId 0 to
// the ready leader; a leadership transfer moves brokerId 0 at once; metadata (topics, offsets)
// is the same on every replica and survives a node restart; ConsumeQueues agree byte for byte.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { RaftAdminCode } from '../src/broker/processors/raft-admin.js';
import { decodeJsonBody, RequestCode, ResponseCode, type ClusterInfo } from '../src/protocol/index.js';
import { decodeMessageRecord } from '../src/store/index.js';
import { props, request, sendV2, startBroker, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 3, { flushDiskType: 'SYNC_FLUSH' });
  await waitForReadyLeader(g);
});

afterAll(async () => {
  await g?.close();
});

async function masterAddr(): Promise<string | undefined> {
  const r = await request(g, g.namesrvAddr, RequestCode.GET_BROKER_CLUSTER_INFO);
  return decodeJsonBody<ClusterInfo>(r.body, 'cluster').brokerAddrTable['broker-t']?.brokerAddrs['0'];
}

function followers(): BrokerController[] {
  return g.brokers.filter((b) => b.raft.role().role !== 'leader');
}

describe('a 3-node broker group', () => {
  it('registers the ready leader as brokerId 0 and the followers as their peer position + 1', async () => {
    const leader = await waitForReadyLeader(g);
    await until('the NameServer to route id 0 to the leader', 5000, async () => (await masterAddr()) === leader.brokerAddr);
    const r = await request(g, g.namesrvAddr, RequestCode.GET_BROKER_CLUSTER_INFO);
    const addrs = decodeJsonBody<ClusterInfo>(r.body, 'cluster').brokerAddrTable['broker-t']!.brokerAddrs;
    for (const f of followers()) {
      const pos = f.raft.peerIds.indexOf(f.raft.nodeId);
      expect(addrs[String(pos + 1)]).toBe(f.brokerAddr);
    }
  });

  it('forwards a send from a follower to the leader and answers SEND_OK', async () => {
    const follower = followers()[0]!;
    const r = await request(g, follower.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('GroupTopic', 0, props({ TAGS: 'A' })), Buffer.from('via follower'));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(r.extFields['queueOffset']).toBe('0');
  });

  it('serves pulls of committed data on every node', async () => {
    for (const b of g.brokers) {
      await until(`node ${b.raft.nodeId} to dispatch the message`, 3000, () => b.raft.store.getMaxOffsetInQueue('GroupTopic', 0) === 1);
      const r = await request(g, b.brokerAddr, RequestCode.PULL_MESSAGE, { consumerGroup: 'G', topic: 'GroupTopic', queueId: 0, queueOffset: 0, maxMsgNums: 32, sysFlag: 4, commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 1 });
      expect(r.code).toBe(ResponseCode.SUCCESS);
      expect(Buffer.from(decodeMessageRecord(r.body!, 0).body).toString()).toBe('via follower');
    }
  });

  it('holds a pull on a follower past its end instead of moving the consumer back', async () => {
    const follower = followers()[0]!;
    const r = await request(g, follower.brokerAddr, RequestCode.PULL_MESSAGE, { consumerGroup: 'G', topic: 'GroupTopic', queueId: 0, queueOffset: 5, maxMsgNums: 32, sysFlag: 4, commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 1 });
    expect(r.code).toBe(ResponseCode.PULL_NOT_FOUND);
    expect(r.extFields['nextBeginOffset']).toBe('5');
  });

  it('forwards offset updates from a follower and replicates them to every node', async () => {
    const follower = followers()[1]!;
    await request(g, follower.brokerAddr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'GroupTopic', queueId: 0, commitOffset: 1 });
    await until('every node to know the offset', 5000, () => g.brokers.every((b) => b.raft.metadata.consumerOffset('G', 'GroupTopic', 0) === 1));
    const q = await request(g, follower.brokerAddr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'GroupTopic', queueId: 0 });
    expect(q.extFields['offset']).toBe('1');
  });

  it('moves brokerId 0 to the new leader at once after a leadership transfer', async () => {
    const leader = await waitForReadyLeader(g);
    const target = followers()[0]!;
    const r = await request(g, followers()[1]!.brokerAddr, RaftAdminCode.RAFT_TRANSFER_LEADER, { targetNodeId: target.raft.nodeId }, undefined, 10_000);
    expect(r.code).toBe(ResponseCode.SUCCESS);
    expect(decodeJsonBody(r.body, 'transfer')).toMatchObject({ previousLeader: leader.raft.nodeId, newLeader: target.raft.nodeId });
    await until('the target to be a ready leader', 5000, () => target.raft.isLeader());
    await until('the NameServer to route id 0 to the new leader', 5000, async () => (await masterAddr()) === target.brokerAddr);
    expect(leader.raft.isLeader()).toBe(false);
    const oldPos = leader.raft.peerIds.indexOf(leader.raft.nodeId);
    await until('the deposed leader to re-register as a follower', 5000, async () => {
      const info = await request(g, g.namesrvAddr, RequestCode.GET_BROKER_CLUSTER_INFO);
      return decodeJsonBody<ClusterInfo>(info.body, 'cluster').brokerAddrTable['broker-t']?.brokerAddrs[String(oldPos + 1)] === leader.brokerAddr;
    });
    const send = await request(g, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('GroupTopic', 0, ''), Buffer.from('after transfer'));
    expect(send.code).toBe(ResponseCode.SUCCESS);
    expect(send.extFields['queueOffset']).toBe('1');
  });

  it('lets a send to a follower ride out an election instead of failing', async () => {
    const leader = await waitForReadyLeader(g);
    const i = g.brokers.indexOf(leader);
    const follower = followers()[0]!;
    await leader.close({ transferLeadership: false });
    // The follower still names the stopped node as leader: the relay fails unsent, the request
    // waits for the election and goes to the new leader.
    const r = await request(g, follower.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('ElectionTopic', 0, ''), Buffer.from('during election'));
    expect(r.code).toBe(ResponseCode.SUCCESS);
    g.brokers[i] = await startBroker(leader.config);
    await waitForReadyLeader(g);
  });

  it('hands leadership to a follower when the leader stops', async () => {
    const leader = await waitForReadyLeader(g);
    const i = g.brokers.indexOf(leader);
    await leader.close();
    const next = g.brokers.find((b) => b !== leader && b.raft.role().role === 'leader');
    expect(next).toBeDefined();
    g.brokers[i] = await startBroker(leader.config);
    await waitForReadyLeader(g);
  });

  it('keeps topics and consumer offsets across a restart of a node (rebuilt from the log without its metadata snapshot) and agrees byte for byte with the others', async () => {
    const victim = followers()[0]!;
    const i = g.brokers.indexOf(victim);
    await victim.close({ transferLeadership: false });
    // Without the snapshot the node must find every control entry again in its log.
    rmSync(join(victim.config.storePathRootDir, 'store', 'metadata.json'));
    const leader = await waitForReadyLeader(g);
    await request(g, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('GroupTopic', 1, ''), Buffer.from('while down'));
    await request(g, leader.brokerAddr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'GroupTopic', queueId: 1, commitOffset: 1 });
    const restarted = await startBroker(victim.config);
    g.brokers[i] = restarted;
    expect(restarted.raft.metadata.topic('GroupTopic')?.writeQueueNums).toBe(8);
    expect(restarted.raft.metadata.consumerOffset('G', 'GroupTopic', 0)).toBe(1);
    await until('the restarted node to catch up', 5000, () => restarted.raft.metadata.consumerOffset('G', 'GroupTopic', 1) === 1 && restarted.raft.store.dispatchedIndex === leader.raft.store.dispatchedIndex);
    const digests = await Promise.all(g.brokers.map(async (b) => {
      const r = await request(g, b.brokerAddr, RaftAdminCode.RAFT_REPLICA_DIGEST, { index: leader.raft.store.dispatchedIndex });
      return decodeJsonBody<{ logSha256: string; consumeQueuesSha256: string }>(r.body, 'digest');
    }));
    expect(new Set(digests.map((d) => d.logSha256)).size).toBe(1);
    expect(new Set(digests.map((d) => d.consumeQueuesSha256)).size).toBe(1);
  });
});
