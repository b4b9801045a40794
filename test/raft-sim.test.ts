// The deterministic simulation: fast-check draws seeds and fault plans (and shrinks a failing
// one), every schedule checks the Raft safety invariants after every event and liveness after
// healing. A failure prints the command that replays it. Also: the checker itself can fail,
// runs replay exactly, and async flush under power loss is shown to be unsafe.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMembership } from '../raft/core/membership.js';
import type { Ready } from '../raft/core/messages.js';
import { EntryType } from '../raft/core/types.js';
import { SafetyChecker } from '../raft/sim/checker.js';
import { MemoryStorage } from '../raft/sim/memory-storage.js';
import { planFromSeed, runSchedule, type FaultPlan } from '../raft/sim/simulation.js';

const root = new URL('..', import.meta.url).pathname;

const planArb: fc.Arbitrary<FaultPlan> = fc
  .record({
    nodes: fc.constantFrom(3, 5),
    flush: fc.constantFrom('sync' as const, 'async' as const),
    powerLoss: fc.boolean(),
    faultTicks: fc.integer({ min: 10, max: 120 }),
    dropRate: fc.constantFrom(0, 0.05, 0.2, 0.4),
    duplicateRate: fc.constantFrom(0, 0.1, 0.3),
    maxDelaySteps: fc.integer({ min: 1, max: 12 }),
    partitionRate: fc.constantFrom(0, 0.05, 0.15),
    crashRate: fc.constantFrom(0, 0.03, 0.08),
    leaderCrashRate: fc.constantFrom(0, 0.05, 0.12),
    midReadyCrashRate: fc.constantFrom(0, 0.005, 0.02),
    proposalRate: fc.constantFrom(0.05, 0.3, 0.6),
    transferRate: fc.constantFrom(0, 0.03),
    readRate: fc.constantFrom(0, 0.05),
    retainEntries: fc.constantFrom(0, 3, 15),
    preVote: fc.boolean(),
    checkQuorum: fc.boolean(),
    maxInflightMsgs: fc.constantFrom(1, 3, 16),
    maxAppBytes: fc.constantFrom(8, 24, 4096),
    membershipRate: fc.constantFrom(0, 0.05, 0.15),
  })
  // Power loss is only survivable with sync flush; the unsafe mix has its own test below.
  .map((p) => ({ ...p, powerLoss: p.powerLoss && p.flush === 'sync' }));

function replayHint(seed: number, plan: FaultPlan): string {
  return `replay: SEED=${seed} PLAN='${JSON.stringify(plan)}' npm run sim`;
}

