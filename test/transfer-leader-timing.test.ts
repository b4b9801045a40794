// `rmq admin transferLeader` with sends in flight, on real processes: leadership moves (the test
// prints how long it took and the longest pause between successful sends) and no send fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { Producer } from '../src/client/index.js';
import { silent } from './broker-helpers.js';
import { ensureBuilt, killLiveRuns, rmqMain, run } from './cli-helpers.js';
import { until } from './helpers/poll.js';

let dir: string;
let cluster: LocalCluster;
const SENDERS = 4;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'transfer-timing-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), logLevel: 'warn' });
  await cluster.waitForLeader(30_000);
}, 60_000);

afterAll(async () => {
  killLiveRuns();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rmq admin transferLeader under load', () => {
  it('moves leadership while sends are in flight without a failed send, and prints how long it took', async () => {
    const before = await cluster.waitForLeader(10_000);
    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'XFER_PG', logger: silent });
    await producer.start();
    const okTimes: number[] = [];
    let failed = 0;
    let stop = false;
    const senders = Array.from({ length: SENDERS }, async (_, s) => {
      for (let i = 0; !stop && i < 20_000; i++) {
        try {
          const r = await producer.send({ topic: 'XferTopic', body: `s${s}-${i}` });
          if (r.status === 'SEND_OK') okTimes.push(Date.now());
          else failed++;
        } catch {
          failed++;
        }
      }
    });
    try {
      // Up to 20 s of warm-up traffic; the measurement starts either way.
      await until('200 warm-up sends', 20_000, () => okTimes.length >= 200, 50).catch(() => undefined);
      const startedAt = Date.now();
      const out = await run(rmqMain, ['admin', 'transferLeader', '-n', cluster.namesrvAddr, '--json'], 30_000);
      expect(out.status, out.stderr).toBe(0);
      const result = JSON.parse(out.stdout) as { previousLeader: string; newLeader: string; term: number; tookMs: number };
      expect(result.previousLeader).toBe(before.id);
      expect(result.newLeader).not.toBe(before.id);
      const doneAt = Date.now();
      while (Date.now() - doneAt < 2_000) await new Promise((r) => setTimeout(r, 50));
      stop = true;
      await Promise.all(senders);
      const window = [startedAt, ...okTimes.filter((t) => t >= startedAt).sort((a, b) => a - b)];
      let gapMs = 0;
      for (let i = 1; i < window.length; i++) gapMs = Math.max(gapMs, window[i]! - window[i - 1]!);
      console.log(`transferLeader ${result.previousLeader} -> ${result.newLeader} with ${SENDERS} senders in flight: leadership moved in ${result.tookMs} ms; longest pause between successful sends ${gapMs} ms; failed sends ${failed}; sends ${okTimes.length}`);
      expect(typeof result.tookMs).toBe('number');
      expect(failed).toBe(0);
      const after = await cluster.waitForLeader(10_000);
      expect(after.id).toBe(result.newLeader);
    } finally {
      stop = true;
      await Promise.all(senders);
      await producer.shutdown();
    }
  }, 120_000);
});
