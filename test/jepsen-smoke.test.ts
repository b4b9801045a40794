// Short fault-injection runs over the real broker, one per family of nemesis kinds, each kind
// injected at least once (schedule `cycle`): the checkers must find every run valid, the final
// drain must read every acknowledged send, the replicas' digests must be recorded and compared,
// and no process the run started may survive it. About 25-35 s per run on 2 cores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../jepsen-like/run/run-test.js';
import { assertBrokerBuilt, describeRun, removeRunFolders, shortRun, survivors } from './jepsen-smoke-helpers.js';

beforeAll(() => assertBrokerBuilt());
afterAll(() => removeRunFolders());

function expectHealthyValidRun(o: RunOutcome, kinds: string[]): void {
  const why = describeRun(o);
  expect(o.summary.errors, why).toEqual([]);
  expect(o.exitCode, why).toBe(0);
  const r = o.check!.results;
  expect(r.valid, why).toBe(true);
  expect(r.divergence.checked, why).toBe(true);
  const started = new Set(o.summary.mix!.faults.filter((f) => f.started).map((f) => f.fault));
  for (const k of kinds) expect(started.has(k), `${k} never started\n${why}`).toBe(true);
  // The workload really ran: most sends acknowledged, and the drain read at least all of them.
  expect(r.availability.sendsOk, why).toBeGreaterThan(100);
  // With retention, messages consumed earlier may be gone before the drain; the lost checker
  // (part of valid) still requires every acknowledged value read or expired by retention.
  if (!kinds.includes('retention')) expect(o.summary.drain!.messages, why).toBeGreaterThanOrEqual(r.availability.sendsOk);
  expect(o.summary.consumers!.messagesRead, why).toBeGreaterThan(0);
  expect(survivors(o.runDir)).toEqual([]);
}

describe('jepsen-like smoke runs over the real broker', () => {
  it('stays valid under every partition shape: random halves, isolated leader, majorities ring, bridge, one-way into the leader', async () => {
    const kinds = ['partition-random-halves', 'partition-isolate-leader', 'partition-majorities-ring', 'partition-bridge', 'partition-one-way-leader'];
    const o = await shortRun('partitions', { nemesis: kinds.join(','), timeS: 29 });
    expectHealthyValidRun(o, kinds);
  }, 170_000);

  it('stays valid when nodes are SIGKILLed (random, leader, majority) or SIGSTOPped (leader, random)', async () => {
    const kinds = ['kill-random-node', 'kill-leader', 'kill-majority', 'pause-leader', 'pause-random'];
    const o = await shortRun('processes', { nemesis: kinds.join(','), timeS: 29 });
    expectHealthyValidRun(o, kinds);
  }, 170_000);

  it('stays valid through retention resets, partitioned clients, abuse on every port, a full disk and a power loss', async () => {
    const kinds = ['retention', 'partition-clients-leader', 'abuse', 'disk-full', 'power-loss'];
    const o = await shortRun('round-two', { nemesis: kinds.join(','), timeS: 60, intervalS: 4, segmentSizeBytes: 256 * 1024 });
    expectHealthyValidRun(o, kinds);
    expect(o.summary.crashes, describeRun(o)).toEqual([]);
  }, 200_000);

  it('stays valid with packet loss, link delay and brokers cut from the NameServer, sending batches under SYNC_FLUSH', async () => {
    const kinds = ['packet-loss', 'delay', 'partition-namesrv'];
    const o = await shortRun('links', { nemesis: kinds.join(','), timeS: 17, batch: 4, flush: 'sync', ratePerSec: 15 });
    expectHealthyValidRun(o, kinds);
  }, 170_000);
});