describe('raft simulation', () => {
  it('keeps every invariant and makes progress after healing, over 5,000 generated seeds and fault plans', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), planArb, (seed, plan) => {
        const r = runSchedule(seed, plan);
        if (r.violations.length > 0) throw new Error(`${r.violations.join('\n')}\n${replayHint(seed, plan)}`);
      }),
      { numRuns: 5000 },
    );
    // Membership changes add nodes (up to 7) and with them messages: longer than the default bound.
  }, 240_000);

  // Schedules fast-check once found failing, kept so the bug they exposed stays fixed.
  const regressions: { seed: number; plan: FaultPlan; bug: string }[] = [
    {
      // A follower replaced an unsynced suffix (1..4 of term 1) with the leader's (1..2 of term
      // 2) and recorded commit 2 in its hard state; a power loss before the sync brought the
      // term-1 entries back under that commit, and on restart it applied them.
      seed: 2020169760,
      plan: { nodes: 3, flush: 'sync', powerLoss: true, faultTicks: 39, dropRate: 0.4, duplicateRate: 0.3, maxDelaySteps: 2, partitionRate: 0, crashRate: 0, leaderCrashRate: 0.12, midReadyCrashRate: 0.02, proposalRate: 0.6, transferRate: 0, readRate: 0, retainEntries: 0, preVote: true, checkQuorum: false, maxInflightMsgs: 16, maxAppBytes: 8 },
      bug: 'hard-state commit recorded over entries a power loss could take back',
    },
  ];
  for (const r of regressions) {
    it(`stays clean on the schedule that once exposed: ${r.bug}`, () => {
      const lines: string[] = [];
      const res = runSchedule(r.seed, r.plan, (l) => lines.push(l));
      expect(res.violations).toEqual([]);
      // The schedule still reaches the fault it was kept for.
      expect(lines.join('\n')).toMatch(/crashes mid-Ready after-send \(power-loss\)/);
    });
  }

  it('keeps every invariant on seeds 1..3000 with the plans the CLI derives from them', () => {
    const failures: string[] = [];
    let leaders = 0;
    let crashes = 0;
    let resets = 0;
    let reads = 0;
    let configChanges = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const r = runSchedule(seed);
      leaders += r.stats.leaders;
      crashes += r.stats.crashes;
      resets += r.stats.resets;
      reads += r.stats.reads;
      configChanges += r.stats.configChanges;
      if (r.violations.length > 0) failures.push(`seed ${seed}: ${r.violations[0]} (replay: SEED=${seed} npm run sim)`);
    }
    expect(failures).toEqual([]);
    // The faults really happened: elections, crashes, resets and reads all occurred.
    expect(leaders).toBeGreaterThan(3000);
    expect(crashes).toBeGreaterThan(3000);
    expect(resets).toBeGreaterThan(300);
    expect(reads).toBeGreaterThan(1000);
    expect(configChanges).toBeGreaterThan(1000);
  });

  it('catches leaders that append a membership change early or while another is in flight', () => {
    // The unsafe switch lifts both rules (own-term commit first, one change at a time); the same
    // seeds with the rules in force stay clean.
    let unsafeViolations = 0;
    let safeViolations = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const plan: FaultPlan = { ...planFromSeed(seed), membershipRate: 0.3 };
      if (runSchedule(seed, { ...plan, unsafeConcurrentChanges: true }).violations.length > 0) unsafeViolations++;
      if (runSchedule(seed, plan).violations.length > 0) safeViolations++;
    }
    expect(unsafeViolations).toBeGreaterThan(0);
    expect(safeViolations).toBe(0);
  });

  it('shows that async flush under power loss can lose committed entries, and sync flush does not', () => {
    let unsafeViolations = 0;
    let safeViolations = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const plan: FaultPlan = { ...planFromSeed(seed), powerLoss: true, crashRate: 0.1 };
      if (runSchedule(seed, { ...plan, flush: 'async' }).violations.length > 0) unsafeViolations++;
      if (runSchedule(seed, { ...plan, flush: 'sync' }).violations.length > 0) safeViolations++;
    }
    expect(unsafeViolations).toBeGreaterThan(0);
    expect(safeViolations).toBe(0);
  });

  it('replays a schedule exactly from its seed', () => {
    for (const seed of [3, 17, 42]) {
      const a: string[] = [];
      const b: string[] = [];
      const ra = runSchedule(seed, planFromSeed(seed), (l) => a.push(l));
      const rb = runSchedule(seed, planFromSeed(seed), (l) => b.push(l));
      expect(a).toEqual(b);
      expect(ra.stats).toEqual(rb.stats);
      expect(a.length).toBeGreaterThan(2);
    }
  });
});

