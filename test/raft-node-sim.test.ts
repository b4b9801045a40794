// The node simulation: real RaftNode instances (turns, Ready handling, pending proposals, both
// flush modes) over simulated time and network, each on the real MmapLogStorage over simulated
// files, with a checker of what clients are told. Sweeps of seeds per flush mode, exact replay,
// the two test-only switches that bring fixed bugs back, a checker fed mutated histories, and
// the CLI contract of `npm run sim:node`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EntryType } from '../raft/core/types.js';
import { ProposalDroppedError, ProposalTimeoutError } from '../raft/node/errors.js';
import { SafetyChecker } from '../raft/sim/checker.js';
import { ClientChecker, entryPayload } from '../raft/sim/node-sim/client-checker.js';
import { nodePlanFromSeed, runNodeSchedule, type NodeSimPlan, type NodeSimStats } from '../raft/sim/node-sim/node-schedule.js';
import { SimScheduler } from '../raft/sim/node-sim/sim-clock.js';
import type { FlushMode } from '../raft/sim/sim-node.js';

const root = new URL('..', import.meta.url).pathname;
/** Seeds per flush mode in the sweeps; `npm run sim:node -- --seeds 5000` runs many more. */
const SWEEP_SEEDS = 200;

/**
 * Bugs this simulation found in RaftNode, now fixed; each fix keeps a test-only switch that
 * restores the old behaviour, and the tests below turn them back on to show the simulation still
 * finds them. The sweeps must be clean.
 */
const KNOWN_BUGS = {
  legacyBatchOutcome: /was rejected as not stored \(ERR_RAFT_PROPOSAL_DROPPED\) but its entry \d+ committed at \d+$/,
  // A restarted node applies old entries that the power loss brought back under its durable commit.
  commitAheadOfDurable: /state machine safety: n\d applied \(\d+, \d+\) but \(\d+, \d+\) was applied elsewhere$/,
};

/**
 * Async flush with power losses of a minority between very slow flushes, many leader changes
 * and leadership transfers (each a term change, when a follower writes its hard state): a
 * follower whose synced tail a new leader replaced, and whose commit advanced over the
 * replacement, writes that commit with its next term; a power loss before the next flush brings
 * the old tail back under it.
 */
const DURABLE_COMMIT_PLAN: Partial<NodeSimPlan> = {
  flush: 'async', powerLoss: true, faultPeriods: 400, crashRate: 0.05, leaderCrashRate: 0.01, restartRate: 0.3, asyncFlushIntervalMs: 2000,
  isolateLeaderRate: 0.15, transferRate: 0.3, proposalRate: 0.9, partitionRate: 0.05, maxAppBytes: 16, maxInflightMsgs: 2,
};

async function sweep(flush: FlushMode, seeds: number): Promise<NodeSimStats[]> {
  const failures: string[] = [];
  const stats: NodeSimStats[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const r = await runNodeSchedule(seed, { ...nodePlanFromSeed(seed, flush), storage: 'mmap' });
    const bad = r.violations;
    if (bad.length > 0) failures.push(`seed ${seed}: ${bad[0]} (replay: SEED=${seed} FLUSH=${flush} npm run sim:node)`);
    stats.push(r.stats);
  }
  expect(failures).toEqual([]);
  return stats;
}

const total = (stats: NodeSimStats[], key: keyof NodeSimStats): number => stats.reduce((n, s) => n + s[key], 0);

