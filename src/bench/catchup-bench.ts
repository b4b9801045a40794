// `rmq bench catchup --local`: do reads of an old backlog hurt writes, and does sending the
// lagging consumer to a follower (slaveReadEnable, broker/follower-reads.ts) help? For each variant
// (offload off, then on) a fresh local group is filled with a backlog, then a steady producer runs
// alone (the baseline) and then while a push consumer of a new group catches up from the first
// offset. Reported per window: the producer's send rate and latency (its sends go to the leader),
// each broker's CPU, and how many messages each node served to pulls (its /metrics counter), so
// the leader's share of the catch-up reads shows. The threshold that makes a pull "lagging" is
// set (slaveReadLagThresholdBytes) so a backlog that fits this machine triggers the rule.
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Producer, PushConsumer } from '../client/index.js';
import { pollWithin } from '../common/poll.js';
import { openTarget, type BenchTarget } from './bench-target.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { PayloadFactory } from './payload.js';
import { runProduce } from './produce-phase.js';

export interface CatchupOptions {
  /** Messages in the backlog the consumer catches up on. */
  backlog: number;
  sizeBytes: number;
  queues: number;
  /** Sends outstanding in the steady producer (closed loop). */
  inFlight: number;
  /** Length of the producer-only baseline window. */
  baselineSeconds: number;
  /** Bound of the catch-up window. */
  maxSeconds: number;
  /** Pull lag (bytes behind the end of the log) past which a consumer is sent to a follower. */
  lagThresholdBytes: number;
  variants: ('off' | 'on')[];
  brokerNodeOptions?: string | undefined;
  tag?: string | undefined;
  onResult?: (r: CatchupResult) => void;
}

export interface WindowFigures extends LatencySummary {
  seconds: number;
  sends: number;
  send_msgs_per_s: number;
  /** CPU seconds per second of each broker during the window. */
  broker_cpu_share: Record<string, number | null>;
}

export interface CatchupResult {
  variant: 'off' | 'on';
  backlog: number;
  size: number;
  lag_threshold_bytes: number;
  leader: string | null;
  baseline: WindowFigures;
  catchup: WindowFigures & {
    consumed: number;
    caught_up: boolean;
    consume_msgs_per_s: number;
    /** Messages each node returned to pulls of the topic during the catch-up. */
    served_by_node: Record<string, number | null>;
  };
  load_avg_1m: number;
  tag: string;
}

const STEADY_LATENCY_CAPACITY = 2_000_000;
const CONSUMER_GROUP = 'bench_catchup';
/** How long the topic's exact route may take to reach the NameServer; the run goes on after it either way. */
const ROUTE_WAIT_MS = 30_000;

export async function runCatchup(o: CatchupOptions): Promise<CatchupResult[]> {
  const out: CatchupResult[] = [];
  for (const variant of o.variants) {
    const r = await runVariant(o, variant);
    out.push(r);
    o.onResult?.(r);
  }
  return out;
}

