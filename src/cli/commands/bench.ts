// `rmq bench produce|consume|e2e`: the commander sub-command around runBench. People get a
// progress bar and a table; `--json` prints one JSON document `{command, phases, verified}` at
// the end (each phase in the peers' format), `--json-lines` one JSON line per phase as it ends;
// nothing else on stdout. Exit 1 when the read-back does not match what was acknowledged.
import { Command, Option } from 'commander';
import { conflicting, intInRange, oneOf, secondsValue } from '../options.js';
import { formatTable } from '../output.js';
import { action } from '../run-action.js';
import { catchupCommand } from './bench-catchup.js';
import { BENCH_DEFAULTS, runBench, type BenchCommandName, type BenchResult, type SendMode } from '../../bench/index.js';

interface CommandOptions {
  local?: boolean;
  groups: number;
  namesrvAddr?: string;
  flush: 'async' | 'sync';
  mode: SendMode[];
  messages: number;
  nSync?: number;
  size: number;
  inFlight: number;
  batch: number;
  queues: number;
  topic?: string;
  pullBatch: number;
  maxSeconds: number;
  jsonHeaders?: boolean;
  compress?: boolean;
  sendTimeoutMs: number;
  json?: boolean;
  jsonLines?: boolean;
  progress: boolean;
  keepData?: boolean;
  tag?: string;
  protocol: 'remoting' | 'grpc';
  grpcEndpoint?: string;
}

function modeList(value: string): SendMode[] {
  const parse = oneOf<SendMode>(['sync', 'pipelined']);
  return value.split(',').map((m) => parse(m.trim()));
}

const NAMESRV_FLAGS = '-n, --namesrv-addr <addr>';
const NAMESRV_HELP = 'NameServer address host:port, several separated by ";" (default: $NAMESRV_ADDR)';
const MAX_MESSAGES = 100_000_000;
const MAX_SIZE_BYTES = 4 * 1024 * 1024;

