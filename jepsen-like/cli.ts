// `npm run jepsen -- --workload queue|transactions --nemesis <list|all> --time <s> --rate <ops/s> --out <dir>`:
// one fault-injection run over real processes (see docs/testing.md, "Fault runs"). Prints a
// verdict table and exits 0 only when every safety checker passed, 1 when one found an anomaly,
// 2 when the run itself failed (bad arguments, the cluster did not start, the hard deadline).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { SAFETY_CHECKERS } from './checker/check-all.js';
import { NEMESIS_NAMES, nemesisNames } from './nemesis/registry.js';
import { randomSeed } from './net/seeded-random.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from './run/run-options.js';
import { runTest, type RunOutcome } from './run/run-test.js';

function int(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return n;
  };
}

function positive(max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`expected a number in (0, ${max}]`);
    return n;
  };
}

export function parseArgs(argv: readonly string[]): RunOptions {
  const d = DEFAULT_RUN_OPTIONS;
  const program = new Command()
    .name('jepsen')
    .description('Fault-injection run over a real NameServer + 3-node Raft broker group (or --groups of them); checks the history')
    .option('--workload <name>', 'workload: queue, or transactions (every send a transaction: commit, rollback, or unknown and decided by the check)', 'queue')
    .option('--nemesis <list>', `"all", "none" or a comma-separated list of: ${NEMESIS_NAMES.join(', ')}`, d.nemesis)
    .option('--time <s>', 'seconds of workload under faults', positive(24 * 3600), d.timeS)
    .option('--rate <ops/s>', 'sends per second over all producers', positive(100_000), d.ratePerSec)
    .option('--out <dir>', 'run folder (history.jsonl, results.json, report.html, logs/)')
    .option('--seed <n>', 'seed of the nemesis schedule (random when absent)', int(0, 2 ** 31 - 1))
    .option('--flush <mode>', 'async (ASYNC_FLUSH) or sync (SYNC_FLUSH)', d.flush)
    .option('--interval <s>', 'seconds of fault, then seconds of health, per cycle', positive(3600), d.intervalS)
    .option('--schedule <kind>', 'random (seeded mix) or cycle (each nemesis in turn)', d.schedule)
    .option('--quiet <s>', 'seconds of health before the first fault (default: --interval)', positive(3600))
    .option('--recovery <s>', 'seconds the clients keep going after the final heal', int(0, 3600), d.recoveryS)
    .option('--batch <k>', 'values per send (SEND_BATCH when > 1)', int(1, 256), d.batch)
    .option('--groups <n>', 'Raft groups of 3 nodes (broker-a, broker-b, ...); faults hit one group or all of them', int(1, 8), d.groups)
    .option('--front-doors', 'every node a front door (its own broker name with a share of the queues; docs/operations.md)')
    .option('--queues <n>', 'queues of the topic (per group)', int(1, 64), d.queues)
    .option('--producers <n>', 'producer processes', int(1, 64), d.producers)
    .option('--consumers <n>', 'consumer processes (one clustering group)', int(1, 64), d.consumers)
    .option('--client-retries <n>', "the SDK's retryTimesWhenSendFailed", int(0, 16), d.clientRetries)
    .option('--log-level <level>', 'RMQ_LOG_LEVEL of the brokers and the client log', d.logLevel)
    .option('--abuse-rss-bound <MiB>', 'resident memory no process may pass under the abuse nemesis (default 1024)', positive(1024 * 1024))
    .option('--broker-conf <key=value>', 'an extra broker.conf line for every broker (repeatable), e.g. duplicateWindowMs=0', (v: string, all: string[] = []) => [...all, v])
    .option('--unsafe-test-fault <name>', 'TEST ONLY: ack-before-commit (RMQ_UNSAFE_TEST_FAULT of every broker) or lying-fsync (with power-loss: log syncs persist nothing); the run should then fail')
    .exitOverride()
    .parse(argv, { from: 'user' });
  const o = program.opts<{
    workload: string; nemesis: string; time: number; rate: number; out?: string; seed?: number; flush: string; interval: number; schedule: string; quiet?: number;
    recovery: number; batch: number; groups: number; frontDoors?: boolean; queues: number; producers: number; consumers: number; clientRetries: number; logLevel: string; unsafeTestFault?: string; abuseRssBound?: number; brokerConf?: string[];
  }>();
  const brokerConf: Record<string, string> = {};
  for (const line of o.brokerConf ?? []) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--broker-conf expects key=value, not '${line}'`);
    brokerConf[line.slice(0, eq)] = line.slice(eq + 1);
  }
  if (o.workload !== 'queue' && o.workload !== 'transactions') throw new InvalidArgumentError(`unknown workload '${o.workload}'; it is 'queue' or 'transactions'`);
  if (o.workload === 'transactions' && o.batch !== 1) throw new InvalidArgumentError('--batch must be 1 with --workload transactions (a transaction is one message)');
  if (o.flush !== 'async' && o.flush !== 'sync') throw new InvalidArgumentError(`--flush must be async or sync, not '${o.flush}'`);
  if (o.schedule !== 'random' && o.schedule !== 'cycle') throw new InvalidArgumentError(`--schedule must be random or cycle, not '${o.schedule}'`);
  // Membership changes run in one group of proxied nodes (the joiner takes a spare slot of that
  // group): named with --groups or --front-doors it is refused; "all" then means all the others.
  const oneGroup = o.groups === 1 && o.frontDoors !== true;
  if (!oneGroup && o.nemesis.trim() !== 'all' && nemesisNames(o.nemesis).includes('membership')) {
    throw new InvalidArgumentError('--nemesis membership runs on one group without front doors: drop --groups/--front-doors or the membership nemesis');
  }
  const nemesis = !oneGroup && o.nemesis.trim() === 'all' ? NEMESIS_NAMES.filter((n) => n !== 'membership').join(',') : o.nemesis;
  const seed = o.seed ?? randomSeed();
  const out = o.out ?? `runs/jepsen-${new Date().toISOString().replace(/[:.]/g, '-')}-${seed}`;
  return {
    ...d,
    workload: o.workload,
    nemesis,
    timeS: o.time,
    ratePerSec: o.rate,
    out,
    seed,
    flush: o.flush,
    intervalS: o.interval,
    schedule: o.schedule,
    ...(o.quiet !== undefined ? { quietS: o.quiet } : {}),
    recoveryS: o.recovery,
    batch: o.batch,
    groups: o.groups,
    ...(o.frontDoors === true ? { frontDoors: true } : {}),
    queues: o.queues,
    producers: o.producers,
    consumers: Math.min(o.consumers, o.queues * o.groups),
    clientRetries: o.clientRetries,
    logLevel: o.logLevel,
    ...(o.abuseRssBound !== undefined ? { abuseRssBoundMiB: o.abuseRssBound } : {}),
    ...(o.unsafeTestFault !== undefined ? { unsafeTestFault: o.unsafeTestFault } : {}),
    ...(Object.keys(brokerConf).length > 0 ? { brokerConf } : {}),
  };
}

export function verdictTable(outcome: RunOutcome): string[] {
  const lines: string[] = [];
  const r = outcome.check?.results;
  const s = outcome.summary;
  const groups = (s.options.groups ?? 1) > 1 ? `, ${s.options.groups} groups` : '';
  lines.push(`run ${outcome.runDir} (seed ${s.seed}, nemesis ${s.options.nemesis}, ${s.options.timeS} s at ${s.options.ratePerSec}/s, flush ${s.options.flush}${groups})`);
  if (r !== undefined) {
    const st = r.stats;
    lines.push(`ops ${st.ops}: ok ${st.ok}, fail ${st.fail}, info ${st.info}, pending ${st.pending}`);
    lines.push('checker                 verdict  count');
    for (const name of SAFETY_CHECKERS) lines.push(`${name.padEnd(24)}${(r[name].valid ? 'pass' : 'FAIL').padEnd(9)}${r[name].count}`);
    for (const [group, g] of Object.entries(r.byGroup ?? {})) {
      lines.push(`group ${group}: ${g.valid ? 'pass' : 'FAIL'} (${SAFETY_CHECKERS.map((name) => `${name} ${g[name]}`).join(', ')})`);
    }
    const a = r.availability;
    lines.push(`availability: ok sends ${a.sendsOk}/${a.sendsCompleted}, longest unavailability ${a.longestUnavailabilityMs.toFixed(0)} ms`);
    if (!r.divergence.checked) lines.push('note: no final-state record; replica divergence not checked');
  }
  for (const c of s.crashes) {
    const how = c.signal !== null ? `signal ${c.signal}` : `code ${c.code}`;
    const last = c.logTail.trim().split('\n').slice(-1)[0] ?? '';
    lines.push(`crash: ${c.name} (pid ${c.pid}) exited on its own with ${how}; its log ends: ${last.slice(0, 300)}`);
  }
  for (const e of s.errors) lines.push(`run error: ${e}`);
  lines.push(`verdict: ${outcome.exitCode === 0 ? 'VALID' : outcome.exitCode === 1 ? 'INVALID (anomalies found)' : 'RUN FAILED'}`);
  if (outcome.check !== undefined) lines.push(`results: ${outcome.check.resultsPath}`, `report: ${outcome.check.reportPath}`);
  return lines;
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: RunOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  try {
    const outcome = await runTest({ ...options, progress: (line) => process.stdout.write(`[jepsen] ${line}\n`) });
    process.stdout.write(verdictTable(outcome).join('\n') + '\n');
    return outcome.exitCode;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`jepsen run failed${typeof code === 'string' ? ` (${code})` : ''}: ${(err as Error).message}\n`);
    return 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const code = await main(process.argv.slice(2));
  // Client sockets and timers of a timed-out run must not keep the process alive.
  process.exit(code);
}
