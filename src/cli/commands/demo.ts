// `rmq start` (what `npm start` runs) and `rmq demo raft`.
import { Command } from 'commander';
import { runDemo } from '../demo/run-demo.js';
import { conflicting, intInRange, secondsValue } from '../options.js';
import { action } from '../run-action.js';

export interface StartOptions {
  once?: boolean;
  timeout: number;
  rate: number;
  killAfter: number;
  keep?: boolean;
  dashboard: boolean;
  dashboardPort: number;
}

export function addStartOptions(cmd: Command): Command {
  cmd
    .option('--once', 'exit after the verdict even on a terminal (0 only if nothing acknowledged was lost)')
    .option('--timeout <s>', 'hard bound on the whole demo', secondsValue(3600), 180)
    .option('--rate <n>', 'messages per second the producer aims for', intInRange(10, 100_000), 1000)
    .option('--kill-after <s>', 'seconds of traffic before the leader is killed', secondsValue(600), 4)
    .option('--keep', 'keep the data folder after the demo')
    .option('--dashboard-port <port>', 'port of the web dashboard (a free one when taken)', intInRange(0, 65535), 8080)
    .option('--no-dashboard', 'do not serve the web dashboard');
  return conflicting(cmd, 'dashboard', 'dashboardPort');
}

export function startAction(o: StartOptions): Promise<number> {
  return runDemo({ once: o.once === true, timeoutMs: o.timeout * 1000, ratePerSecond: o.rate, killAfterMs: o.killAfter * 1000, keep: o.keep === true, ...(o.dashboard ? { dashboardPort: o.dashboardPort } : {}) });
}

export function registerDemoCommands(program: Command): void {
  addStartOptions(program.command('start').description('the live failover demo (npm start): a 3-node group, traffic, a leader SIGKILL, the verdict')).action(
    action<StartOptions>(startAction),
  );
  const demo = program.command('demo').description('other demos');
  demo
    .command('raft')
    .description('the Raft library alone: 3 node processes, a load, a leader SIGKILL, every acknowledged entry on every node')
    .action(
      action(async () => {
        const { runRaftDemo } = await import('../demo/raft-demo.js');
        return runRaftDemo();
      }),
    );
}
