// TEST ONLY — revertToDurable (lazy-fs.ts) as a command, for harnesses that drive our programs
// as processes rather than import them: simulates a power loss on the data folder of a process
// that ran with RMQ_UNSAFE_TEST_LAZY_FS=1 and was SIGKILLed. Prints the report as one JSON line.
//
//   node dist/raft/tools/revert-to-durable-cli.js --data-dir <d> [--seed <n>] [--tear]

import { Command, InvalidArgumentError } from 'commander';
import { revertToDurable } from '../storage/lazy-fs.js';

const program = new Command()
  .name('revert-to-durable')
  .requiredOption('--data-dir <dir>', 'folder to revert, recursively (not --dir: node-pre-gyp, loaded by the mmap addon, reads --dir)')
  .option('--seed <n>', 'seed of the torn tails', (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${v}"`);
    return n;
  }, 1)
  .option('--tear', 'keep a seeded prefix of the unsynced sectors of each file', false)
  .parse();

const opts = program.opts<{ dataDir: string; seed: number; tear: boolean }>();
process.stdout.write(`${JSON.stringify(revertToDurable(opts.dataDir, { seed: opts.seed, tear: opts.tear }))}\n`);