describe('node simulation', () => {
  it('keeps every Raft and client invariant over 200 seeds with sync flush, on the mmap log', async () => {
    const stats = await sweep('sync', SWEEP_SEEDS);
    expect(total(stats, 'powerLosses')).toBeGreaterThan(0);
    // Under sync flush nothing acknowledged was unsynced: a restart after a power loss never recovers.
    expect(total(stats, 'recovering')).toBe(0);
  });

  it('keeps every Raft and client invariant over 200 seeds with async flush, on the mmap log, nodes recovering after power losses', async () => {
    const stats = await sweep('async', SWEEP_SEEDS);
    // The run marker told each restart after a power loss from a kill: the recovery guard ran.
    expect(total(stats, 'recovering')).toBeGreaterThan(0);
    expect(total(stats, 'recovering')).toBeLessThanOrEqual(total(stats, 'crashes'));
  });

  it('replays a schedule exactly from its seed', async () => {
    const a = await runNodeSchedule(12, nodePlanFromSeed(12, 'async'));
    const b = await runNodeSchedule(12, nodePlanFromSeed(12, 'async'));
    expect(b.stats).toEqual(a.stats);
    expect(b.violations).toEqual(a.violations);
    expect(a.stats.batches).toBeGreaterThan(0);
    expect(a.stats.ok).toBeGreaterThan(0);
  });

  it('finds the batch-outcome bug when the test switch restores the legacy batch outcome', async () => {
    // The switch is passed through the plan to every RaftNode; a RaftNode without it ignores it.
    let found: string | undefined;
    for (let seed = 1; seed <= 40 && found === undefined; seed++) {
      const plan = { ...nodePlanFromSeed(seed, 'sync'), storage: 'mmap' as const, nodeOptions: { unsafeTestLegacyBatchOutcome: true } };
      const r = await runNodeSchedule(seed, plan);
      found = r.violations.find((v) => KNOWN_BUGS.legacyBatchOutcome.test(v));
    }
    expect(found).toMatch(/rejected as not stored \(ERR_RAFT_PROPOSAL_DROPPED\) but its entry \d+ committed/);
  });

  it('finds the durable-commit bug when the storage switch writes the commit above the durable log, and not without it', async () => {
    // The switch goes through the plan's storage options to every MmapLogStorage.
    let found: { seed: number; violation: string } | undefined;
    for (let seed = 1; seed <= 60 && found === undefined; seed++) {
      const plan = { ...nodePlanFromSeed(seed, 'async'), ...DURABLE_COMMIT_PLAN, storage: 'mmap' as const, storageOptions: { unsafeTestCommitAheadOfDurable: true } };
      const r = await runNodeSchedule(seed, plan);
      const violation = r.violations.find((v) => KNOWN_BUGS.commitAheadOfDurable.test(v));
      if (violation !== undefined) found = { seed, violation };
    }
    expect(found?.violation).toMatch(KNOWN_BUGS.commitAheadOfDurable);
    // The same schedules with the clamp on (the default) are clean.
    for (let seed = 1; seed <= found!.seed; seed++) {
      const r = await runNodeSchedule(seed, { ...nodePlanFromSeed(seed, 'async'), ...DURABLE_COMMIT_PLAN, storage: 'mmap' });
      expect(r.violations, `seed ${seed}`).toEqual([]);
    }
  });
});

describe('simulated clock', () => {
  it('runs events in time order, same-instant events in scheduling order, and nothing of a killed incarnation', () => {
    const sched = new SimScheduler();
    const a = sched.clockView();
    const b = sched.clockView();
    const seen: string[] = [];
    a.setInterval(() => seen.push(`a-tick@${a.now()}`), 10);
    b.setTimeout(() => seen.push(`b-timeout@${b.now()}`), 10);
    a.setImmediate(() => {
      seen.push(`a-now@${a.now()}`);
      a.setImmediate(() => seen.push(`a-nested@${a.now()}`));
    });
    sched.runUntil(20);
    a.kill();
    a.setImmediate(() => seen.push('a-after-kill'));
    sched.runUntil(50);
    expect(seen).toEqual(['a-now@0', 'a-nested@0', 'a-tick@10', 'b-timeout@10', 'a-tick@20']);
    expect(sched.now).toBe(50);
  });
});

