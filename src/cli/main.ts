#!/usr/bin/env -S node --single-threaded-gc
// `rmq`: the command line of the broker cluster. Servers (namesrv, broker), local clusters
// (cluster up/down/status), mqadmin-style administration, quick produce/consume, and the demos.
// Every command and its --json shape is documented in docs/cli.md; errors print one line.
import { Command } from 'commander';
import { tagCommanderErrors } from './cli-errors.js';
import { benchCommand } from './commands/bench.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerConsumeCommand } from './commands/consume.js';
import { registerDashboardCommand } from './commands/dashboard.js';
import { registerDemoCommands } from './commands/demo.js';
import { registerProduceCommand } from './commands/produce.js';
import { registerServerCommands } from './commands/servers.js';

const program = new Command()
  .name('rmq')
  .description('a RocketMQ-style message broker whose CommitLog is a Raft log')
  .version('0.1.0')
  // Not --debug: node-pre-gyp, which loads the mmap addon, used to read that flag from argv.
  .option('--verbose', 'log client internals and print stacks of internal errors')
  .showHelpAfterError('(add --help for usage)');

registerServerCommands(program);
registerClusterCommands(program);
registerAdminCommands(program);
registerProduceCommand(program);
registerConsumeCommand(program);
registerDashboardCommand(program);
registerDemoCommands(program);
program.addCommand(benchCommand());

tagCommanderErrors(program);
await program.parseAsync();
