// The run's edges: the command line refuses bad arguments before starting anything (exit 2),
// the broker's unsafe fault switch accepts only names it knows, and a run that passes its hard
// deadline stops, reports itself as failed (exit 2) and leaves no process behind.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, parseArgs } from '../jepsen-like/cli.js';
import { unsafeTestFaultFrom } from '../src/broker/unsafe-test-faults.js';
import { BrokerResponseError, BrokerUnreachableError, NoQueueError, SendFailedError, SendTimeoutError } from '../src/client/index.js';
import { classifySendError } from '../jepsen-like/workload/send-outcome.js';
import { assertBrokerBuilt, removeRunFolders, shortRun, survivors } from './jepsen-smoke-helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'jepsen-cli-'));
beforeAll(() => assertBrokerBuilt());
afterAll(() => {
  removeRunFolders();
  rmSync(scratch, { recursive: true, force: true });
});

describe('jepsen command line', () => {
  it('gives a meaningful 60 s default run and reads every documented option', () => {
    const d = parseArgs(['--out', join(scratch, 'x')]);
    expect(d.timeS).toBe(60);
    expect(d.intervalS).toBe(15);
    expect(d.nemesis.split(',')).toEqual(expect.arrayContaining(['partition-random-halves', 'kill-leader', 'pause-leader']));
    const o = parseArgs(['--workload', 'queue', '--nemesis', 'all', '--time', '30', '--rate', '12', '--out', 'o', '--seed', '5', '--flush', 'sync', '--interval', '4', '--batch', '3']);
    expect(o).toMatchObject({ nemesis: 'all', timeS: 30, ratePerSec: 12, out: 'o', seed: 5, flush: 'sync', intervalS: 4, batch: 3 });
    const c = parseArgs(['--out', 'o', '--broker-conf', 'duplicateWindowMs=0', '--broker-conf', 'a=b=c']);
    expect(c.brokerConf).toEqual({ duplicateWindowMs: '0', a: 'b=c' });
    expect(parseArgs(['--workload', 'transactions', '--out', 'o'])).toMatchObject({ workload: 'transactions', batch: 1 });
    // Membership changes need one group: "all" over several groups means every other nemesis.
    const g = parseArgs(['--nemesis', 'all', '--groups', '2', '--out', 'o']).nemesis.split(',');
    expect(g).not.toContain('membership');
    expect(g).toContain('kill-leader');
    expect(parseArgs(['--nemesis', 'all', '--out', 'o']).nemesis).toBe('all');
  });

  it('exits 2 without starting a cluster when an argument is wrong', async () => {
    for (const args of [['--nemesis', 'no-such-fault'], ['--workload', 'register'], ['--flush', 'maybe'], ['--time', '-3'], ['--broker-conf', 'novalue'], ['--workload', 'transactions', '--batch', '2'], ['--nemesis', 'membership', '--groups', '2'], ['--nemesis', 'kill-leader,membership', '--front-doors']]) {
      const out = join(scratch, `bad-${args[0]!.slice(2)}`);
      expect(await main([...args, '--out', out])).toBe(2);
      expect(existsSync(join(out, 'pids.jsonl'))).toBe(false);
    }
  });
});

describe('send outcomes', () => {
  const refused = (code: number, remark: string): SendFailedError => new SendFailedError('t', 1, false, { cause: new BrokerResponseError('127.0.0.1:1', 310, code, remark) });

  it('records fail only for refusals that provably stored nothing', () => {
    expect(classifySendError(refused(14, 'not stored: proposal dropped; retry'))).toBe('fail');
    expect(classifySendError(refused(14, 'this broker is not the Raft leader (role follower)'))).toBe('fail');
    expect(classifySendError(refused(2, 'broker busy'))).toBe('fail');
    expect(classifySendError(new SendFailedError('t', 1, false, { cause: new BrokerUnreachableError('127.0.0.1:1', false) }))).toBe('fail');
    expect(classifySendError(new SendFailedError('t', 1, false, { cause: new NoQueueError('t', 'writable') }))).toBe('fail');
  });

  it('records info whenever the message may have been stored or the cause is unknown', () => {
    expect(classifySendError(refused(14, 'outcome unknown: proposal timed out; a retry may store the message twice'))).toBe('info');
    expect(classifySendError(refused(14, 'the broker is shutting down; retry on another node'))).toBe('info');
    expect(classifySendError(refused(1, 'system error'))).toBe('info');
    expect(classifySendError(new SendTimeoutError('t', 3000, 1, true))).toBe('info');
    expect(classifySendError(new SendFailedError('t', 1, false, { cause: new BrokerUnreachableError('127.0.0.1:1', true) }))).toBe('info');
    // Two attempts: the first one's error is not visible, it may have stored the message.
    expect(classifySendError(new SendFailedError('t', 2, false, { cause: new BrokerUnreachableError('127.0.0.1:1', false) }))).toBe('info');
    expect(classifySendError(new Error('something else'))).toBe('info');
  });
});

describe('the unsafe test fault switch', () => {
  it('is off unless named, and refuses names it does not know', () => {
    expect(unsafeTestFaultFrom({})).toBeUndefined();
    expect(unsafeTestFaultFrom({ RMQ_UNSAFE_TEST_FAULT: 'ack-before-commit' })).toBe('ack-before-commit');
    expect(() => unsafeTestFaultFrom({ RMQ_UNSAFE_TEST_FAULT: 'ack-early' })).toThrow(/not a known test fault/);
  });
});

describe('the hard deadline', () => {
  it('stops a run that outlives it, reports the run as failed and kills every process', async () => {
    const o = await shortRun('deadline', { nemesis: 'kill-leader', timeS: 60, hardDeadlineS: 12 });
    expect(o.exitCode).toBe(2);
    expect(o.summary.errors.join('\n')).toMatch(/hard deadline/);
    expect(survivors(o.runDir)).toEqual([]);
    expect(o.summary.durationMs).toBeLessThan(40_000);
  }, 90_000);
});
