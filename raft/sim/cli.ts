// Runs simulated schedules: `node dist/raft/sim/cli.js --seeds <N>` runs seeds 1..N and ends
// with `sim: <N> schedules, <V> violations` (exit code 1 when V > 0); `SEED=<n>` replays one
// schedule verbosely (with `PLAN='<json>'` to replay a plan fast-check shrank).
// `--unsafe-async-power-loss` forces async flush with power-loss crashes: a demonstration that
// the simulation does catch the committed entries this configuration can lose.
// `--unsafe-concurrent-config-changes` lets leaders append membership changes before their term's
// first commit and while another is in flight (with frequent changes): the checker must catch it.
import { planFromSeed, runSchedule, type FaultPlan } from './simulation.js';

function main(): number {
  const args = process.argv.slice(2);
  const seedEnv = process.env['SEED'];
  if (seedEnv !== undefined && seedEnv !== '') {
    const seed = Number(seedEnv);
    const plan: FaultPlan = process.env['PLAN'] ? (JSON.parse(process.env['PLAN']) as FaultPlan) : planFromSeed(seed);
    console.log(`seed ${seed} plan ${JSON.stringify(plan)}`);
    const r = runSchedule(seed, plan, (line) => console.log(line));
    for (const v of r.violations) console.log(`VIOLATION ${v}`);
    console.log(`stats ${JSON.stringify(r.stats)}`);
    console.log(`sim: 1 schedules, ${r.violations.length > 0 ? 1 : 0} violations`);
    return r.violations.length > 0 ? 1 : 0;
  }
  const i = args.indexOf('--seeds');
  const count = i >= 0 ? Number(args[i + 1]) : 100;
  const j = args.indexOf('--from');
  const from = j >= 0 ? Number(args[j + 1]) : 1;
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(from)) {
    console.error('usage: cli.js --seeds <N> [--from <first seed>] [--unsafe-async-power-loss]   or   SEED=<n> cli.js');
    return 2;
  }
  const unsafe = args.includes('--unsafe-async-power-loss');
  const unsafeConfig = args.includes('--unsafe-concurrent-config-changes');
  let violations = 0;
  let configChanges = 0;
  const started = performance.now();
  for (let seed = from; seed < from + count; seed++) {
    let plan = planFromSeed(seed);
    if (unsafe) plan = { ...plan, flush: 'async', powerLoss: true, crashRate: 0.1 };
    if (unsafeConfig) plan = { ...plan, unsafeConcurrentChanges: true, membershipRate: 0.3 };
    const r = runSchedule(seed, plan);
    configChanges += r.stats.configChanges;
    if (r.violations.length > 0) {
      violations++;
      const replay = unsafe || unsafeConfig ? `SEED=${seed} PLAN='${JSON.stringify(r.plan)}'` : `SEED=${seed}`;
      console.log(`seed ${seed}: ${r.violations[0]}  (replay: ${replay} npm run sim)`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.error(`${count} schedules in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(0)}/s), ${configChanges} membership changes committed`);
  console.log(`sim: ${count} schedules, ${violations} violations`);
  return violations > 0 ? 1 : 0;
}

process.exitCode = main();
