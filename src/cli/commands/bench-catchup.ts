// `rmq bench catchup --local`: a consumer catching up on a backlog while a producer runs, with
// the follower-read offload off and on (src/bench/catchup-bench.ts, docs/performance.md). One
// JSON line per variant with --json, else a short table.
import { Command, Option } from 'commander';
import { intInRange, secondsValue } from '../options.js';
import { formatTable } from '../output.js';
import { action } from '../run-action.js';
import { BenchSetupError, runCatchup, type CatchupResult } from '../../bench/index.js';

interface CatchupCommandOptions {
  local?: boolean;
  backlog: number;
  size: number;
  queues: number;
  inFlight: number;
  baselineSeconds: number;
  maxSeconds: number;
  lagThresholdBytes: number;
  offload: 'off' | 'on' | 'both';
  json?: boolean;
  tag?: string;
}

export function catchupCommand(): Command {
  return new Command('catchup')
    .description('a consumer catching up on a backlog while a producer runs: send rate and latency with the follower-read offload off and on')
    .option('--local', 'start a NameServer and one 3-node Raft group per variant (required)')
    .option('--backlog <n>', 'messages in the backlog', intInRange(1, 100_000_000), 200_000)
    .option('-s, --size <bytes>', 'payload bytes', intInRange(8, 4 * 1024 * 1024), 1024)
    .option('--queues <q>', 'queues of the topic', intInRange(1, 1024), 8)
    .option('-w, --in-flight <w>', 'sends outstanding in the steady producer', intInRange(1, 4096), 16)
    .option('--baseline-seconds <s>', 'producer-only window before the catch-up', secondsValue(3600), 8)
    .option('--max-seconds <s>', 'time bound of the backlog fill and of the catch-up', secondsValue(86_400), 300)
    .option('--lag-threshold-bytes <b>', 'slaveReadLagThresholdBytes of the brokers (a pull this far behind the log end goes to a follower)', intInRange(1, Number.MAX_SAFE_INTEGER), 16 * 1024 * 1024)
    .addOption(new Option('--offload <which>', 'variants to run').choices(['off', 'on', 'both']).default('both'))
    .option('--json', 'one JSON line per variant on stdout')
    .option('--tag <text>', 'copied into every result line')
    .action(
      action<CatchupCommandOptions>(async (opts) => {
        if (opts.local !== true) throw new BenchSetupError('bench catchup starts its own clusters (one per variant, each with its own broker.conf): give --local');
        const rows: CatchupResult[] = [];
        await runCatchup({
          backlog: opts.backlog,
          sizeBytes: opts.size,
          queues: opts.queues,
          inFlight: opts.inFlight,
          baselineSeconds: opts.baselineSeconds,
          maxSeconds: opts.maxSeconds,
          lagThresholdBytes: opts.lagThresholdBytes,
          variants: opts.offload === 'both' ? ['off', 'on'] : [opts.offload],
          brokerNodeOptions: process.env['RMQ_BROKER_NODE_OPTIONS'],
          tag: opts.tag,
          onResult: (r) => {
            if (opts.json === true) process.stdout.write(JSON.stringify(r) + '\n');
            rows.push(r);
          },
        });
        if (opts.json !== true) {
          const headers = ['offload', 'window', 'seconds', 'sends/s', 'p50 ms', 'p99 ms', 'max ms', 'consumed', 'consume msgs/s', 'served by node', 'broker CPU share'];
          process.stdout.write(formatTable(headers, rows.flatMap((r) => [
            [r.variant, 'baseline', r.baseline.seconds, r.baseline.send_msgs_per_s, r.baseline.p50_ms, r.baseline.p99_ms, r.baseline.max_ms, null, null, null, JSON.stringify(r.baseline.broker_cpu_share)],
            [r.variant, 'catch-up', r.catchup.seconds, r.catchup.send_msgs_per_s, r.catchup.p50_ms, r.catchup.p99_ms, r.catchup.max_ms, r.catchup.consumed, r.catchup.consume_msgs_per_s, JSON.stringify(r.catchup.served_by_node), JSON.stringify(r.catchup.broker_cpu_share)],
          ])));
        }
      }),
    );
}
