// `rmq bench e2e --local --groups N` and `rmq bench catchup --local` on real processes, small:
// two groups each take a share of the topic's queues and every message is read back in order;
// the catch-up run reports its windows and, with the offload on, followers serve the backlog.
// The figures themselves are never asserted (docs/performance.md has them).
import { describe, expect, it } from 'vitest';
import { runBench, runCatchup } from '../src/bench/index.js';
import { ensureBuilt } from './cli-helpers.js';

describe('rmq bench on several groups and on a catching-up consumer', () => {
  it('spreads the topic over two local groups, reads every message back in order and lists all six brokers', async () => {
    ensureBuilt();
    const [r] = await runBench({
      command: 'e2e', local: true, groups: 2, flush: 'async', modes: ['pipelined'], n: 400, sizeBytes: 128, inFlight: 8, batch: 1,
      queues: 4, pullBatch: 64, maxSeconds: 90, binaryHeaders: true, sendTimeoutMs: 10_000, progress: false, keepData: false,
    });
    expect(r!.parts).toBe(2);
    expect(r!.queues).toBe(4);
    expect([r!.verified, r!.in_order, r!.consumed]).toEqual([true, true, 400]);
    expect(Object.keys(r!.broker_peak_rss_mb).sort()).toEqual(['broker-a-n0', 'broker-a-n1', 'broker-a-n2', 'broker-b-n0', 'broker-b-n1', 'broker-b-n2']);
    expect(r!.leader_before).toMatch(/^broker-a\/n\d,broker-b\/n\d$/);
  }, 240_000);

  it('measures a steady producer alone and while a consumer catches up, with followers serving the backlog when the offload is on', async () => {
    const [r] = await runCatchup({
      backlog: 600, sizeBytes: 512, queues: 2, inFlight: 2, baselineSeconds: 1, maxSeconds: 90, lagThresholdBytes: 32 * 1024, variants: ['on'],
    });
    expect(r!.variant).toBe('on');
    expect(r!.catchup.caught_up).toBe(true);
    expect(r!.baseline.sends).toBeGreaterThan(0);
    const served = Object.entries(r!.catchup.served_by_node);
    expect(served).toHaveLength(3);
    const leader = served.find(([node]) => node === r!.leader)![1]!;
    const followers = served.filter(([node]) => node !== r!.leader).reduce((sum, [, n]) => sum + n!, 0);
    expect(followers).toBeGreaterThan(leader);
  }, 240_000);
});
