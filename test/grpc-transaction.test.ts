// Transactions through the gRPC endpoint with Apache's RocketMQ 5 Node client (rocketmq-client-nodejs),
// unmodified, against a local 3-node group (NameServer and brokers as OS processes): a committed
// transaction is visible once to our remoting PullConsumer, a rolled-back one never, an
// EndTransaction reaching a follower is relayed to the leader, and a transaction left open is
// checked through the producer's Telemetry stream and committed on its checker's word, also when
// the producer is attached to a follower's endpoint only (the follower relays the leader's check).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer, type MessageView } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { PullConsumer, type MessageQueue } from '../src/client/index.js';

const TOPIC = 'GRPC_TX_TOPIC';
/** TransactionResolution of the v5 protocol (definition.proto): COMMIT 1, ROLLBACK 2. */
const COMMIT = 1;
const ROLLBACK = 2;
const errors: string[] = [];
const logger = {
  info() {},
  debug() {},
  warn(...args: unknown[]) { errors.push(`warn ${args.map(String).join(' ')}`); },
  error(...args: unknown[]) { errors.push(`error ${args.map(String).join(' ')}`); },
};

let dir = '';
let cluster: LocalCluster;
let reader: PullConsumer;
const producers: Producer[] = [];
const checked: string[] = [];
/** What the checker answers, by body. */
const verdicts = new Map<string, number>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grpc-tx-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), grpc: true, logLevel: 'warn', extraConf: { transactionTimeOut: '1000', transactionCheckInterval: '200' } });
  await cluster.waitForLeader(30_000);
  reader = new PullConsumer({ namesrvAddr: cluster.namesrvAddr, consumerGroup: 'grpc-tx-reader' });
  await reader.start();
}, 60_000);

afterAll(async () => {
  for (const p of producers) await p.shutdown().catch(() => undefined);
  await reader?.shutdown().catch(() => undefined);
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function producerAt(endpoints: string, topic = TOPIC): Promise<Producer> {
  const checker = {
    async check(m: MessageView): Promise<number> {
      const body = m.body.toString();
      checked.push(body);
      return verdicts.get(body) ?? 0;
    },
  };
  const p = new Producer({ endpoints, logger, topic, checker } as unknown as ConstructorParameters<typeof Producer>[0]);
  await p.startup();
  producers.push(p);
  return p;
}

/** Bodies of every message of the topic, read with our remoting PullConsumer (bounded pulls). */
async function visible(topic = TOPIC): Promise<string[]> {
  const out: string[] = [];
  const queues: MessageQueue[] = await reader.fetchQueues(topic).catch(() => []);
  for (const mq of queues) {
    let offset = 0;
    for (let i = 0; i < 100; i++) {
      const r = await reader.pull(mq, offset, 32).catch(() => undefined);
      if (r === undefined || r.messages.length === 0) break;
      out.push(...r.messages.map((m) => m.body.toString()));
      offset = r.nextBeginOffset;
    }
  }
  return out.sort();
}

describe('transactions through the gRPC endpoint with rocketmq-client-nodejs', () => {
  it('shows a committed transaction once and never a rolled-back one, with EndTransaction through the leader or a follower', async () => {
    const leader = await cluster.waitForLeader(30_000);
    const atLeader = await producerAt(cluster.nodes.find((n) => n.id === leader.id)!.grpcAddr!);
    const atFollower = await producerAt(cluster.nodes.find((n) => n.id !== leader.id)!.grpcAddr!);
    for (const [p, name] of [[atLeader, 'leader'], [atFollower, 'follower']] as const) {
      const commit = p.beginTransaction();
      await p.send({ topic: TOPIC, body: Buffer.from(`grpc-commit-${name}`) } as Parameters<Producer['send']>[0], commit);
      await commit.commit();
      const rollback = p.beginTransaction();
      await p.send({ topic: TOPIC, body: Buffer.from(`grpc-rollback-${name}`) } as Parameters<Producer['send']>[0], rollback);
      await rollback.rollback();
      // A lost rollback would be checked, and this verdict would then show it.
      verdicts.set(`grpc-rollback-${name}`, COMMIT);
    }
    await expect.poll(visible, { timeout: 15_000, interval: 200 }).toEqual(['grpc-commit-follower', 'grpc-commit-leader']);
    expect(errors.filter((e) => !/telemetry|stream/i.test(e))).toEqual([]);
  }, 60_000);

  it('checks a transaction left open through the Telemetry stream and commits it on the checker\'s word', async () => {
    const leader = await cluster.waitForLeader(30_000);
    const p = await producerAt(cluster.nodes.find((n) => n.id === leader.id)!.grpcAddr!);
    verdicts.set('grpc-open-commit', COMMIT);
    verdicts.set('grpc-open-rollback', ROLLBACK);
    for (const body of ['grpc-open-commit', 'grpc-open-rollback']) {
      const tx = p.beginTransaction();
      await p.send({ topic: TOPIC, body: Buffer.from(body) } as Parameters<Producer['send']>[0], tx);
    }
    await expect.poll(() => ['grpc-open-commit', 'grpc-open-rollback'].every((b) => checked.includes(b)), { timeout: 15_000, interval: 200 }).toBe(true);
    await expect.poll(async () => (await visible()).filter((b) => b.startsWith('grpc-open')), { timeout: 15_000, interval: 200 }).toEqual(['grpc-open-commit']);
  }, 60_000);

  it('checks a transaction of a producer attached only to a follower\'s endpoint, relayed by that follower', async () => {
    // A topic of its own: no producer of its group is attached to the leader.
    const topic = 'GRPC_TX_FOLLOWER';
    const leader = await cluster.waitForLeader(30_000);
    const p = await producerAt(cluster.nodes.find((n) => n.id !== leader.id)!.grpcAddr!, topic);
    verdicts.set('grpc-follower-open-commit', COMMIT);
    verdicts.set('grpc-follower-open-rollback', ROLLBACK);
    for (const body of ['grpc-follower-open-commit', 'grpc-follower-open-rollback']) {
      const tx = p.beginTransaction();
      await p.send({ topic, body: Buffer.from(body) } as Parameters<Producer['send']>[0], tx);
    }
    await expect.poll(() => ['grpc-follower-open-commit', 'grpc-follower-open-rollback'].every((b) => checked.includes(b)), { timeout: 15_000, interval: 200 }).toBe(true);
    await expect.poll(async () => (await visible(topic)).filter((b) => b.startsWith('grpc-follower-open')), { timeout: 15_000, interval: 200 }).toEqual(['grpc-follower-open-commit']);
  }, 60_000);
});