function subCommand(name: BenchCommandName, summary: string): Command {
  const cmd = new Command(name)
    .description(summary)
    .option('--local', 'start a NameServer and one 3-node Raft group for the run (removed afterwards)')
    .option('--groups <n>', 'with --local: this many 3-node groups, the topic\'s queues spread over them', intInRange(1, 26), 1)
    .option(NAMESRV_FLAGS, NAMESRV_HELP)
    .addOption(new Option('--flush <type>', 'flushDiskType of the --local cluster').choices(['async', 'sync']).default('async'))
    .option('--mode <modes>', 'send modes, comma-separated, each its own phase: sync (one in flight), pipelined', modeList, ['pipelined'] as SendMode[])
    .option('-N, --messages <n>', 'messages per phase', intInRange(1, MAX_MESSAGES), BENCH_DEFAULTS.n)
    .option('--n-sync <n>', 'messages of a sync phase (default: --messages)', intInRange(1, MAX_MESSAGES))
    .option('-s, --size <bytes>', 'payload bytes (8 hold the sequence number)', intInRange(8, MAX_SIZE_BYTES), BENCH_DEFAULTS.sizeBytes)
    .option('-w, --in-flight <w>', 'requests outstanding in pipelined mode', intInRange(1, 65_536), BENCH_DEFAULTS.inFlight)
    .option('-b, --batch <k>', 'messages per request (SEND_BATCH_MESSAGE when > 1)', intInRange(1, 4096), BENCH_DEFAULTS.batch)
    .option('--queues <q>', 'queues of the topic each phase creates', intInRange(1, 1024), BENCH_DEFAULTS.queues)
    .option('--topic <name>', 'use this topic instead of a fresh one per phase (required by consume)')
    .option('--pull-batch <k>', 'messages per pull on read-back', intInRange(1, 4096), BENCH_DEFAULTS.pullBatch)
    .option('--max-seconds <s>', 'time bound of each publish or read-back phase', secondsValue(86_400), BENCH_DEFAULTS.maxSeconds)
    .option('--json-headers', "send RocketMQ's JSON headers instead of the binary header type")
    .option('--compress', 'let the producer deflate bodies over 4 KiB (the SDK default; off here, as the peers send raw bytes)')
    .option('--send-timeout-ms <ms>', 'sendMsgTimeout of the producer', intInRange(1, 600_000), BENCH_DEFAULTS.sendTimeoutMs)
    .addOption(new Option('--json', 'one JSON document on stdout at the end: {command, phases: [the peers\' fields per phase], verified}, no table').conflicts('jsonLines'))
    .option('--json-lines', 'one JSON line per phase on stdout as each phase ends (the peers\' fields), no table')
    .option('--no-progress', 'no progress bar (it is shown only on a terminal anyway)')
    .option('--keep-data', 'keep the --local data folder and logs (e.g. for --cpu-prof profiles)')
    .option('--tag <text>', 'copied into every result line')
    .addOption(new Option('--protocol <p>', 'publish through remoting or a node\'s RocketMQ 5 gRPC endpoint with Apache\'s v5 client (read-back is remoting)').choices(['remoting', 'grpc']).default('remoting'))
    .option('--grpc-endpoint <host:port>', 'with --protocol grpc and -n: the gRPC endpoint to publish to (--local uses the leader\'s)')
    .addHelpText(
      'after',
      '\nEnvironment: RMQ_BROKER_NODE_OPTIONS adds node flags to --local brokers, e.g.\n' +
        '  RMQ_BROKER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/rmq-prof" rmq bench e2e --local --keep-data\n' +
        'RMQ_BENCH_DIST_DIR runs the --local servers from another build\'s dist/ (to compare two builds).',
    )
    .action(
      action<CommandOptions>(async (opts) => {
        const lines: BenchResult[] = [];
        const machine = opts.json === true || opts.jsonLines === true;
        const print = (r: BenchResult): void => {
          if (opts.jsonLines === true) process.stdout.write(JSON.stringify(r) + '\n');
          lines.push(r);
        };
        try {
          await runBench({
            command: name,
            local: opts.local === true,
            groups: opts.groups,
            namesrvAddr: opts.namesrvAddr ?? process.env['NAMESRV_ADDR'],
            flush: opts.flush,
            modes: opts.mode,
            n: opts.messages,
            nSync: opts.nSync,
            sizeBytes: opts.size,
            inFlight: opts.inFlight,
            batch: opts.batch,
            queues: opts.queues,
            topic: opts.topic,
            pullBatch: opts.pullBatch,
            maxSeconds: opts.maxSeconds,
            binaryHeaders: opts.jsonHeaders !== true,
            sendTimeoutMs: opts.sendTimeoutMs,
            compress: opts.compress === true,
            progress: opts.progress && !machine,
            keepData: opts.keepData === true,
            brokerNodeOptions: process.env['RMQ_BROKER_NODE_OPTIONS'],
            distDir: process.env['RMQ_BENCH_DIST_DIR'],
            tag: opts.tag,
            protocol: opts.protocol,
            grpcEndpoint: opts.grpcEndpoint,
            onResult: print,
          });
        } finally {
          // Also after a failed phase: the document holds the phases that ended.
          if (opts.json === true) process.stdout.write(JSON.stringify(benchDocument(name, lines), null, 2) + '\n');
          else if (!machine && lines.length > 0) process.stdout.write(formatResults(lines));
        }
      }),
    );
  // --local starts its own cluster: an address given with it would be ignored.
  return conflicting(cmd, 'local', 'namesrvAddr');
}

/** What `--json` prints: every phase, and whether all of them verified. */
export function benchDocument(command: BenchCommandName, phases: readonly BenchResult[]): { command: BenchCommandName; phases: readonly BenchResult[]; verified: boolean } {
  return { command, phases, verified: phases.length > 0 && !phases.some((p) => p.verified === false) };
}

/** The table people read: the peers' columns plus what the run did to the cluster. */
export function formatResults(rows: readonly BenchResult[]): string {
  const headers = ['peer', 'mode', 'w', 'batch', 'n', 'size', 'msgs/s', 'MB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'consume msgs/s', 'verified', 'in order', 'leader changes', 'peak RSS MB'];
  return formatTable(
    headers,
    rows.map((r) => [
      r.peer,
      r.mode,
      r.w,
      r.batch,
      r.n,
      r.size,
      r.msgs_per_s,
      r.mb_per_s,
      r.p50_ms,
      r.p99_ms,
      r.p999_ms,
      r.max_ms,
      r.consume_msgs_per_s,
      r.verified,
      r.in_order,
      r.leader_changes,
      Object.values(r.broker_peak_rss_mb).join('/') || null,
    ]),
  );
}

/** `rmq bench` with its three sub-commands; mount with program.addCommand(benchCommand()). */
export function benchCommand(): Command {
  return new Command('bench')
    .description("throughput, latency and read-back of the JetStream comparison workload (docs/performance.md)")
    .addCommand(subCommand('produce', 'publish N messages per mode and report rate and latency'))
    .addCommand(subCommand('consume', 'read back and verify a topic an earlier `bench produce --topic` filled'))
    .addCommand(subCommand('e2e', 'publish, then read back and verify every byte (the peers\' workload)'))
    .addCommand(catchupCommand());
}
