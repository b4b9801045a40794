// BrokerMetrics' put counters: puts are tallied per topic and handed to the counters when the
// registry is read, so every read shows all puts so far, once each.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BrokerMetrics, type BrokerMetricsSource } from '../src/metrics/broker-metrics.js';

const source: BrokerMetricsSource = {
  heldPulls: () => 0,
  dispatchLagEntries: () => 0,
  queueEnds: () => [],
  diskUsedRatio: () => 0,
  leaderReady: () => true,
  retention: () => ({ runs: 0, deletedSegments: 0 }),
  aclRefusals: () => undefined,
  consumerLag: () => [],
};

async function putFigures(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await registry.getMetricsAsJSON()) {
    if (m.name !== 'rmq_messages_put_total' && m.name !== 'rmq_message_bytes_put_total') continue;
    for (const v of m.values) out[`${m.name}{${String(v.labels['topic'])}}`] = v.value;
  }
  return out;
}

describe('BrokerMetrics puts', () => {
  it('shows every put of every topic on each read, counted once however often it is read', async () => {
    const registry = new Registry();
    const metrics = new BrokerMetrics(registry, source);
    metrics.put('A', 1, 100);
    metrics.put('B', 32, 3200);
    metrics.put('A', 2, 250);
    const first = {
      'rmq_messages_put_total{A}': 3,
      'rmq_message_bytes_put_total{A}': 350,
      'rmq_messages_put_total{B}': 32,
      'rmq_message_bytes_put_total{B}': 3200,
    };
    expect(await putFigures(registry)).toEqual(first);
    expect(await putFigures(registry)).toEqual(first);
    expect((await registry.metrics()).match(/^rmq_messages_put_total\{topic="A"\} 3$/m)).not.toBeNull();
    metrics.put('B', 1, 10);
    expect(await putFigures(registry)).toEqual({ ...first, 'rmq_messages_put_total{B}': 33, 'rmq_message_bytes_put_total{B}': 3210 });
  });
});
