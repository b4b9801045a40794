// Runs node-simulation schedules: `npm run sim:node -- --seeds <N> [--from <seed>]
// [--flush sync|async|both] [--storage mmap|memory]` runs seeds from..from+N-1 (with `both`,
// each seed once per flush mode) and ends with `sim: <N> schedules, <V> violations` (exit code
// 1 when V > 0). `SEED=<n> npm run sim:node` replays one schedule verbosely (`FLUSH=sync|async`
// to force the mode, `STORAGE=mmap|memory` the storage, `PLAN='<json>'` to replay an edited plan).
import type { FlushMode } from '../sim-node.js';
import type { SimStorageKind } from './node-plan.js';
import { nodePlanFromSeed, runNodeSchedule, type NodeSimPlan } from './node-schedule.js';

const USAGE = 'usage: cli.js --seeds <N> [--from <first seed>] [--flush sync|async|both] [--storage mmap|memory]   or   SEED=<n> [FLUSH=sync|async] [STORAGE=mmap|memory] [PLAN=<json>] cli.js';
const STORAGE_KINDS: readonly string[] = ['mmap', 'memory'];

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function replayOne(seed: number): Promise<number> {
  const flush = process.env['FLUSH'] as FlushMode | undefined;
  const plan: NodeSimPlan = process.env['PLAN'] ? (JSON.parse(process.env['PLAN']) as NodeSimPlan) : nodePlanFromSeed(seed, flush || undefined);
  const storage = process.env['STORAGE'];
  if (storage !== undefined && storage !== '') {
    if (!STORAGE_KINDS.includes(storage)) {
      console.error(USAGE);
      return 2;
    }
    plan.storage = storage as SimStorageKind;
  }
  console.log(`seed ${seed} plan ${JSON.stringify(plan)}`);
  const r = await runNodeSchedule(seed, plan, { verbose: (line) => console.log(line) });
  for (const v of r.violations) console.log(`VIOLATION ${v}`);
  console.log(`stats ${JSON.stringify(r.stats)}`);
  console.log(`sim: 1 schedules, ${r.violations.length > 0 ? 1 : 0} violations`);
  return r.violations.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const seedEnv = process.env['SEED'];
  if (seedEnv !== undefined && seedEnv !== '') return replayOne(Number(seedEnv));
  const count = Number(arg(args, '--seeds') ?? 100);
  const from = Number(arg(args, '--from') ?? 1);
  const flushArg = arg(args, '--flush') ?? 'both';
  const storageArg = arg(args, '--storage');
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(from) || !['sync', 'async', 'both'].includes(flushArg) ||
    (storageArg !== undefined && !STORAGE_KINDS.includes(storageArg))) {
    console.error(USAGE);
    return 2;
  }
  const modes: FlushMode[] = flushArg === 'both' ? ['sync', 'async'] : [flushArg as FlushMode];
  let schedules = 0;
  let violations = 0;
  const started = performance.now();
  for (let seed = from; seed < from + count; seed++) {
    for (const flush of modes) {
      schedules++;
      const plan = nodePlanFromSeed(seed, flush);
      if (storageArg !== undefined) plan.storage = storageArg as SimStorageKind;
      const r = await runNodeSchedule(seed, plan);
      if (r.violations.length > 0) {
        violations++;
        const env = storageArg !== undefined ? ` STORAGE=${storageArg}` : '';
        console.log(`seed ${seed} (${flush} flush): ${r.violations[0]}  (replay: SEED=${seed} FLUSH=${flush}${env} npm run sim:node)`);
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.error(`${schedules} schedules in ${seconds.toFixed(1)} s (${(schedules / seconds).toFixed(1)}/s)`);
  console.log(`sim: ${schedules} schedules, ${violations} violations`);
  return violations > 0 ? 1 : 0;
}

process.exitCode = await main();
