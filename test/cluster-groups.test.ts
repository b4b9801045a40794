// Several groups with real processes (`rmq cluster up --groups 3`): a topic's queues spread over
// the groups, a consumer group balances across them, and an unmodified ali-ons producer with
// default settings keeps sending through the other groups while one group has no quorum.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterFile } from '../src/devkit/cluster-file.js';
import { restartNode } from '../src/devkit/cluster-launcher.js';
import { Admin, PushConsumer } from '../src/client/index.js';
import { silent } from './broker-helpers.js';
import { ensureBuilt, killLiveRuns, rmqMain, run } from './cli-helpers.js';
import { until } from './helpers/poll.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Producer: any; Message: any };
const TOPIC = 'MultiTopic';
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let file: ClusterFile;
const consumers: PushConsumer[] = [];
const consumed = new Set<string>();


beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'groups-'));
  const up = await run(rmqMain, ['cluster', 'up', '--dir', dir, '--groups', '3', '--json', '--timeout', '120'], 180_000);
  expect(up.status, up.stderr).toBe(0);
  file = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterFile;
  const topic = await run(rmqMain, ['admin', 'updateTopic', '-n', file.namesrv.addr, '-t', TOPIC, '-w', '8'], 30_000);
  expect(topic.status, topic.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  for (const c of consumers) await c.shutdown().catch(() => undefined);
  await ons.Producer.defaultProducer?.close().catch(() => undefined);
  if (dir) {
    await run(rmqMain, ['cluster', 'down', '--dir', dir], 90_000);
    rmSync(dir, { recursive: true, force: true });
  }
  killLiveRuns();
});

describe('three broker groups as processes', () => {
  it("spread a topic's queues over the groups, and a consumer group balances across them", async () => {
    const admin = new Admin({ namesrvAddr: file.namesrv.addr, logger: silent });
    await admin.start();
    try {
      const route = await admin.topicRoute(TOPIC);
      expect(Object.fromEntries(route.queueDatas.map((q) => [q.brokerName, q.writeQueueNums]))).toEqual({ 'broker-a': 8, 'broker-b': 8, 'broker-c': 8 });
    } finally {
      await admin.shutdown();
    }
    for (let i = 0; i < 2; i++) {
      const c = new PushConsumer({
        namesrvAddr: file.namesrv.addr, consumerGroup: 'MULTI_CG', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silent,
        handler: (msg) => { consumed.add(msg.keys[0]!); },
      });
      c.subscribe(TOPIC, '*');
      await c.start();
      consumers.push(c);
    }
    await until('both consumers own half of the 24 queues', 30_000, () => consumers.every((c) => c.assignedQueues().filter((q) => q.topic === TOPIC).length === 12));
    const owned = consumers.flatMap((c) => c.assignedQueues().filter((q) => q.topic === TOPIC).map((q) => `${q.brokerName}@${q.queueId}`));
    expect(new Set(owned).size).toBe(24);
  }, 60_000);

  it('keep taking sends from an ali-ons producer with default settings on the other groups while one group has no quorum, and lose nothing', async () => {
    const producer = new ons.Producer({ httpclient: {}, logger: quiet, nameSrv: [file.namesrv.addr], producerGroup: 'MULTI_PG' });
    producer.on('error', () => undefined);
    await producer.ready();
    const acked: string[] = [];
    const byGroupAfter = new Map<string, number>();
    let failed = 0;
    let killedAt = 0;
    let slowestMs = 0;
    let stop = false;
    const sender = (async () => {
      for (let i = 0; !stop && i < 20_000; i++) {
        const msg = new ons.Message(TOPIC, 'T', `m-${i}`);
        msg.keys = [`m-${i}`];
        const sentAt = Date.now();
        try {
          const r = await producer.send(msg);
          if (killedAt > 0) slowestMs = Math.max(slowestMs, Date.now() - sentAt);
          if (r.sendStatus !== 'SEND_OK') {
            failed++;
            continue;
          }
          acked.push(`m-${i}`);
          if (killedAt > 0) byGroupAfter.set(r.messageQueue.brokerName, (byGroupAfter.get(r.messageQueue.brokerName) ?? 0) + 1);
        } catch {
          failed++;
        }
        await sleep(20);
      }
    })();
    const b = file.groups.find((g) => g.brokerName === 'broker-b')!;
    try {
      await until('steady sends', 30_000, () => acked.length >= 60);
      killedAt = Date.now();
      for (const n of b.nodes.slice(0, 2)) process.kill(n.pid, 'SIGKILL');
      // A send that picks broker-b first waits there (up to the broker's 2 s leader wait, or the
      // client's 3 s timeout) before ali-ons retries it on another group, so this takes a while.
      await until('sends on both other groups', 90_000, () => (byGroupAfter.get('broker-a') ?? 0) >= 10 && (byGroupAfter.get('broker-c') ?? 0) >= 10);
      const elapsedMs = Date.now() - killedAt;
      stop = true;
      await sender;
      const after = Object.fromEntries(byGroupAfter);
      const n = (after['broker-a'] ?? 0) + (after['broker-c'] ?? 0);
      console.log(`broker-b without quorum: ${n} sends in ${elapsedMs} ms after the kill (${JSON.stringify(after)}), slowest send ${slowestMs} ms, failed sends ${failed}, acknowledged ${acked.length}`);
      expect(after['broker-b']).toBeUndefined();
      expect(failed).toBe(0);
      // broker-b comes back; what it acknowledged before the kill is consumed then.
      for (const n of b.nodes.slice(0, 2)) restartNode(file, 'broker-b', n.id, 'warn');
      await until('every acknowledged message consumed', 120_000, () => acked.every((k) => consumed.has(k)));
    } finally {
      stop = true;
      await sender;
      await producer.close().catch(() => undefined);
    }
  }, 240_000);
});
