// A micro-benchmark of the client SDK alone: the Producer and PullConsumer against a stub broker
// (stub-broker.ts, a child process that acknowledges sends and answers pulls at once), so the
// CPU this process spends per message is the SDK's (plus the benchmark's payload work), without
// three Raft brokers competing for the cores. Phases: pipelined single sends, batch sends, and
// pulls of pre-built 1 KiB records.
// Run: npx tsc -p . && node dist/src/bench/client-bench.js [--messages N] [--inflight W]
//      [--batch B] [--pull P] [--json-headers] [--phases send,batch,pull] [--json]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Producer, PullConsumer, type MessageQueue } from '../client/index.js';
import { PayloadFactory } from './payload.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function strArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const total = arg('messages', 100_000);
const inFlight = arg('inflight', 256);
const batch = arg('batch', 32);
const pullBatch = arg('pull', 256);
const binaryHeaders = !process.argv.includes('--json-headers');
const phases = strArg('phases', 'send,batch,pull').split(',');
const json = process.argv.includes('--json');

interface PhaseResult {
  phase: string;
  messages: number;
  msgsPerS: number;
  cpuUsPerMsg: number;
  userUsPerMsg: number;
  systemUsPerMsg: number;
}

async function measure(phase: string, run: () => Promise<number>): Promise<PhaseResult> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const messages = await run();
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const per = (us: number): number => Math.round((us / messages) * 100) / 100;
  return { phase, messages, msgsPerS: Math.round(messages / wallS), cpuUsPerMsg: per(c.user + c.system), userUsPerMsg: per(c.user), systemUsPerMsg: per(c.system) };
}

async function startStub(): Promise<{ addr: string; stop: () => Promise<void> }> {
  const script = fileURLToPath(new URL('./stub-broker.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return {
    addr: `127.0.0.1:${port}`,
    stop: async () => {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

async function sendPhase(producer: Producer, topic: string, payload: PayloadFactory, perRequest: number): Promise<number> {
  let next = 0;
  let acked = 0;
  // Each worker keeps one request outstanding; the loop ends because `next` only grows to total.
  const worker = async (): Promise<void> => {
    while (next < total) {
      const first = next;
      const count = Math.min(perRequest, total - first);
      next += count;
      if (perRequest === 1) await producer.send({ topic, body: payload.make(first) });
      else await producer.sendBatch(Array.from({ length: count }, (_, k) => ({ topic, body: payload.make(first + k) })));
      acked += count;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return acked;
}

async function pullPhase(consumer: PullConsumer, queues: readonly MessageQueue[]): Promise<number> {
  let consumed = 0;
  let bytes = 0;
  const perQueue = Math.ceil(total / queues.length);
  const readQueue = async (mq: MessageQueue): Promise<void> => {
    // Bounded: every pull advances the offset by at least one record.
    for (let offset = 0; offset < perQueue; ) {
      const r = await consumer.pull(mq, offset, Math.min(pullBatch, perQueue - offset));
      for (const m of r.messages) bytes += m.body.length + (m.queueOffset >= 0 ? 0 : 1);
      consumed += r.messages.length;
      offset = Math.max(offset + 1, r.nextBeginOffset);
    }
  };
  await Promise.all(queues.map(readQueue));
  if (bytes === 0) throw new Error('the pulls returned no bodies');
  return consumed;
}

async function main(): Promise<void> {
  const stub = await startStub();
  const payload = new PayloadFactory(1024);
  const results: PhaseResult[] = [];
  try {
    const producer = new Producer({ namesrvAddr: stub.addr, producerGroup: 'client_bench', binaryHeaders, compressMsgBodyOverBytes: Number.POSITIVE_INFINITY });
    await producer.start();
    await producer.send({ topic: 'StubTopic', body: payload.make(0) });
    if (phases.includes('send')) results.push(await measure('send', () => sendPhase(producer, 'StubTopic', payload, 1)));
    if (phases.includes('batch')) results.push(await measure(`batch${batch}`, () => sendPhase(producer, 'StubTopic', payload, batch)));
    await producer.shutdown();
    if (phases.includes('pull')) {
      const consumer = new PullConsumer({ namesrvAddr: stub.addr, consumerGroup: 'client_bench', binaryHeaders });
      await consumer.start();
      const queues = await consumer.fetchQueues('StubTopic');
      results.push(await measure(`pull${pullBatch}`, () => pullPhase(consumer, queues)));
      await consumer.shutdown();
    }
  } finally {
    await stub.stop();
  }
  for (const r of results) {
    if (json) console.log(JSON.stringify({ ...r, headers: binaryHeaders ? 'binary' : 'json' }));
    else console.log(`${r.phase.padEnd(8)} ${String(r.messages).padStart(8)} msgs  ${String(r.msgsPerS).padStart(8)} msgs/s  cpu ${r.cpuUsPerMsg.toFixed(2)} us/msg (user ${r.userUsPerMsg.toFixed(2)}, sys ${r.systemUsPerMsg.toFixed(2)})`);
  }
}

await main();
