// A micro-benchmark of the store on one core over the real mmap Raft log: 1 KiB messages with
// TAGS, KEYS and UNIQ_KEY, spread over 8 queues, appended in entries of `--batch` messages; then
// measures dispatch (CQ + IndexFile) and reads by queue offset (32 per pull). Rates use wall time
// and process CPU time (the latter is what matters on a machine shared with other processes).
// Run: npx tsc -p . && node dist/src/store/bench-store.js [--messages N] [--batch B] [--body BYTES] [--json]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry } from '../../raft/index.js';
import { MmapLogStorage } from '../../raft/storage/index.js';
import { encodeMessageRecords, type MessageRecord } from './message-record.js';
import { formatProperties } from './message-properties.js';
import { MessageStore } from './message-store.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const total = arg('messages', 200_000);
const batch = arg('batch', 1);
const bodyBytes = arg('body', 1024);
const queues = 8;
const json = process.argv.includes('--json');

function measure(fn: () => number): { count: number; wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const count = fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { count, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
try {
  const log = MmapLogStorage.open(join(dir, 'raft'), { segmentBytes: 1024 * 1024 * 1024, indexSegmentEntries: 1024 * 1024 });
  const body = Buffer.alloc(bodyBytes, 7);
  let n = 0;
  let recordBytes = 0;
  for (let index = 1; n < total; index++) {
    const ms: MessageRecord[] = [];
    for (let j = 0; j < batch && n < total; j++, n++) {
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
  const store = MessageStore.open(join(dir, 'store'), log, { index: { slotCount: 500_000, maxEntries: 2_000_000 } });
  const dispatch = measure(() => {
    store.dispatchUpTo(log.lastIndex());
    return total;
  });
  const read = measure(() => {
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
  });
  if (read.count !== total) throw new Error(`read ${read.count} messages, expected ${total}`);
  store.close();
  log.close();
  const rate = (m: { count: number; wallMs: number; cpuMs: number }) => ({
    msgsPerSec: Math.round(m.count / (m.wallMs / 1000)),
    msgsPerCpuSec: Math.round(m.count / (m.cpuMs / 1000)),
    mbPerSec: Math.round((recordBytes / 1e6 / (m.wallMs / 1000)) * 10) / 10,
    wallMs: Math.round(m.wallMs),
    cpuMs: Math.round(m.cpuMs),
  });
  const result = { messages: total, batch, bodyBytes, queues, dispatch: rate(dispatch), readByQueueOffset: rate(read) };
  if (json) console.log(JSON.stringify(result));
  else console.log(result);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
