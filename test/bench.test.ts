// `rmq bench` at a tiny scale: the result lines carry the peers' fields with sane values, and the
// read-back check catches corrupt, duplicated, misplaced and missing messages. Never asserts speed.
// The end-to-end case spawns a local cluster from dist/ (build first; `npm test` does).
import { describe, expect, it } from 'vitest';
import { PayloadFactory, runBench, type BenchResult } from '../src/bench/index.js';
import { formatResults } from '../src/cli/commands/bench.js';
import { isVerified, runConsume } from '../src/bench/consume-phase.js';
import { percentile } from '../src/bench/latency.js';
import { Placement } from '../src/bench/placement.js';
import type { MessageQueue, PullConsumer, PullResult } from '../src/client/index.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

const PEER_FIELDS = ['peer', 'mode', 'parts', 'w', 'n', 'size', 'msgs_per_s', 'mb_per_s', 'p50_ms', 'p99_ms', 'p999_ms', 'max_ms', 'consume_msgs_per_s', 'verified', 'in_order'];

describe('payload', () => {
  it('round-trips the sequence number and rejects a body with any byte changed', () => {
    const pf = new PayloadFactory(64);
    const b = pf.make(2 ** 40 + 7);
    expect(pf.check(b, 0, b.length)).toBe(2 ** 40 + 7);
    for (const at of [8, 33, 63]) {
      const bad = Buffer.from(b);
      bad[at] = bad[at]! ^ 1;
      expect(pf.check(bad, 0, bad.length)).toBe(-1);
    }
    expect(pf.check(b.subarray(0, 63), 0, 63)).toBe(-1);
  });

  it('takes the peers\' percentile: the smallest sample with at least p% at or below it', () => {
    const sorted = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(500);
    expect(percentile(sorted, 99.9)).toBe(999);
    expect(percentile(sorted, 100)).toBe(1000);
    expect(percentile(new Float64Array(0), 50)).toBeNull();
  });
});

/** A PullConsumer stand-in serving one queue from a fixed list of bodies. */
function fakeConsumer(bodies: Buffer[]): PullConsumer {
  const mq: MessageQueue = { topic: 'T', brokerName: 'b', queueId: 0 };
  const fake = {
    fetchQueues: async () => [mq],
    minOffset: async () => 0,
    maxOffset: async () => bodies.length,
    pull: async (_q: MessageQueue, offset: number, max: number): Promise<PullResult> => {
      const end = Math.min(bodies.length, offset + max);
      const messages = bodies.slice(offset, end).map((body, k) => ({ body, queueOffset: offset + k }));
      return { status: 'FOUND', nextBeginOffset: end, minOffset: 0, maxOffset: bodies.length, suggestWhichBrokerId: 0, messages } as unknown as PullResult;
    },
  };
  return fake as unknown as PullConsumer;
}

/** Message i acknowledged at queue b:0, offset i. */
function placementOf(n: number): Placement {
  const p = new Placement(n);
  for (let i = 0; i < n; i++) p.place(i, { brokerName: 'b', queueId: 0 }, i);
  return p;
}

describe('read-back check', () => {
  const pf = new PayloadFactory(32);
  const plan = (n: number) => ({ topic: 'T', capacity: n, placement: placementOf(n), pullBatch: 3, maxMs: 5000, payload: pf });

  it('passes an intact, complete, ordered queue', async () => {
    const c = await runConsume(fakeConsumer([0, 1, 2, 3, 4].map((s) => pf.make(s))), plan(5));
    expect(c.consumed).toBe(5);
    expect(isVerified(c)).toBe(true);
    expect(c.outOfOrder).toBe(0);
  });

  it('flags a corrupt body, a duplicate, a swapped pair and a missing message', async () => {
    const corrupt = pf.make(1);
    corrupt[20] = corrupt[20]! ^ 0xff;
    // Offsets 0..4 hold seq 0, corrupt 1, 3, 2, 3 again; seq 4 is never stored.
    const c = await runConsume(fakeConsumer([pf.make(0), corrupt, pf.make(3), pf.make(2), pf.make(3)]), plan(5));
    expect(isVerified(c)).toBe(false);
    expect(c.corrupt).toBe(1);
    expect(c.duplicated).toBe(1);
    expect(c.outOfOrder).toBeGreaterThanOrEqual(1);
    expect(c.misplaced).toBeGreaterThanOrEqual(2);
    expect(c.missing).toBe(2);
  });
});