async function runVariant(o: CatchupOptions, variant: 'off' | 'on'): Promise<CatchupResult> {
  const target = await openTarget({
    local: true,
    flush: 'async',
    brokerNodeOptions: o.brokerNodeOptions,
    brokerConf: { slaveReadEnable: String(variant === 'on'), slaveReadLagThresholdBytes: String(o.lagThresholdBytes) },
  });
  const payload = new PayloadFactory(o.sizeBytes);
  const topic = `Catchup_${variant}_${Date.now().toString(36)}`;
  try {
    const admin = new Admin({ namesrvAddr: target.namesrvAddr });
    await admin.start();
    try {
      await admin.createTopic(topic, { writeQueueNums: o.queues, readQueueNums: o.queues });
      // Wait for the exact route (see run-bench.ts createTopic): bounded by 30 s.
      await pollWithin(ROUTE_WAIT_MS, async () => {
        const route = await admin.topicRoute(topic).catch(() => undefined);
        return (route?.queueDatas.reduce((s, q) => s + q.writeQueueNums, 0) ?? 0) === o.queues ? true : undefined;
      }, { intervalMs: 100 });
    } finally {
      await admin.shutdown();
    }
    const producer = new Producer({ namesrvAddr: target.namesrvAddr, producerGroup: 'bench_catchup_producer', compressMsgBodyOverBytes: Number.POSITIVE_INFINITY });
    await producer.start();
    try {
      const filled = await runProduce(producer, { topic, n: o.backlog, mode: 'pipelined', inFlight: 256, batch: 1, maxMs: o.maxSeconds * 1000, payload });
      const baseline = await steadyWindow(producer, target, topic, payload, o, o.backlog, async () => sleep(o.baselineSeconds * 1000));
      const servedBefore = await served(target, topic);
      let consumed = 0;
      let caughtUp = false;
      const consumer = new PushConsumer({
        namesrvAddr: target.namesrvAddr,
        consumerGroup: CONSUMER_GROUP,
        consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
        pullBatchSize: 32,
        handler: () => {
          consumed++;
        },
      });
      consumer.subscribe(topic, '*');
      const t0 = performance.now();
      const window = await steadyWindow(producer, target, topic, payload, o, o.backlog + baseline.sends, async () => {
        await consumer.start();
        // Bounded by --max-seconds from t0: polls the handler's count every 50 ms.
        await pollWithin(Math.max(0, t0 + o.maxSeconds * 1000 - performance.now()), () => (consumed >= filled.acked ? true : undefined), { intervalMs: 50 });
        caughtUp = consumed >= filled.acked;
      });
      await consumer.shutdown();
      const servedAfter = await served(target, topic);
      const servedByNode: Record<string, number | null> = {};
      for (const [node, after] of Object.entries(servedAfter)) {
        const before = servedBefore[node];
        servedByNode[node] = after === null || before === null || before === undefined ? null : after - before;
      }
      const snapshot = await target.raftSnapshot();
      return {
        variant,
        backlog: filled.acked,
        size: o.sizeBytes,
        lag_threshold_bytes: o.lagThresholdBytes,
        leader: snapshot.leader,
        baseline,
        catchup: { ...window, consumed, caught_up: caughtUp, consume_msgs_per_s: round2(consumed / window.seconds), served_by_node: servedByNode },
        load_avg_1m: round2(loadavg()[0] ?? 0),
        tag: o.tag ?? '',
      };
    } finally {
      await producer.shutdown();
    }
  } finally {
    await target.close();
  }
}

/** Runs the steady producer (W sends outstanding) while `during` runs; its figures for that window. */
async function steadyWindow(producer: Producer, target: BenchTarget, topic: string, payload: PayloadFactory, o: CatchupOptions, firstSeq: number, during: () => Promise<void>): Promise<WindowFigures> {
  const latency = new LatencyRecorder(STEADY_LATENCY_CAPACITY);
  let stop = false;
  let seq = firstSeq;
  let sends = 0;
  const cpuBefore = target.cpuSeconds();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    // Ends when `during` does (stop), or at the latency buffer's capacity.
    while (!stop && sends < STEADY_LATENCY_CAPACITY) {
      const s = performance.now();
      try {
        await producer.send({ topic, body: payload.make(seq++) });
        latency.record(performance.now() - s);
        sends++;
      } catch {
        await sleep(10);
      }
    }
  };
  const workers = Array.from({ length: o.inFlight }, worker);
  try {
    await during();
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuAfter = target.cpuSeconds();
  const share: Record<string, number | null> = {};
  for (const [node, b] of Object.entries(cpuBefore)) {
    const a = cpuAfter[node];
    share[node] = a === null || a === undefined || b === null ? null : round2((a - b) / seconds);
  }
  return { seconds: round2(seconds), sends, send_msgs_per_s: round2(sends / seconds), ...latency.summary(), broker_cpu_share: share };
}

/** rmq_messages_got_total of the topic on each local node (null when its endpoint does not answer). */
async function served(target: BenchTarget, topic: string): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  await Promise.all(Object.entries(target.metricsAddrs()).map(async ([node, addr]) => {
    try {
      const res = await fetch(`http://${addr}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      let sum = 0;
      for (const line of text.split('\n')) if (line.startsWith('rmq_messages_got_total{') && line.includes(`topic="${topic}"`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      out[node] = sum;
    } catch {
      out[node] = null;
    }
  }));
  return out;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
