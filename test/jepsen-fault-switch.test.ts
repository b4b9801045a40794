// The harness must be able to fail. With the broker's test-only switch
// RMQ_UNSAFE_TEST_FAULT=ack-before-commit, a leader answers SEND_OK before a quorum commits; the
// run isolates the leader twice while producers keep sending to it, so it acknowledges writes
// that the majority's new leader overwrites after the heal. The checkers must call that run
// invalid with lost writes, and only lost writes: the early answers carry no offsets, so no
// other checker has anything to hold against them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBrokerBuilt, describeRun, removeRunFolders, shortRun, survivors } from './jepsen-smoke-helpers.js';

beforeAll(() => assertBrokerBuilt());
afterAll(() => removeRunFolders());

describe('the unsafe ack-before-commit switch', () => {
  it('makes a run that isolates the leader report acknowledged writes as lost', async () => {
    const o = await shortRun('fault-switch', {
      nemesis: 'partition-isolate-leader',
      unsafeTestFault: 'ack-before-commit',
      timeS: 16,
      intervalS: 4,
      quietS: 3,
      ratePerSec: 80,
      producers: 4,
    });
    const why = describeRun(o);
    expect(o.summary.errors, why).toEqual([]);
    expect(o.exitCode, why).toBe(1);
    const r = o.check!.results;
    expect(r.valid, why).toBe(false);
    expect(r.lost.valid, why).toBe(false);
    expect(r.lost.count, why).toBeGreaterThan(0);
    expect(r.unexpected.count, why).toBe(0);
    expect(r.divergence.valid, why).toBe(true);
    expect(o.summary.mix!.faults.filter((f) => f.started).length, why).toBeGreaterThanOrEqual(1);
    expect(survivors(o.runDir)).toEqual([]);
  }, 170_000);
});
