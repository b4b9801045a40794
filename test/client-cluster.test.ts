// The client against a real local cluster (a NameServer and a 3-node Raft broker group as OS
// processes, from dist/; `npm test` builds first): consumers rebalance within seconds of a join or
// leave on the brokers' NOTIFY_CONSUMER_IDS_CHANGED alone; a producer keeps sending through a
// SIGKILL of the leader and every acknowledged message is consumed; the group's committed offsets
// never move backwards across the failover.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { Admin, ConsumeFromWhere, Producer, PushConsumer, type QueueProgress } from '../src/client/index.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

let dir: string;
let cluster: LocalCluster | undefined;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmq-client-cluster-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(20), logLevel: 'warn' });
});

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function committed(rows: QueueProgress[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.brokerName}:${r.queueId}`, r.consumerOffset]));
}

function ownedOf(consumer: PushConsumer, topic: string): number[] {
  return consumer.assignedQueues().filter((q) => q.topic === topic).map((q) => q.queueId).sort();
}

describe('client against a local 3-node group', () => {
  it('splits the queues within seconds when a second consumer joins and takes them back when it leaves, on the brokers\' notice alone', async () => {
    const c = cluster!;
    await c.waitForLeader(30_000);
    const admin = new Admin({ namesrvAddr: c.namesrvAddr });
    await admin.start();
    closers.push(() => admin.shutdown());
    await admin.createTopic('NotifyTopic', { writeQueueNums: 4 });
    // The leader re-registers its topics a moment later; until then the NameServer offers the
    // 8-queue auto-create route for an unknown topic.
    await expect.poll(async () => (await admin.topicRoute('NotifyTopic')).queueDatas.map((q) => q.readQueueNums), { timeout: 10_000 }).toEqual([4]);
    // Periodic rebalance and consumer-list polling are ten minutes away: only the brokers'
    // NOTIFY_CONSUMER_IDS_CHANGED can move queues within the seconds allowed below.
    const member = (): PushConsumer => {
      const consumer = new PushConsumer({
        namesrvAddr: c.namesrvAddr,
        consumerGroup: 'notify-group',
        rebalanceIntervalMs: 600_000,
        consumerListPollIntervalMs: 600_000,
        handler: () => undefined,
      });
      consumer.subscribe('NotifyTopic');
      closers.push(() => consumer.shutdown());
      return consumer;
    };
    const a = member();
    await a.start();
    expect(ownedOf(a, 'NotifyTopic')).toEqual([0, 1, 2, 3]);
    const b = member();
    const joinedAt = Date.now();
    await b.start();
    await expect.poll(() => ownedOf(a, 'NotifyTopic').length, { timeout: 3000, interval: 50 }).toBe(2);
    await expect.poll(() => ownedOf(b, 'NotifyTopic').length, { timeout: 3000, interval: 50 }).toBe(2);
    expect([...ownedOf(a, 'NotifyTopic'), ...ownedOf(b, 'NotifyTopic')].sort()).toEqual([0, 1, 2, 3]);
    console.log(`queues split ${Date.now() - joinedAt} ms after the second consumer was started`);
    await b.shutdown();
    await expect.poll(() => ownedOf(a, 'NotifyTopic'), { timeout: 3000, interval: 50 }).toEqual([0, 1, 2, 3]);
  }, 60_000);

  it('loses no acknowledged send through a leader SIGKILL and never rewinds a committed offset', async () => {
    const c = cluster!;
    const leader = await c.waitForLeader(30_000);
    const admin = new Admin({ namesrvAddr: c.namesrvAddr });
    await admin.start();
    closers.push(() => admin.shutdown());
    await admin.createTopic('ClusterTopic', { writeQueueNums: 4 });
    const producer = new Producer({ namesrvAddr: c.namesrvAddr, sendMsgTimeoutMs: 15_000, retryTimesWhenSendFailed: 6, retryBackoffMs: 200 });
    await producer.start();
    closers.push(() => producer.shutdown());
    const seen = new Set<string>();
    const consumer = new PushConsumer({
      namesrvAddr: c.namesrvAddr,
      consumerGroup: 'cluster-group',
      consumeFromWhere: ConsumeFromWhere.FIRST_OFFSET,
      persistOffsetIntervalMs: 300,
      handler: (m) => void seen.add(m.body.toString()),
    });
    consumer.subscribe('ClusterTopic');
    await consumer.start();
    closers.push(() => consumer.shutdown());

    const acked: string[] = [];
    const unknown: string[] = [];
    let before: Map<string, number> | undefined;
    for (let i = 0; i < 300; i++) {
      if (i === 150) {
        await expect.poll(() => acked.every((v) => seen.has(v)), { timeout: 10_000 }).toBe(true);
        // Wait for the consumer to commit what it consumed (every queue's offset at its end).
        await expect.poll(async () => (await admin.consumerProgress('cluster-group', 'ClusterTopic')).every((r) => r.consumerOffset === r.brokerOffset), { timeout: 10_000, interval: 100 }).toBe(true);
        before = committed(await admin.consumerProgress('cluster-group', 'ClusterTopic'));
        await c.killNode(leader.id, 'SIGKILL');
      }
      try {
        await producer.send({ topic: 'ClusterTopic', body: `v${i}` });
        acked.push(`v${i}`);
      } catch (err) {
        // A send whose outcome is unknown may or may not be stored; one that failed cleanly was not.
        if ((err as { outcomeUnknown?: boolean }).outcomeUnknown === true) unknown.push(`v${i}`);
        else throw err;
      }
    }
    expect(acked.length + unknown.length).toBe(300);
    await expect.poll(() => acked.filter((v) => !seen.has(v)), { timeout: 30_000, interval: 500 }).toEqual([]);
    const next = await c.waitForLeader(30_000);
    expect(next.id).not.toBe(leader.id);
    // The new leader serves the offsets committed before the failover (and later ones): none went back.
    const wentBack = async (): Promise<string[]> => {
      const after = committed(await admin.consumerProgress('cluster-group', 'ClusterTopic'));
      return [...before!].filter(([queue, offset]) => (after.get(queue) ?? -1) < offset).map(([queue]) => queue);
    };
    await expect.poll(wentBack, { timeout: 10_000, interval: 100 }).toEqual([]);
  }, 120_000);
});