describe('placement', () => {
  it('tells the same queue id of two broker groups apart', () => {
    const p = new Placement(3);
    p.place(0, { brokerName: 'a', queueId: 0 }, 7);
    p.place(1, { brokerName: 'b', queueId: 0 }, 7);
    expect(p.matches(0, { brokerName: 'a', queueId: 0 }, 7)).toBe(true);
    expect(p.matches(0, { brokerName: 'b', queueId: 0 }, 7)).toBe(false);
    expect(p.isPlaced(2)).toBe(false);
    expect(p.placedCount()).toBe(2);
    expect(p.endOffsetOf({ brokerName: 'b', queueId: 0 })).toBe(8);
    expect(p.endOffsetOf({ brokerName: 'c', queueId: 0 })).toBe(0);
  });
});

describe('rmq bench against a local 3-node group', () => {
  it('publishes sync and pipelined, reads every message back and reports the peers\' fields', async () => {
    const lines: BenchResult[] = [];
    const results = await runBench({
      command: 'e2e',
      local: true,
      flush: 'async',
      modes: ['sync', 'pipelined'],
      n: 600,
      nSync: 200,
      sizeBytes: 100,
      inFlight: 16,
      batch: 1,
      queues: 4,
      pullBatch: 64,
      maxSeconds: 60,
      binaryHeaders: true,
      sendTimeoutMs: 10_000,
      progress: false,
      keepData: false,
      onResult: (r) => lines.push(r),
    });
    expect(lines).toEqual(results);
    expect(results.map((r) => [r.mode, r.n, r.w])).toEqual([
      ['sync', 200, 1],
      ['pipelined', 600, 16],
    ]);
    for (const r of results) {
      for (const f of PEER_FIELDS) expect(r).toHaveProperty(f);
      expect(r.peer).toBe('rmq-raft-r3');
      expect(r.verified).toBe(true);
      // Sends leave in sequence order on one connection and none is retried, so each queue holds them in order.
      expect(r.in_order).toBe(true);
      expect(r.consumed).toBe(r.n);
      expect(r.msgs_per_s).toBeGreaterThan(0);
      expect(r.p50_ms!).toBeLessThanOrEqual(r.p99_ms!);
      expect(r.p99_ms!).toBeLessThanOrEqual(r.max_ms!);
      expect(Object.keys(r.broker_peak_rss_mb).sort()).toEqual(['n0', 'n1', 'n2']);
      // Every broker counts its faults (>= 0), so a broken /proc reading shows up as null here.
      for (const f of Object.values(r.publish_minor_faults_per_msg!)) expect(f).toBeGreaterThanOrEqual(0);
      expect(Object.keys(r.publish_minor_faults_per_msg!).sort()).toEqual(['n0', 'n1', 'n2']);
      expect(r.leader_changes).not.toBeNull();
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    }
    expect(formatResults(results).split('\n')[0]).toMatch(/^PEER\s+MODE/);
  }, 120_000);

  it('batches messages per request and still places every one at its acknowledged offset', async () => {
    const [r] = await runBench({
      command: 'e2e',
      local: true,
      flush: 'sync',
      modes: ['pipelined'],
      n: 500,
      sizeBytes: 1024,
      inFlight: 4,
      batch: 32,
      queues: 2,
      pullBatch: 100,
      maxSeconds: 60,
      binaryHeaders: false,
      sendTimeoutMs: 10_000,
      progress: false,
      keepData: false,
    });
    expect(r!.peer).toBe('rmq-raft-r3-syncflush');
    expect(r!.flush).toBe('SYNC_FLUSH');
    expect(r!.headers).toBe('json');
    expect(r!.batch).toBe(32);
    expect(r!.n).toBe(500);
    expect(r!.verified).toBe(true);
    expect(r!.read_back).toMatchObject({ misplaced: 0, missing: 0, duplicated: 0 });
  }, 120_000);
});
