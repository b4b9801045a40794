// Orderly consumption locks on a real 3-node group (processes from dist/): two orderly consumers
// of one group rebalance under a steady stream (the second joins, the leader is SIGKILLed, the
// first leaves) and never process one queue at the same time; per queue, every message is first
// processed only after every earlier one (redeliveries after a failover are allowed, gaps are not),
// and every acknowledged message is processed. Brokers run with rebalanceLockMaxLiveTime=4000 so a
// new leader's grant pause (one expiry period) is short; clients trust a lock for 2 s.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { Admin, ConsumeFromWhere, Producer, PushConsumer, type MessageExt } from '../src/client/index.js';
import { encodeJsonBody, makeRequest, RemotingClient, RequestCode, ResponseCode } from '../src/protocol/index.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

const TOPIC = 'OrderlyLockT';
const GROUP = 'orderly-lock-g';
const QUEUES = 4;
let dir: string;
let cluster: LocalCluster;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmq-orderly-locks-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), logLevel: 'warn', extraConf: { rebalanceLockMaxLiveTime: '4000' } });
  await cluster.waitForLeader(30_000);
}, 60_000);

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('orderly consumption locks on a real 3-node group', () => {
  it('grants a queue to one client at a time, renews it for its holder, and lets another take it once released', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const client = new RemotingClient();
    closers.push(() => client.close());
    const mq = { topic: 'LockUnitT', brokerName: 'broker-a', queueId: 0 };
    const lock = async (clientId: string, code: number = RequestCode.LOCK_BATCH_MQ): Promise<unknown[]> => {
      const resp = await client.invoke(leader.brokerAddr, makeRequest(code, {}, { body: encodeJsonBody({ consumerGroup: 'unit-g', clientId, mqSet: [mq] }) }), 5000);
      expect(resp.code).toBe(ResponseCode.SUCCESS);
      return code === RequestCode.LOCK_BATCH_MQ ? (JSON.parse(resp.body!.toString()) as { lockOKMQSet: unknown[] }).lockOKMQSet : [];
    };
    // A leader grants nothing during its first expiry period (it cannot know the holders).
    await expect.poll(() => lock('c1'), { timeout: 15_000, interval: 200 }).toEqual([mq]);
    expect(await lock('c2')).toEqual([]);
    expect(await lock('c1')).toEqual([mq]);
    await lock('c1', RequestCode.UNLOCK_BATCH_MQ);
    expect(await lock('c2')).toEqual([mq]);
    await lock('c2', RequestCode.UNLOCK_BATCH_MQ);
  }, 30_000);

  it('never lets two orderly consumers process one queue at once, and keeps per-queue order through a leader SIGKILL', async () => {
    const admin = new Admin({ namesrvAddr: cluster.namesrvAddr });
    await admin.start();
    closers.push(() => admin.shutdown());
    await admin.createTopic(TOPIC, { writeQueueNums: QUEUES });
    await expect.poll(async () => (await admin.topicRoute(TOPIC)).queueDatas.map((q) => q.writeQueueNums), { timeout: 10_000 }).toEqual([QUEUES]);
    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, sendMsgTimeoutMs: 10_000, retryTimesWhenSendFailed: 6, retryBackoffMs: 200 });
    await producer.start();
    closers.push(() => producer.shutdown());
    const queues = await producer.fetchPublishQueues(TOPIC);

    const active = new Map<number, string>();
    const overlaps: string[] = [];
    const gaps: string[] = [];
    const nextExpected = new Array<number>(QUEUES).fill(0);
    const seen = Array.from({ length: QUEUES }, () => new Set<number>());
    const processedBy = new Map<string, number>();
    const consumer = (name: string): PushConsumer => {
      const c = new PushConsumer({
        namesrvAddr: cluster.namesrvAddr,
        consumerGroup: GROUP,
        orderly: true,
        consumeFromWhere: ConsumeFromWhere.FIRST_OFFSET,
        lockRenewIntervalMs: 500,
        lockMaxLiveTimeMs: 2000,
        consumerListPollIntervalMs: 300,
        persistOffsetIntervalMs: 500,
        handler: async (m: MessageExt) => {
          const q = m.queueId;
          const other = active.get(q);
          if (other !== undefined) overlaps.push(`queue ${q}: ${name} started offset ${m.queueOffset} while ${other} was processing`);
          active.set(q, name);
          if (!seen[q]!.has(m.queueOffset)) {
            if (m.queueOffset !== nextExpected[q]) gaps.push(`queue ${q}: ${name} processed offset ${m.queueOffset} before ${nextExpected[q]}`);
            seen[q]!.add(m.queueOffset);
            while (seen[q]!.has(nextExpected[q]!)) nextExpected[q]!++;
          }
          processedBy.set(name, (processedBy.get(name) ?? 0) + 1);
          await pause(100); // the work: long enough for a second consumer to collide if it could
          active.delete(q);
        },
      });
      c.subscribe(TOPIC);
      closers.push(() => c.shutdown());
      return c;
    };

    const acked: { q: number; offset: number }[] = [];
    let stop = false;
    const stream = (async () => {
      // Bounded: at most 3000 sends, one every few ms, until the test stops it.
      for (let i = 0; i < 3000 && !stop; i++) {
        const mq = queues[i % QUEUES]!;
        try {
          const r = await producer.send({ topic: TOPIC, body: `m${i}` }, { queue: mq });
          acked.push({ q: r.queueId, offset: r.queueOffset });
        } catch {
          // An outcome-unknown send may be stored or not; the order check does not depend on it.
        }
        await pause(40);
      }
    })();

    const a = consumer('A');
    await a.start();
    await expect.poll(() => processedBy.get('A') ?? 0, { timeout: 20_000 }).toBeGreaterThan(50);
    const b = consumer('B');
    await b.start();
    await expect.poll(() => processedBy.get('B') ?? 0, { timeout: 20_000 }).toBeGreaterThan(20);
    const leader = await cluster.waitForLeader(10_000);
    await cluster.killNode(leader.id, 'SIGKILL');
    await cluster.waitForLeader(30_000);
    const beforeLeave = processedBy.get('B') ?? 0;
    await expect.poll(() => processedBy.get('B') ?? 0, { timeout: 30_000 }).toBeGreaterThan(beforeLeave + 20);
    await a.shutdown();
    const afterLeave = processedBy.get('B') ?? 0;
    await expect.poll(() => b.assignedQueues().filter((q) => q.topic === TOPIC).length, { timeout: 20_000 }).toBe(QUEUES);
    await expect.poll(() => processedBy.get('B') ?? 0, { timeout: 20_000 }).toBeGreaterThan(afterLeave + 20);
    stop = true;
    await stream;
    await expect.poll(() => acked.filter((x) => !seen[x.q]!.has(x.offset)).length, { timeout: 60_000, interval: 500 }).toBe(0);
    await b.shutdown();
    await cluster.restartNode(leader.id);
    expect(overlaps).toEqual([]);
    expect(gaps).toEqual([]);
  }, 240_000);
});