describe('safety checker', () => {
  const entry = (index: number, term: number, tag: string) => ({ index, term, type: EntryType.Normal, payload: new TextEncoder().encode(tag) });
  const leaderReady = (term: number): Ready => ({
    entries: [],
    messages: [],
    messagesAfterPersist: [],
    mustSync: false,
    commitFrom: 1,
    commitTo: 0,
    readStates: [],
    softState: { role: 'leader', leader: 'x', term },
  });

  it('flags two leaders in one term', () => {
    const c = new SafetyChecker();
    c.onReady('n0', leaderReady(3), new MemoryStorage());
    c.onReady('n1', leaderReady(3), new MemoryStorage());
    expect(c.violations.join()).toMatch(/election safety/);
  });

  it('flags two different entries under one (index, term)', () => {
    const c = new SafetyChecker();
    c.onAppend('n0', [entry(1, 1, 'a')], 0);
    c.onAppend('n1', [entry(1, 1, 'b')], 0);
    expect(c.violations.join()).toMatch(/log matching/);
  });

  it('flags a node applying something else than what was committed at that index', () => {
    const c = new SafetyChecker();
    c.onStart('n0', 0);
    c.onStart('n1', 0);
    c.onApply('n0', entry(1, 1, 'a'));
    c.onApply('n1', entry(1, 2, 'b'));
    expect(c.violations.join()).toMatch(/state machine safety/);
  });

  it('flags a leader whose log lacks a committed entry', () => {
    const c = new SafetyChecker();
    c.onStart('n0', 0);
    c.onApply('n0', entry(1, 1, 'a'));
    const log = new MemoryStorage();
    log.append([entry(1, 2, 'z')]);
    c.onReady('n1', leaderReady(2), log);
    expect(c.violations.join()).toMatch(/leader completeness/);
  });

  it('flags an entry committed while only a minority keeps it', () => {
    const c = new SafetyChecker();
    c.bootstrap(['n0', 'n1', 'n2']);
    c.survives = (id) => id === 'n0';
    c.onStart('n0', 0);
    c.onApply('n0', entry(1, 1, 'a'));
    expect(c.violations.join()).toMatch(/kept by only 1 of voters \[n0,n1,n2\]/);
  });

  const configEntry = (index: number, term: number, voters: string[], learners: string[] = []) => ({
    index, term, type: EntryType.Config, payload: encodeMembership({ voters, learners }),
  });

  it('flags a node that leads after its removal committed', () => {
    const c = new SafetyChecker();
    c.bootstrap(['n0', 'n1', 'n2', 'n3']);
    c.onStart('n0', 0);
    c.onReady('n0', leaderReady(1), new MemoryStorage());
    c.onApply('n0', configEntry(1, 1, ['n0', 'n1', 'n2']));
    expect(c.violations).toEqual([]);
    const log = new MemoryStorage();
    log.append([configEntry(1, 1, ['n0', 'n1', 'n2'])]);
    c.onReady('n3', leaderReady(2), log);
    expect(c.violations.join()).toMatch(/removed node n3 leads term 2/);
  });

  it('flags a committed configuration that changes two voters at once', () => {
    const c = new SafetyChecker();
    c.bootstrap(['n0', 'n1', 'n2']);
    c.onStart('n0', 0);
    c.onApply('n0', configEntry(1, 1, ['n0', 'n1', 'n2', 'n3', 'n4']));
    expect(c.violations.join()).toMatch(/not a single-server change/);
  });
});

describe('sim CLI', () => {
  const cli = `${root}dist/raft/sim/cli.js`;

  it('runs N schedules and ends with the summary line', () => {
    expect(existsSync(cli), 'build first: npm run build').toBe(true);
    const out = execFileSync(process.execPath, [cli, '--seeds', '40'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(out.trim().split('\n').pop()).toBe('sim: 40 schedules, 0 violations');
  });

  it('exits non-zero and prints replay commands when a schedule violates an invariant', () => {
    const r = spawnSync(process.execPath, [cli, '--seeds', '40', '--unsafe-async-power-loss'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    const last = r.stdout.trim().split('\n').pop()!;
    const v = Number(/sim: 40 schedules, (\d+) violations/.exec(last)?.[1]);
    expect(v).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/replay: SEED=\d+ PLAN=/);
  });

  it('replays one seed verbosely with SEED=<n>', () => {
    const out = execFileSync(process.execPath, [cli], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SEED: '5' } });
    expect(out).toMatch(/^seed 5 plan /);
    expect(out).toMatch(/leads term/);
    expect(out.trim().split('\n').pop()).toBe('sim: 1 schedules, 0 violations');
  });
});
