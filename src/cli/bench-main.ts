// Stand-alone entry of the benchmark (`node dist/src/cli/bench-main.js e2e --local`), the same
// command `rmq bench` mounts; handy for profiling runs without the rest of the CLI.
import { Command } from 'commander';
import { tagCommanderErrors } from './cli-errors.js';
import { benchCommand } from './commands/bench.js';

const program = new Command('rmq-bench').option('--verbose', 'client logs and stack traces');
for (const sub of benchCommand().commands) program.addCommand(sub as Command);
tagCommanderErrors(program);
await program.parseAsync(process.argv);
