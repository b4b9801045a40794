// `rmq dashboard -n <namesrv> [--port]`: serves the web dashboard (src/dashboard) until Ctrl-C.
import type { Command } from 'commander';
import { Dashboard } from '../../dashboard/dashboard-server.js';
import { namesrvAddrOf } from '../namesrv-option.js';
import { intInRange } from '../options.js';
import { action, KEEP_RUNNING } from '../run-action.js';

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve a web dashboard of the cluster: groups, rates, topics, consumer lag, message lookup')
    .option('-n, --namesrv-addr <addr>', 'NameServer host:port, several separated by ";" (default: $NAMESRV_ADDR)')
    .option('-p, --port <port>', 'HTTP port (0 picks a free one)', intInRange(0, 65535), 8080)
    .option('--host <host>', 'listen address', '127.0.0.1')
    .action(
      action<{ namesrvAddr?: string; port: number; host: string }>(async (o) => {
        const dashboard = await Dashboard.start({ namesrvAddr: namesrvAddrOf(o.namesrvAddr), port: o.port, host: o.host });
        process.stdout.write(`dashboard on ${dashboard.url} (Ctrl-C stops it)\n`);
        const stop = (): void => void dashboard.close().finally(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        return KEEP_RUNNING;
      }),
    );
}
