// `npm start` (node dist/src/cli/start.js [--once] ...): the same as `rmq start`.
import { Command } from 'commander';
import { tagCommanderErrors } from './cli-errors.js';
import { addStartOptions, startAction, type StartOptions } from './commands/demo.js';
import { action } from './run-action.js';

const program = addStartOptions(new Command().name('npm start --').description('the live failover demo: a 3-node Raft broker group, traffic, a leader SIGKILL, the verdict'))
  .option('--verbose', 'log client internals and print stacks of internal errors')
  .action(action<StartOptions>(startAction));
tagCommanderErrors(program);
await program.parseAsync();
