// bench:raft: three node processes on 127.0.0.1, 1 KiB entries proposed by a pipelined driver
// inside the leader process (a window of entries in flight, batched per turn). Reports committed
// entries/s and MB/s, commit latency p50/p99, leader changes during the run, the CPU time the
// three node processes spent per committed entry (from /proc, on Linux: on a shared machine it
// varies far less than the throughput does), and the time until a new leader is elected after
// SIGKILL of the leader.
//
//   npm run bench:raft -- [--flush async|sync] [--seconds 10] [--n 0] [--window 4096] [--json] [--exec-args '...']

import { Command, InvalidArgumentError } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePortBlock } from '../free-ports.js';
import { LocalCluster, sleep } from '../demo/local-cluster.js';

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${v}"`);
  return n;
}

const opts = new Command()
  .name('bench-raft')
  .option('--flush <mode>', 'async | sync', 'async')
  .option('--seconds <s>', 'run length (used when --n is 0)', nonNegativeInt, 10)
  .option('--n <entries>', 'entries to commit (0 = run for --seconds)', nonNegativeInt, 0)
  .option('--window <entries>', 'entries in flight', nonNegativeInt, 4096)
  .option('--batch <entries>', 'entries per proposal batch', nonNegativeInt, 128)
  .option('--payload-bytes <n>', 'entry payload size', nonNegativeInt, 1024)
  .option('--base-port <port>', 'first port to try; three consecutive free ones are used', nonNegativeInt, 21200)
  .option('--no-failover', 'skip the SIGKILL failover measurement')
  .option('--node-args <args>', 'extra arguments for every node process, space-separated', '')
  .option('--cpu-prof <dir>', 'write a V8 CPU profile of every node process into <dir>')
  .option('--exec-args <args>', 'extra Node.js flags for every node process, space-separated (e.g. --max-semi-space-size=32)', '')
  .option('--json', 'print one JSON line')
  .parse()
  .opts<{ flush: string; seconds: number; n: number; window: number; batch: number; payloadBytes: number; basePort: number; failover: boolean; json?: boolean; cpuProf?: string; nodeArgs: string; execArgs: string }>();

if (opts.flush !== 'async' && opts.flush !== 'sync') throw new InvalidArgumentError(`--flush must be async or sync, got "${opts.flush}"`);
/** User + system CPU seconds of a process so far, or NaN where /proc is not available. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}
const clusterCpuSeconds = (): number => cluster.ids.reduce((sum, id) => sum + cpuSeconds(cluster.pidOf(id)), 0);

const say = (line: string): void => {
  if (!opts.json) console.log(line);
};

const dir = mkdtempSync(join(tmpdir(), 'raft-bench-'));
const segmentBytes = 1024 * 1024 * 1024 - 4096;
const cluster = new LocalCluster({
  dir,
  basePort: await findFreePortBlock(opts.basePort, opts.basePort + 99, 3),
  flush: opts.flush,
  execArgv: [...(opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : []), ...opts.execArgs.split(' ').filter((a) => a.length > 0)],
  nodeArgs: ['--segment-bytes', String(segmentBytes), '--max-pending', String(Math.max(100_000, opts.window * 2)),
    // The test harness's CRC of every applied payload is not Raft's work; keep it out of the figure.
    '--digest', 'seq', ...opts.nodeArgs.split(' ').filter((a) => a.length > 0)],
});
let leaderChanges = 0;
let measuring = false;
cluster.onRole = (_id, role) => {
  if (measuring && role === 'leader') leaderChanges++;
};
const cleanup = (): void => {
  cluster.killAllSync();
  rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

try {
  await cluster.start();
  const leader = await cluster.waitForLeader(10_000);
  say(`leader ${leader}; ${opts.n > 0 ? `${opts.n} entries` : `${opts.seconds} s`} of ${opts.payloadBytes} B entries, window ${opts.window}, flush ${opts.flush}`);
  // A short warm-up, so connections, JIT and the first mapped pages are in place.
  await cluster.load(leader, { fromSeq: 0, count: 20_000, seconds: 0, window: opts.window, batchMax: opts.batch, payloadBytes: opts.payloadBytes });
  const termBefore = (await cluster.status(leader)).term;
  measuring = true;
  const cpuBefore = clusterCpuSeconds();
  const r = await cluster.load(leader, {
    fromSeq: 100_000, count: opts.n, seconds: opts.n > 0 ? 0 : opts.seconds,
    window: opts.window, batchMax: opts.batch, payloadBytes: opts.payloadBytes,
  }, (opts.seconds + 120) * 1000);
  measuring = false;
  const cpuUsPerEntry = ((clusterCpuSeconds() - cpuBefore) * 1e6) / Math.max(1, r.acked);
  const termAfter = (await cluster.status(leader).catch(() => null))?.term ?? -1;
  const seconds = r.durationMs / 1000;
  const result: Record<string, unknown> = {
    flush: opts.flush,
    payloadBytes: opts.payloadBytes,
    window: opts.window,
    committed: r.acked,
    failed: r.failed,
    seconds: +seconds.toFixed(3),
    entriesPerSec: Math.round(r.acked / seconds),
    mbPerSec: +((r.acked * opts.payloadBytes) / seconds / 1e6).toFixed(1),
    latencyMsP50: +r.latencyMsP50.toFixed(2),
    latencyMsP99: +r.latencyMsP99.toFixed(2),
    leaderChanges,
    termChanged: termAfter !== termBefore,
    cpuUsPerEntry: Number.isFinite(cpuUsPerEntry) ? +cpuUsPerEntry.toFixed(2) : null,
  };
  say(`committed ${r.acked} entries in ${seconds.toFixed(2)} s: ${result.entriesPerSec} entries/s, ${result.mbPerSec} MB/s, p50 ${result.latencyMsP50} ms, p99 ${result.latencyMsP99} ms, leader changes ${leaderChanges}, ${result.cpuUsPerEntry} CPU µs per entry (3 nodes)`);

  if (opts.failover) {
    await sleep(500);
    const term = (await cluster.status(leader)).term;
    const next = cluster.nextLeaderEvent(term, 10_000);
    const killedAt = performance.now();
    await cluster.kill(leader);
    const newLeader = await next;
    result.failoverMs = Math.round(performance.now() - killedAt);
    result.newLeader = newLeader;
    say(`SIGKILL ${leader}: ${newLeader} became leader after ${result.failoverMs} ms`);
  }
  if (opts.json) console.log(JSON.stringify(result));
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
} catch (err) {
  console.error(`bench failed: ${(err as Error).message} (node logs in ${dir})`);
  cluster.killAllSync();
  process.exitCode = 1;
}
