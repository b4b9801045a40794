// The goal of front doors (docs/operations.md, "Front doors"): an unmodified ali-ons producer and
// consumer with their DEFAULT settings (30 s NameServer poll) go through a SIGKILL of the Raft
// leader of a 3-node group started by `rmq cluster up --front-doors` with at most 2 s without a
// successful send, no send failed and nothing acknowledged lost (the test prints the figures);
// the dead node's door is taken over by the new leader, and given back when the node returns.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer, selectByHash, type MessageExt } from '../src/client/index.js';
import type { ClusterFile } from '../src/devkit/cluster-file.js';
import { restartNode } from '../src/devkit/cluster-launcher.js';
import { silent } from './broker-helpers.js';
import { ensureBuilt, killLiveRuns, rmqMain, run } from './cli-helpers.js';
import { until } from './helpers/poll.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Producer: any; Consumer: any; Message: any };

const TOPIC = 'DOOR_TOPIC';
const SDK_TOPIC = 'DOOR_SDK_TOPIC';
const GROUP = 'DOOR_GROUP';
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
// Nothing but a logger: every timing (route poll 30 s, heartbeat 30 s, rebalance 10 s) is ali-ons' default.
const clientOptions = { httpclient: {}, logger: quiet };
const SEND_INTERVAL_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


let dir: string;
let file: ClusterFile;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'front-doors-'));
  const up = await run(rmqMain, ['cluster', 'up', '--dir', dir, '--front-doors', '--json', '--timeout', '60'], 90_000);
  expect(up.status, up.stderr).toBe(0);
  file = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterFile;
  const topic = await run(rmqMain, ['admin', 'updateTopic', '-n', file.namesrv.addr, '-t', TOPIC, '-w', '8'], 30_000);
  expect(topic.status, topic.stderr).toBe(0);
  const sdkTopic = await run(rmqMain, ['admin', 'updateTopic', '-n', file.namesrv.addr, '-t', SDK_TOPIC, '-w', '8'], 30_000);
  expect(sdkTopic.status, sdkTopic.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await ons.Producer.defaultProducer?.close().catch(() => undefined);
  if (dir) {
    await run(rmqMain, ['cluster', 'down', '--dir', dir], 60_000);
    rmSync(dir, { recursive: true, force: true });
  }
  killLiveRuns();
});

