// Our own client SDK (binary remoting headers) against a 3-node broker group in one process:
// single and batch sends, a push consumer receiving everything, and the Raft admin calls the
// SDK makes (status, leadership transfer) answered in the shapes docs/client.md promises.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer, type MessageExt } from '../src/client/index.js';
import { silent, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 3);
  const leader = await waitForReadyLeader(g);
  const admin = new Admin({ namesrvAddr: g.namesrvAddr, logger: silent });
  await admin.start();
  try {
    // Clients route by the NameServer: wait until it names the leader as brokerId 0.
    await until('the leader to be registered as master', 5000, async () => (await admin.clusterInfo()).brokerAddrTable['broker-t']?.brokerAddrs['0'] === leader.brokerAddr);
  } finally {
    await admin.shutdown();
  }
});

afterAll(async () => {
  await g?.close();
});

describe('the client SDK against a 3-node group', () => {
  it('sends single messages and batches with binary headers and consumes every one of them', async () => {
    const producer = new Producer({ namesrvAddr: g.namesrvAddr, producerGroup: 'SDK_PG', binaryHeaders: true, logger: silent });
    const received = new Map<string, MessageExt>();
    const consumer = new PushConsumer({
      namesrvAddr: g.namesrvAddr, consumerGroup: 'SDK_CG', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', binaryHeaders: true, logger: silent,
      handler: (msg) => { received.set(msg.keys[0]!, msg); },
    });
    consumer.subscribe('SdkTopic', '*');
    try {
      await producer.start();
      for (let i = 0; i < 100; i++) {
        const r = await producer.send({ topic: 'SdkTopic', body: `single-${i}`, tags: 'S', keys: `s-${i}` });
        expect(r.status).toBe('SEND_OK');
      }
      for (let b = 0; b < 5; b++) {
        const r = await producer.sendBatch(Array.from({ length: 20 }, (_, j) => ({ topic: 'SdkTopic', body: `batch-${b}-${j}`, tags: 'B', keys: `b-${b}-${j}` })));
        expect(r.status).toBe('SEND_OK');
      }
      await consumer.start();
      await until('all 200 messages consumed', 30_000, () => received.size === 200);
      expect(received.get('s-42')!.body.toString()).toBe('single-42');
      expect(received.get('b-3-7')!.body.toString()).toBe('batch-3-7');
      expect(received.get('b-3-7')!.tags).toBe('B');
    } finally {
      await consumer.shutdown().catch(() => undefined);
      await producer.shutdown().catch(() => undefined);
    }
  });

  it('answers the SDK admin calls for the Raft status and a leadership transfer', async () => {
    const admin = new Admin({ namesrvAddr: g.namesrvAddr, logger: silent });
    await admin.start();
    try {
      const leader = await waitForReadyLeader(g);
      const status = await admin.raftStatus(leader.brokerAddr);
      expect(status.role).toBe('LEADER');
      expect(status.leader).toBe(leader.raft.nodeId);
      expect(status.peers.map((p) => p.nodeId).sort()).toEqual(['n0', 'n1', 'n2'].filter((id) => id !== leader.raft.nodeId));
      const target = g.brokers.find((b) => b !== leader)!.raft.nodeId;
      const result = await admin.transferLeader('broker-t', target);
      expect(result).toMatchObject({ previousLeader: leader.raft.nodeId, newLeader: target });
      await until('the target to lead', 5000, () => g.brokers.some((b) => b.raft.nodeId === target && b.raft.isLeader()));
    } finally {
      await admin.shutdown();
    }
  });
});
