// `rmq bench e2e --protocol grpc` at a tiny scale on a local 3-node group: Apache's unmodified v5
// Producer publishes through the leader's gRPC endpoint with W sends in flight, and the remoting
// read-back finds every acknowledged message at the queue and offset of its v5 send receipt.
// Never asserts speed. Spawns the cluster from dist/ (build first).
import { describe, expect, it } from 'vitest';
import { BenchSetupError, runBench, type BenchOptions } from '../src/bench/index.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

const options: BenchOptions = {
  command: 'e2e',
  local: true,
  flush: 'async',
  modes: ['pipelined'],
  n: 300,
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
  protocol: 'grpc',
};

describe('rmq bench --protocol grpc', () => {
  it('publishes through the gRPC endpoint with the v5 client and verifies every message by the remoting read-back', async () => {
    const [r] = await runBench(options);
    expect(r!.peer).toBe('rmq-raft-r3-grpc');
    expect([r!.mode, r!.n, r!.w]).toEqual(['pipelined', 300, 16]);
    expect(r!.verified).toBe(true);
    expect(r!.consumed).toBe(300);
    expect(r!.read_back).toMatchObject({ misplaced: 0, missing: 0, duplicated: 0 });
    expect(r!.msgs_per_s).toBeGreaterThan(0);
  }, 120_000);

  it('refuses batches (v5 sends one message per request) and an existing cluster without --grpc-endpoint', async () => {
    await expect(runBench({ ...options, batch: 8 })).rejects.toThrow(BenchSetupError);
    await expect(runBench({ ...options, local: false, namesrvAddr: '127.0.0.1:9' })).rejects.toThrow(/--grpc-endpoint/);
  });
});
