// A micro-benchmark of MmapLogStorage on one core: appends 1 KiB entries in batches (one pwrite
// per batch), reads them back (views of the mapping; the payload CRC is not re-checked for
// entries this process wrote), syncs, reopens (recovery verifies the tail), and prints rates.
// `--warm 1` calls warmAhead first, which now only creates the files ahead (no page touching).
// Run: npx tsc -p . && node dist/raft/storage/bench-append.js [--entries N] [--batch B] [--payload BYTES] [--warm 0|1]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../core/types.js';
import { MmapLogStorage } from '../../storage/mmap-log-storage.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const total = arg('entries', 400_000);
const batch = arg('batch', 64);
const payloadBytes = arg('payload', 1024);
const warm = arg('warm', 1) !== 0;
const dir = mkdtempSync(join(tmpdir(), 'raft-log-bench-'));
try {
  const log = MmapLogStorage.open(dir, { segmentBytes: 1024 * 1024 * 1024, indexSegmentEntries: 1024 * 1024 });
  const payload = new Uint8Array(payloadBytes).fill(7);
  const batches: Entry[][] = [];
  for (let i = 0; i < batch; i++) batches.push([]);
  // warmAhead creates the files the run needs; it no longer faults pages in (see warmAhead).
  const t0 = process.hrtime.bigint();
  if (warm) log.warmAhead(Math.min((total + 1) * (payloadBytes + 64), 1024 * 1024 * 1024));
  const warmMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const entries: Entry[] = [];
  for (let i = 0; i < batch; i++) entries.push({ index: 0, term: 1, type: 0, payload });
  const t1 = process.hrtime.bigint();
  for (let next = 1; next <= total; next += batch) {
    const n = Math.min(batch, total - next + 1);
    const slice = n === batch ? entries : entries.slice(0, n);
    for (let i = 0; i < n; i++) slice[i]!.index = next + i;
    log.append(slice);
  }
  const appendNs = Number(process.hrtime.bigint() - t1);

  const t2 = process.hrtime.bigint();
  let read = 0;
  for (let lo = 1; lo <= total; ) {
    const got = log.entries(lo, total + 1, 256 * 1024);
    read += got.length;
    lo += got.length;
  }
  const readNs = Number(process.hrtime.bigint() - t2);
  const t3 = process.hrtime.bigint();
  log.sync();
  const syncMs = Number(process.hrtime.bigint() - t3) / 1e6;
  log.close();
  const t4 = process.hrtime.bigint();
  const reopened = MmapLogStorage.open(dir, { segmentBytes: 1024 * 1024 * 1024, indexSegmentEntries: 1024 * 1024 });
  const reopenMs = Number(process.hrtime.bigint() - t4) / 1e6;
  if (reopened.lastIndex() !== total) throw new Error(`reopened with ${reopened.lastIndex()} entries, expected ${total}`);
  reopened.close();
  const result = {
    entries: total,
    batch,
    payloadBytes,
    warmMs: Math.round(warmMs),
    appendPerSec: Math.round(total / (appendNs / 1e9)),
    appendMBPerSec: Math.round((total * payloadBytes) / (appendNs / 1e3)),
    readPerSec: Math.round(read / (readNs / 1e9)),
    syncMs: Math.round(syncMs),
    reopenMs: Math.round(reopenMs),
    recoveryScannedEntries: reopened.recovery.scannedEntries,
  };
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
