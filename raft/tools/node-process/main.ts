// One Raft node as an OS process: opens the mmap log under --dir, runs a RaftNode, and obeys a
// parent over the IPC channel (control-protocol.ts): status, a pipelined load when leader,
// checks of applied sequences, leadership transfer and a clean close. Used by the process test,
// the benchmark and the npm start demo.
//
//   node dist/raft/tools/node-process/main.js --id n0 --peers "n0-127.0.0.1:41001;..." --data-dir <d> [--flush sync|async]

import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { MmapLogStorage } from '../../storage/mmap-log-storage.js';
import { fileLayerFromEnv } from '../../storage/lazy-fs.js';
import type { FlushPolicy } from '../../storage/log-storage.js';
import { AppliedDigest } from './applied-digest.js';
import type { NodeEvent, NodeReport, ParentRequest } from './control-protocol.js';
import { LoadDriver } from './load-driver.js';
import { NodeProcessError } from './node-process-errors.js';
import { parsePeers } from '../../node/parse-peers.js';
import { RaftNode } from '../../node/raft-node.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
}

const program = new Command()
  .name('raft-node')
  .requiredOption('--id <id>', 'this node id, as in --peers')
  .requiredOption('--peers <peers>', 'DLedger-style peers: n0-127.0.0.1:41001;n1-...;n2-...')
  .requiredOption('--data-dir <dir>', 'data folder of the log (not --dir: node-pre-gyp, loaded by the mmap addon, reads --dir from process.argv)')
  .option('--group <name>', 'group name for logs', 'g0')
  .option('--flush <mode>', 'sync | async', 'async')
  .option('--flush-interval-ms <ms>', 'async flush interval', positiveInt, 200)
  .option('--segment-bytes <n>', 'log segment size', positiveInt, 256 * 1024 * 1024)
  .option('--tick-ms <ms>', 'tick interval', positiveInt, 10)
  .option('--election-ticks <n>', 'election timeout in ticks (randomized up to twice that)', positiveInt, 40)
  .option('--heartbeat-ticks <n>', 'heartbeat interval in ticks', positiveInt, 10)
  .option('--max-pending <n>', 'pending proposed entries before ERR_RAFT_BUSY', positiveInt, 100_000)
  .option('--max-app-bytes <n>', 'payload bytes per AppendEntries message', positiveInt, 512 * 1024)
  .option('--max-inflight-msgs <n>', 'AppendEntries messages in flight per follower', positiveInt, 256)
  .option('--warm-ahead-bytes <n>', 'bytes past the log end kept pre-faulted (0 = off)', (v) => Number(v), 32 * 1024 * 1024)
  .option('--no-verify-reads', 'skip the payload CRC check when applying entries read from the log')
  .option('--digest <kind>', 'full (CRC32 of every applied payload) | seq (sequence numbers only)', 'full')
  .parse();

const opts = program.opts<{
  id: string; peers: string; dataDir: string; group: string; flush: string; flushIntervalMs: number; segmentBytes: number;
  tickMs: number; electionTicks: number; heartbeatTicks: number; maxPending: number; maxAppBytes: number;
  maxInflightMsgs: number; verifyReads: boolean; digest: string; warmAheadBytes: number;
}>();

if (opts.flush !== 'sync' && opts.flush !== 'async') program.error(`--flush must be sync or async, got "${opts.flush}"`);
const flush: FlushPolicy = opts.flush === 'sync' ? { mode: 'sync' } : { mode: 'async', intervalMs: opts.flushIntervalMs };
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
const send = (e: NodeEvent): void => {
  if (process.connected) process.send?.(e);
};

const peers = parsePeers(opts.peers);
const storage = MmapLogStorage.open(opts.dataDir, { segmentBytes: opts.segmentBytes, verifyReads: opts.verifyReads, fileLayer: fileLayerFromEnv(process.env) });
if (opts.digest !== 'full' && opts.digest !== 'seq') program.error(`--digest must be full or seq, got "${opts.digest}"`);
const digest = new AppliedDigest(opts.digest === 'full');
const node = new RaftNode({
  id: opts.id,
  group: opts.group,
  peers,
  storage,
  flush,
  logger,
  tickMs: opts.tickMs,
  electionTicks: opts.electionTicks,
  heartbeatTicks: opts.heartbeatTicks,
  maxPendingEntries: opts.maxPending,
  maxAppBytes: opts.maxAppBytes,
  maxInflightMsgs: opts.maxInflightMsgs,
  warmAheadBytes: opts.warmAheadBytes,
  onApply: (entries) => digest.onApply(entries),
});
node.on('role', (c: { role: NodeReport['role']; leader: string; term: number }) => send({ t: 'role', id: opts.id, ...c }));
// Fail-stop: the node already logged the storage error and stopped itself; exit non-zero (3).
node.on('fatal', (err: Error) => {
  console.error(`raft node ${opts.id} stopped: ${err.message}`);
  process.exit(3);
});

let driver: LoadDriver | null = null;
// Acknowledged ranges are merged and pushed to the parent a few times a second, not per batch.
let ackRanges: number[] = [];
const ackTimer = setInterval(flushAcks, 50);
function flushAcks(): void {
  if (ackRanges.length === 0) return;
  send({ t: 'acked', id: opts.id, ranges: ackRanges });
  ackRanges = [];
}
function noteAck(lo: number, hi: number): void {
  const n = ackRanges.length;
  if (n > 0 && ackRanges[n - 1] === lo - 1) ackRanges[n - 1] = hi;
  else ackRanges.push(lo, hi);
}

function report(): NodeReport {
  const s = node.status();
  let droppedFrames = 0;
  for (const p of Object.values(s.transport.peers)) droppedFrames += p.droppedFrames;
  return {
    id: opts.id, pid: process.pid, role: s.role, leader: s.leader, term: s.term, commit: s.commit, applied: node.applied,
    lastIndex: s.lastIndex, appliedEntries: digest.appliedEntries, appliedHash: digest.hash, droppedFrames,
  };
}

async function handle(req: ParentRequest): Promise<unknown> {
  switch (req.t) {
    case 'status':
      return report();
    case 'load': {
      if (driver) throw new NodeProcessError('ERR_DEMO_LOAD_RUNNING', 'a load is already running; wait for it or stop it first');
      driver = new LoadDriver(node, req.spec, noteAck);
      try {
        return await driver.run();
      } finally {
        driver = null;
        flushAcks();
      }
    }
    case 'stop-load':
      driver?.stop();
      return null;
    case 'check':
      return digest.check(req.ranges);
    case 'transfer':
      await node.transferLeadership(req.to);
      return null;
    case 'close':
      await shutdown();
      return null;
  }
}

let closing: Promise<void> | null = null;
function shutdown(): Promise<void> {
  closing ??= (async () => {
    clearInterval(ackTimer);
    driver?.stop();
    flushAcks();
    await node.close();
  })();
  return closing;
}

process.on('message', (raw: unknown) => {
  const req = raw as ParentRequest;
  handle(req).then(
    (value) => send({ t: 'reply', rid: req.rid, ok: true, value }),
    (err: { code?: string; message?: string }) => send({ t: 'reply', rid: req.rid, ok: false, code: err.code ?? 'ERR_DEMO_UNKNOWN', message: err.message ?? String(err) }),
  ).finally(() => {
    if (req.t === 'close') process.disconnect?.();
  });
});
// Orphaned by the parent (it died or closed the channel): stop cleanly rather than linger.
process.on('disconnect', () => void shutdown().then(() => process.exit(0)));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void shutdown().then(() => process.exit(0)));

await node.start();
send({ t: 'started', id: opts.id, pid: process.pid });
