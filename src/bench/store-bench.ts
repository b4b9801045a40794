// A micro-benchmark of the store on one core over the real mmap Raft log: 1 KiB messages with
// TAGS, KEYS and UNIQ_KEY, spread over 8 queues. It measures dispatch (ConsumeQueue + IndexFile)
// with one message per Raft entry (the common send) and with `--batch` messages per entry (batch
// sends), then reads by queue offset (32 per pull) on the first store, twice. Then the cost of the
// flush that follows a dispatch of all messages, on the event loop: blocking (`flush`, as close()
// and retention do) on the first store, in the thread pool (`flushInBackground`, the periodic one)
// on the second, with the same amount of dirty data. Rates use wall time and process CPU time
// (user + system; the latter is what matters on a machine shared with others).
// Run: npx tsc -p . && node dist/src/bench/store-bench.js [--messages N] [--batch B] [--body BYTES]
//      [--no-verify (the log skips its payload CRC on reads)] [--json]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, MmapLogStorage, type Entry } from '../../raft/index.js';
import { encodeMessageRecords, type MessageRecord } from '../common/message/message-record.js';
import { formatProperties } from '../common/message/message-properties.js';
import { MessageStore } from '../store/message-store.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const total = arg('messages', 200_000);
const batch = arg('batch', 32);
const bodyBytes = arg('body', 1024);
const queues = 8;
const json = process.argv.includes('--json');
const verifyReads = !process.argv.includes('--no-verify');

interface Measured {
  count: number;
  wallMs: number;
  userMs: number;
  systemMs: number;
}

function measure(fn: () => number): Measured {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const count = fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { count, wallMs, userMs: c.user / 1000, systemMs: c.system / 1000 };
}

function rate(m: Measured, bytes: number) {
  const cpuMs = m.userMs + m.systemMs;
  return {
    msgsPerSec: Math.round(m.count / (m.wallMs / 1000)),
    msgsPerCpuSec: Math.round(m.count / (cpuMs / 1000)),
    mbPerSec: Math.round((bytes / 1e6 / (m.wallMs / 1000)) * 10) / 10,
    wallMs: Math.round(m.wallMs),
    cpuMs: Math.round(cpuMs),
    systemMs: Math.round(m.systemMs),
  };
}

/** A log of `total` messages, `perEntry` per Raft entry; returns it with the record bytes. */
function buildLog(dir: string, perEntry: number): { log: MmapLogStorage; recordBytes: number } {
  const log = MmapLogStorage.open(dir, { segmentBytes: 1024 * 1024 * 1024, indexSegmentEntries: 1024 * 1024, verifyReads });
  const body = Buffer.alloc(bodyBytes, 7);
  let n = 0;
  let recordBytes = 0;
  for (let index = 1; n < total; index++) {
    const ms: MessageRecord[] = [];
    for (let j = 0; j < perEntry && n < total; j++, n++) {
      ms.push({
        topic: 'BenchTopic', queueId: n % queues, flag: 0, queueOffset: 0, physicalOffset: -1, sysFlag: 0,
        bornTimestamp: 1_700_000_000_000 + n, bornHost: '127.0.0.1', bornPort: 40000, storeTimestamp: 1_700_000_000_000 + n,
        storeHost: '127.0.0.1', storePort: 10911, reconsumeTimes: 0, preparedTransactionOffset: 0, body,
        properties: formatProperties({ TAGS: 'TagA', KEYS: `order-${n}`, UNIQ_KEY: `U${n}` }),
      });
    }
    const payload = encodeMessageRecords(ms);
    recordBytes += payload.length;
    const entry: Entry = { index, term: 1, type: EntryType.Normal, payload };
    log.append([entry]);
  }
  return { log, recordBytes };
}

function openStore(root: string, log: MmapLogStorage): MessageStore {
  return MessageStore.open(root, log, { index: { slotCount: 500_000, maxEntries: 2_000_000 } });
}

const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
try {
  // One message per entry: dispatch, then reads by queue offset.
  const single = buildLog(join(dir, 'raft-1'), 1);
  const store = openStore(join(dir, 'store-1'), single.log);
  const dispatch = measure(() => {
    store.dispatchUpTo(single.log.lastIndex());
    return store.getMaxOffsetInQueue('BenchTopic', 0) * queues;
  });
  const readAll = (): number => {
    let count = 0;
    for (let q = 0; q < queues; q++) {
      // Bounded: each FOUND pull advances the offset by at least one.
      for (let offset = 0; ; ) {
        const r = store.getMessage('BenchTopic', q, offset, 32, 256 * 1024);
        if (r.status !== 'FOUND') break;
        count += r.messages.length;
        offset = r.nextBeginOffset;
      }
    }
    return count;
  };
  // The first pass follows dispatch at once (as a consumer tailing the queue does); the second
  // shows the steady state, once the process has memory for bodies instead of faulting it in.
  const read = measure(readAll);
  const readAgain = measure(readAll);
  if (read.count !== total || readAgain.count !== total || dispatch.count !== total) throw new Error(`dispatched ${dispatch.count} and read ${read.count} messages, expected ${total}`);
  const flushBlocking = measure(() => {
    store.flush(0);
    return 1;
  });
  store.close();
  single.log.close();

  // `batch` messages per entry (batch sends): dispatch only.
  const batched = buildLog(join(dir, 'raft-b'), batch);
  const batchedStore = openStore(join(dir, 'store-b'), batched.log);
  const dispatchBatched = measure(() => {
    batchedStore.dispatchUpTo(batched.log.lastIndex());
    return batchedStore.getMaxOffsetInQueue('BenchTopic', 0) * queues;
  });
  // The event loop's share of a background flush, then the wall time until it is durable.
  let background: Promise<Error | null> | undefined;
  const flushBackground = measure(() => {
    background = new Promise((resolve) => {
      if (!batchedStore.flushInBackground(0, resolve)) throw new Error('a background flush was already in flight');
    });
    return 1;
  });
  const t0 = process.hrtime.bigint();
  const flushErr = await background!;
  if (flushErr) throw flushErr;
  const backgroundDoneMs = Number(process.hrtime.bigint() - t0) / 1e6 + flushBackground.wallMs;
  batchedStore.close();
  batched.log.close();

  const result = {
    messages: total,
    bodyBytes,
    queues,
    logVerifiesReads: verifyReads,
    dispatch: rate(dispatch, single.recordBytes),
    dispatchBatched: { messagesPerEntry: batch, ...rate(dispatchBatched, batched.recordBytes) },
    readByQueueOffset: rate(read, single.recordBytes),
    readByQueueOffsetSecondPass: rate(readAgain, single.recordBytes),
    // Event-loop time of the flush after dispatching every message (ms).
    flushBlockingMs: Math.round(flushBlocking.wallMs * 10) / 10,
    flushBackgroundEventLoopMs: Math.round(flushBackground.wallMs * 10) / 10,
    flushBackgroundDoneMs: Math.round(backgroundDoneMs * 10) / 10,
  };
  if (json) console.log(JSON.stringify(result));
  else console.log(result);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