describe('front doors', () => {
  it('list every node of the group as a broker name with a disjoint share of the queues', async () => {
    const admin = new Admin({ namesrvAddr: file.namesrv.addr });
    await admin.start();
    try {
      const info = await admin.clusterInfo();
      expect(Object.keys(info.brokerAddrTable).sort()).toEqual(['broker-a-n0', 'broker-a-n1', 'broker-a-n2']);
      const route = await admin.topicRoute(TOPIC);
      const shares = Object.fromEntries(route.queueDatas.map((q) => [q.brokerName, q.writeQueueNums]));
      expect(shares).toEqual({ 'broker-a-n0': 3, 'broker-a-n1': 3, 'broker-a-n2': 2 });
    } finally {
      await admin.shutdown();
    }
  });

  it('serve the SDK: sends (binary headers, a batch, an ordered key) and a push consumer that reads them all, the ordered key in order', async () => {
    const producer = new Producer({ namesrvAddr: file.namesrv.addr, producerGroup: 'DOOR_SDK_PG', binaryHeaders: true, logger: silent });
    const received: MessageExt[] = [];
    const consumer = new PushConsumer({
      namesrvAddr: file.namesrv.addr, consumerGroup: 'DOOR_SDK_CG', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', binaryHeaders: true, logger: silent,
      handler: (msg) => { received.push(msg); },
    });
    consumer.subscribe(SDK_TOPIC, '*');
    try {
      await producer.start();
      const doorsUsed = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const r = await producer.send({ topic: SDK_TOPIC, body: `s-${i}`, keys: `s-${i}` });
        expect(r.status).toBe('SEND_OK');
        doorsUsed.add(r.brokerName);
        // The answer names a queue of the door the producer chose, in the door's own numbering.
        expect(r.queueId).toBeLessThan(3);
      }
      expect([...doorsUsed].sort()).toEqual(['broker-a-n0', 'broker-a-n1', 'broker-a-n2']);
      const batch = await producer.sendBatch(Array.from({ length: 10 }, (_, j) => ({ topic: SDK_TOPIC, body: `b-${j}`, keys: `b-${j}` })));
      expect(batch.status).toBe('SEND_OK');
      const ordered = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await producer.send({ topic: SDK_TOPIC, body: `o-${i}`, keys: `o-${i}` }, { selector: selectByHash, arg: 'order-key' });
        ordered.add(`${r.brokerName}@${r.queueId}`);
      }
      expect(ordered.size).toBe(1);
      await consumer.start();
      await until('all 60 messages consumed', 30_000, () => new Set(received.map((m) => m.keys[0])).size === 60);
      const order = received.filter((m) => m.keys[0]!.startsWith('o-')).map((m) => Number(m.keys[0]!.slice(2)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    } finally {
      await consumer.shutdown().catch(() => undefined);
      await producer.shutdown().catch(() => undefined);
    }
  });

  it('carry an ali-ons producer and consumer with default settings through a SIGKILL of the leader: at most 2 s without a successful send, no failed send, nothing lost', async () => {
    const producer = new ons.Producer({ ...clientOptions, nameSrv: [file.namesrv.addr], producerGroup: 'DOOR_PRODUCER' });
    producer.on('error', () => undefined);
    await producer.ready();
    const consumed = new Map<string, number>();
    const consumer = new ons.Consumer({ ...clientOptions, nameSrv: [file.namesrv.addr], consumerGroup: GROUP, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    consumer.on('error', () => undefined);
    consumer.subscribe(TOPIC, '*', async (msg: any) => {
      consumed.set(String(msg.keys), (consumed.get(String(msg.keys)) ?? 0) + 1);
    });
    await consumer.ready();

    const acked: string[] = [];
    const okTimes: number[] = [];
    let failed = 0;
    let stop = false;
    const sender = (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        const msg = new ons.Message(TOPIC, 'T', `door-${i}`);
        msg.keys = [`k-${i}`];
        try {
          const r = await producer.send(msg);
          if (r.sendStatus === 'SEND_OK') {
            acked.push(`k-${i}`);
            okTimes.push(Date.now());
          } else failed++;
        } catch {
          failed++;
        }
        await sleep(SEND_INTERVAL_MS);
      }
    })();
    try {
      await until('steady sends and consumption', 30_000, () => acked.length >= 100 && consumed.size >= 50);
      const admin = new Admin({ namesrvAddr: file.namesrv.addr, requestTimeoutMs: 1500 });
      await admin.start();
      const nodes = file.groups[0]!.nodes;
      let leaderId = '';
      try {
        await until('a leader', 10_000, async () => {
          for (const n of nodes) {
            const s = await admin.raftStatus(n.brokerAddr).catch(() => undefined);
            if (s?.role === 'LEADER') leaderId = n.id;
          }
          return leaderId !== '';
        });
      } finally {
        await admin.shutdown();
      }
      const killedAt = Date.now();
      process.kill(nodes.find((n) => n.id === leaderId)!.pid, 'SIGKILL');
      const deadDoor = `broker-a-${leaderId}`;
      const deadAddr = file.groups[0]!.nodes.find((n) => n.id === leaderId)!.brokerAddr;
      const watcher = new Admin({ namesrvAddr: file.namesrv.addr, requestTimeoutMs: 1500 });
      await watcher.start();
      let takenOverBy: string | undefined;
      let ownDoorAddr = '';
      try {
        const before = (await watcher.clusterInfo()).brokerAddrTable[deadDoor]?.brokerAddrs['0'];
        expect(before).toBeDefined();
        ownDoorAddr = before!;
        // The new leader registers the dead node's door on its own port for that door.
        await until('the dead door taken over by a live node', 15_000, async () => {
          const now = (await watcher.clusterInfo().catch(() => undefined))?.brokerAddrTable[deadDoor]?.brokerAddrs['0'];
          if (now !== undefined && now !== before) takenOverBy = now;
          return takenOverBy !== undefined;
        });
      } finally {
        await watcher.shutdown();
      }
      expect(takenOverBy).not.toBe(deadAddr);
      await until('8 s of sends after the kill', 30_000, () => Date.now() - killedAt >= 8_000);
      stop = true;
      await sender;

      let gapMs = 0;
      const around = [killedAt, ...okTimes.filter((t) => t >= killedAt)];
      for (let i = 1; i < around.length; i++) gapMs = Math.max(gapMs, around[i]! - around[i - 1]!);
      const sentAfter = okTimes.filter((t) => t > killedAt).length;
      // The dead door's queues are pulled again once the consumer's next route poll (≤ 30 s) finds them at the leader.
      await until('every acknowledged message consumed', 60_000, () => acked.every((k) => consumed.has(k)));
      const lost = acked.filter((k) => !consumed.has(k)).length;
      console.log(`front doors, leader ${leaderId} SIGKILLed: longest time without a successful send ${gapMs} ms, failed sends ${failed}, acknowledged ${acked.length} (${sentAfter} after the kill), lost ${lost}`);
      expect(failed).toBe(0);
      expect(lost).toBe(0);
      expect(sentAfter).toBeGreaterThan(50);
      expect(gapMs).toBeLessThanOrEqual(2_000);

      // The killed node comes back: once it replicates, the leader gives its door back.
      restartNode(file, 'broker-a', leaderId, 'warn');
      const back = new Admin({ namesrvAddr: file.namesrv.addr, requestTimeoutMs: 1500 });
      await back.start();
      try {
        await until('the door routed to its own node again', 60_000, async () => (await back.clusterInfo().catch(() => undefined))?.brokerAddrTable[deadDoor]?.brokerAddrs['0'] === ownDoorAddr);
      } finally {
        await back.shutdown();
      }
    } finally {
      stop = true;
      await sender;
      await producer.close().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    }
  }, 150_000);
});
