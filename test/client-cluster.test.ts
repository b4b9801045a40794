// The client against a real local cluster (a NameServer and a 3-node Raft broker group as OS
// processes, from dist/; `npm test` builds first): a producer keeps sending through a SIGKILL of
// the leader and every acknowledged message is consumed; the group's committed offsets never move
// backwards across the failover.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../src/broker/local-cluster.js';
import { Admin, ConsumeFromWhere, Producer, PushConsumer, type QueueProgress } from '../src/client/index.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

let dir: string;
let cluster: LocalCluster | undefined;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmq-client-cluster-'));
  cluster = await startLocalCluster({ dir, basePort: 23900, logLevel: 'warn' });
});

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function committed(rows: QueueProgress[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.brokerName}:${r.queueId}`, r.consumerOffset]));
}

describe('client against a local 3-node group', () => {
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
        await new Promise((r) => setTimeout(r, 800));
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
    await new Promise((r) => setTimeout(r, 800));
    const after = committed(await admin.consumerProgress('cluster-group', 'ClusterTopic'));
    for (const [queue, offset] of before!) expect(after.get(queue), queue).toBeGreaterThanOrEqual(offset);
  }, 120_000);
});
