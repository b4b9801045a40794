// Prometheus metrics on real processes: `rmq cluster up`'s launcher starts a NameServer and a
// 3-node group with metricsPort set and records every metricsAddr in cluster.json; the test
// scrapes /metrics, /healthz and /readyz of each process and checks that the figures move as
// messages are sent and consumed and as the leader is killed and another takes over.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer } from '../src/client/index.js';
import { clusterFilePath } from '../src/devkit/cluster-file.js';
import { killNode } from '../src/devkit/cluster-launcher.js';
import { silent, until } from './broker-helpers.js';
import { sample, sampleSum, scrape, startCluster, type TestCluster } from './metrics-helpers.js';

const TOPIC = 'MetricsTopic';
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster('rmq-metrics-test-');
}, 90_000);

afterAll(async () => {
  await c?.close();
});

const nodes = () => c.file.groups[0]!.nodes;

async function leaderNode(exclude?: string) {
  for (const n of nodes()) {
    if (n.id === exclude) continue;
    const r = await scrape(n.metricsAddr!).catch(() => undefined);
    if (r !== undefined && sample(r.text, 'rmq_broker_leader_ready') === 1) return { node: n, text: r.text };
  }
  return undefined;
}

describe('metrics of a real 3-node group', () => {
  it('records every metricsAddr in cluster.json and serves /metrics, /healthz and /readyz on each', async () => {
    const onDisk = JSON.parse(readFileSync(clusterFilePath(c.file.dir), 'utf8')) as typeof c.file;
    expect(onDisk.namesrv.metricsAddr).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const n of onDisk.groups[0]!.nodes) expect(n.metricsAddr).toMatch(/^127\.0\.0\.1:\d+$/);
    // cluster up returns once a quorum leads; the last node may still be starting.
    await until('every node answering /healthz', 15_000, async () => (await Promise.all(nodes().map((n) => scrape(n.metricsAddr!, '/healthz').catch(() => undefined)))).every((r) => r?.status === 200));
    for (const n of nodes()) {
      const m = await scrape(n.metricsAddr!);
      expect(m.status).toBe(200);
      expect(m.type).toContain('text/plain');
      expect(sample(m.text, 'rmq_raft_term', { group: 'broker-a', node: n.id })).toBeDefined();
    }
    // A node that has just started learns the term from the leader's first heartbeat.
    await until('every node in the leader\'s term and ready (/readyz 200)', 15_000, async () => {
      const all = await Promise.all(nodes().map(async (n) => ({ term: sample((await scrape(n.metricsAddr!)).text, 'rmq_raft_term', { node: n.id }) ?? 0, ready: (await scrape(n.metricsAddr!, '/readyz')).status })));
      return all.every((x) => x.term > 0 && x.ready === 200);
    });
    await until('the NameServer listing the three nodes and a master', 15_000, async () => {
      const ns = (await scrape(c.file.namesrv.metricsAddr!)).text;
      return sample(ns, 'rmq_namesrv_group_has_master', { broker_group: 'broker-a' }) === 1 && sample(ns, 'rmq_namesrv_live_brokers') === 3 && sample(ns, 'rmq_namesrv_group_nodes', { broker_group: 'broker-a' }) === 3;
    });
  });

  it('moves put, commit, queue and consumer-lag figures with traffic', async () => {
    const before = (await leaderNode())!;
    const commitBefore = sample(before.text, 'rmq_raft_commit_index')!;
    const producer = new Producer({ namesrvAddr: c.file.namesrv.addr, producerGroup: 'METRICS_PG', logger: silent });
    await producer.start();
    try {
      for (let i = 0; i < 40; i++) expect((await producer.send({ topic: TOPIC, body: `m-${i}`, keys: `k-${i}` })).status).toBe('SEND_OK');
    } finally {
      await producer.shutdown();
    }
    const after = (await leaderNode())!;
    expect(after.node.id).toBe(before.node.id);
    expect(sample(after.text, 'rmq_messages_put_total', { topic: TOPIC })).toBe(40);
    expect(sample(after.text, 'rmq_message_bytes_put_total', { topic: TOPIC })).toBeGreaterThan(40 * 4);
    expect(sample(after.text, 'rmq_send_duration_seconds_count', { result: 'ok' })).toBeGreaterThanOrEqual(40);
    expect(sample(after.text, 'rmq_raft_commit_index')).toBeGreaterThan(commitBefore);
    expect(sampleSum(after.text, 'rmq_consume_queue_max_offset', { topic: TOPIC })).toBe(40);
    expect(sample(after.text, 'rmq_raft_log_append_duration_seconds_count')).toBeGreaterThan(0);
    // Followers apply the same entries: their commit and applied indexes follow the leader's.
    for (const n of nodes()) {
      await until(`${n.id} applying the sends`, 10_000, async () => (sample((await scrape(n.metricsAddr!)).text, 'rmq_raft_applied_index') ?? 0) >= sample(after.text, 'rmq_raft_commit_index')!);
    }

    // A consumer takes everything: the leader serves pulls and the group's lag drops to 0.
    let received = 0;
    const consumer = new PushConsumer({ namesrvAddr: c.file.namesrv.addr, consumerGroup: 'METRICS_CG', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silent, handler: () => { received++; } });
    consumer.subscribe(TOPIC, '*');
    await consumer.start();
    try {
      await until('40 messages consumed', 30_000, () => received >= 40);
      // The consumer commits its offsets every few seconds: allow for a loaded machine.
      await until('the leader counting the pulled messages and reporting lag 0', 30_000, async () => {
        const t = (await scrape(after.node.metricsAddr!)).text;
        return sampleSum(t, 'rmq_messages_got_total', { topic: TOPIC }) >= 40 && sampleSum(t, 'rmq_consumer_lag_messages', { consumer_group: 'METRICS_CG', topic: TOPIC }) === 0 && sample(t, 'rmq_consumer_lag_messages', { consumer_group: 'METRICS_CG' }) !== undefined;
      });
    } finally {
      await consumer.shutdown();
    }
    // With the consumer gone, new messages are lag.
    const p2 = new Producer({ namesrvAddr: c.file.namesrv.addr, producerGroup: 'METRICS_PG2', logger: silent });
    await p2.start();
    try {
      for (let i = 0; i < 10; i++) await p2.send({ topic: TOPIC, body: `late-${i}` });
    } finally {
      await p2.shutdown();
    }
    const lagText = (await scrape(after.node.metricsAddr!)).text;
    expect(sampleSum(lagText, 'rmq_consumer_lag_messages', { consumer_group: 'METRICS_CG', topic: TOPIC })).toBe(10);
    // Lag is the leader's figure only: followers report none, so a sum over nodes counts it once.
    const follower = nodes().find((n) => n.id !== after.node.id)!;
    expect(sampleSum((await scrape(follower.metricsAddr!)).text, 'rmq_consumer_lag_messages')).toBe(0);
  });

  it('shows a leader change: a new leader with a higher term, counted on the survivors', async () => {
    const old = (await leaderNode())!;
    const oldTerm = sample(old.text, 'rmq_raft_term')!;
    await killNode(c.file, 'broker-a', old.node.id, 'SIGKILL');
    let next: Awaited<ReturnType<typeof leaderNode>>;
    await until('a new ready leader', 20_000, async () => (next = await leaderNode(old.node.id)) !== undefined);
    expect(sample(next!.text, 'rmq_raft_term')).toBeGreaterThan(oldTerm);
    expect(sample(next!.text, 'rmq_raft_is_leader')).toBe(1);
    expect(sample(next!.text, 'rmq_raft_role', { role: 'leader' })).toBe(1);
    expect(sample(next!.text, 'rmq_raft_elections_started_total')).toBeGreaterThanOrEqual(1);
    // The dead node is a follower the new leader cannot reach: its match lag is reported.
    expect(sample(next!.text, 'rmq_raft_follower_match_lag_entries', { follower: old.node.id })).toBeGreaterThanOrEqual(0);
    for (const n of nodes().filter((x) => x.id !== old.node.id)) {
      await until(`${n.id} counting the leader change`, 10_000, async () => (sample((await scrape(n.metricsAddr!)).text, 'rmq_raft_leader_changes_total') ?? 0) >= 1);
    }
    await until('the NameServer seeing the new master term', 15_000, async () => (sample((await scrape(c.file.namesrv.metricsAddr!)).text, 'rmq_namesrv_group_master_term', { broker_group: 'broker-a' }) ?? 0) > oldTerm);
  });

  it('reads the lag of a group through the SDK as the broker computes it', async () => {
    const admin = new Admin({ namesrvAddr: c.file.namesrv.addr, logger: silent });
    await admin.start();
    try {
      const rows = await admin.consumerProgress('METRICS_CG', TOPIC);
      expect(rows.reduce((s, r) => s + r.diff, 0)).toBe(10);
    } finally {
      await admin.shutdown();
    }
  });
});