describe('client checker', () => {
  function setup(): { safety: SafetyChecker; client: ClientChecker } {
    const safety = new SafetyChecker();
    safety.onStart('n0', 0);
    safety.voters = 3;
    return { safety, client: new ClientChecker(safety) };
  }
  const entry = (index: number, term: number, id: number) => ({ index, term, type: EntryType.Normal, payload: entryPayload(id) });

  it('flags a batch rejected as dropped whose first entry commits afterwards', () => {
    const { safety, client } = setup();
    const { batch } = client.propose('n0', 1, 3);
    client.rejected(batch, new ProposalDroppedError(3, 1));
    const e = entry(1, 1, batch.entryIds[0]!);
    safety.onApply('n0', e);
    client.onApply(e);
    expect(safety.violations.join('\n')).toMatch(/rejected as not stored \(ERR_RAFT_PROPOSAL_DROPPED\) but its entry 1 committed at 1/);
  });

  it('flags a batch rejected as dropped whose entry had already committed', () => {
    const { safety, client } = setup();
    const { batch } = client.propose('n0', 1, 2);
    const e = entry(1, 1, batch.entryIds[1]!);
    safety.onApply('n0', e);
    client.onApply(e);
    expect(safety.violations).toEqual([]);
    client.rejected(batch, new ProposalDroppedError(2, 1));
    expect(safety.violations.join('\n')).toMatch(/but its entry 2 committed at 1/);
  });

  it('flags a batch resolved OK whose reported indexes hold other payloads or nothing', () => {
    const { safety, client } = setup();
    const a = client.propose('n0', 1, 1).batch;
    const b = client.propose('n0', 1, 1).batch;
    const e = entry(1, 1, a.entryIds[0]!);
    safety.onApply('n0', e);
    client.onApply(e);
    client.resolved(b, { index: 1, lastIndex: 1, term: 1 });
    client.resolved(a, { index: 2, lastIndex: 2, term: 1 });
    expect(safety.violations).toHaveLength(2);
    expect(safety.violations[0]).toMatch(/committed entry 1 instead of 2/);
    expect(safety.violations[1]).toMatch(/nothing is committed at 2/);
  });

  it('accepts a batch resolved OK at exactly its entries, and a timed-out batch whatever happens to it', () => {
    const { safety, client } = setup();
    const a = client.propose('n0', 1, 2).batch;
    const t = client.propose('n0', 1, 1).batch;
    for (const [i, id] of [a.entryIds[0]!, a.entryIds[1]!, t.entryIds[0]!].entries()) {
      const e = entry(i + 1, 1, id);
      safety.onApply('n0', e);
      client.onApply(e);
    }
    client.resolved(a, { index: 1, lastIndex: 2, term: 1 });
    client.rejected(t, new ProposalTimeoutError(3, 1, 100));
    expect(safety.violations).toEqual([]);
    expect(client.counts).toMatchObject({ ok: 1, unknown: 1, notStored: 0 });
  });
});

describe('sim:node CLI', () => {
  const cli = `${root}dist/raft/sim/node-sim/cli.js`;

  it('runs N seeds per flush mode, ends with the summary line, and prints a replay command per failing schedule', () => {
    expect(existsSync(cli), 'build first: npm run build').toBe(true);
    const r = spawnSync(process.execPath, [cli, '--seeds', '4', '--from', '7', '--flush', 'both'], { encoding: 'utf8', timeout: 60_000 });
    const lines = r.stdout.trim().split('\n');
    const m = /^sim: 8 schedules, (\d+) violations$/.exec(lines.pop()!);
    expect(m).not.toBeNull();
    const violations = Number(m![1]);
    expect(lines.filter((l) => /\(replay: SEED=\d+ FLUSH=(sync|async)( STORAGE=\w+)? npm run sim:node\)$/.test(l))).toHaveLength(violations);
    expect(r.status).toBe(violations > 0 ? 1 : 0);
  });

  it('replays one seed verbosely with SEED=<n>', () => {
    const out = execFileSync(process.execPath, [cli], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SEED: '5', FLUSH: 'sync' } });
    expect(out).toMatch(/^seed 5 plan \{"flush":"sync"/);
    expect(out).toMatch(/n\d leads term \d+/);
    expect(out).toMatch(/client proposes batch 1 /);
    expect(out.trim().split('\n').pop()).toMatch(/^sim: 1 schedules, [01] violations$/);
  });

  it('rejects a bad flush mode or storage with a usage line', () => {
    for (const args of [['--flush', 'sometimes'], ['--storage', 'disk']]) {
      const r = spawnSync(process.execPath, [cli, '--seeds', '1', ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/usage:.*--storage mmap\|memory/);
    }
  });

  it('runs the in-memory storage with --storage memory', () => {
    const r = spawnSync(process.execPath, [cli, '--seeds', '2', '--flush', 'async', '--storage', 'memory'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim().split('\n').pop()).toMatch(/^sim: 2 schedules, \d+ violations$/);
  });
});
