// One benchmark run: opens the target cluster, then for each send mode creates a fresh topic,
// publishes, reads everything back (e2e) and reports one result line in the peers' field names
// (the same workload the JetStream and etcd comparison runs use, docs/performance.md), plus what the run did to the cluster: peak broker RSS and
// leader changes. `consume` alone re-reads a topic an earlier `produce` filled.
import { loadavg } from 'node:os';
import { Admin, Producer, PullConsumer } from '../client/index.js';
import { assert } from '../common/assert.js';
import { mapPollError, pollUntil } from '../common/poll.js';
import { BenchSetupError, BenchVerificationError } from './bench-errors.js';
import { openTarget, type BenchTarget, type BrokerRss, type RaftSnapshot } from './bench-target.js';
import { isVerified, runConsume, type ConsumeOutcome } from './consume-phase.js';
import { PayloadFactory } from './payload.js';
import type { Placement } from './placement.js';
import { runProduce, type ProduceOutcome, type SendMode } from './produce-phase.js';
import { createProgress, type Progress } from './progress.js';
import { startGrpcSender } from './grpc-sender.js';

export type BenchCommandName = 'produce' | 'consume' | 'e2e';

export interface BenchOptions {
  command: BenchCommandName;
  /** Start a NameServer and one 3-node group as child processes. */
  local: boolean;
  /**
   * With `local`: this many 3-node groups (leaders on different processes); each phase's topic
   * gets its `queues` spread over them (ceil(queues / groups) per group). Default 1.
   */
  groups?: number | undefined;
  namesrvAddr?: string | undefined;
  flush: 'async' | 'sync';
  /** Phases run in this order, each on its own topic. */
  modes: SendMode[];
  n: number;
  /** Message count of sync phases (default n). */
  nSync?: number | undefined;
  sizeBytes: number;
  inFlight: number;
  batch: number;
  queues: number;
  /**
   * Topic to use (required by `consume`, which verifies a topic one `produce` run filled);
   * default a fresh name per phase. `produce` creates or updates it with `queues` queues.
   */
  topic?: string | undefined;
  pullBatch: number;
  maxSeconds: number;
  /** Our binary header type (default) or JSON headers as RocketMQ's Java clients send. */
  binaryHeaders: boolean;
  sendTimeoutMs: number;
  /** Let the producer deflate bodies over 4 KiB (its default); off by default, as the peers send raw bytes. */
  compress?: boolean | undefined;
  progress: boolean;
  keepData: boolean;
  brokerNodeOptions?: string | undefined;
  /** dist/ of another build to run the local servers from (A/B comparisons). */
  distDir?: string | undefined;
  /** Free text copied into every result line. */
  tag?: string | undefined;
  /** Receives each result line as it is produced. */
  onResult?: (r: BenchResult) => void;
  /** Publish through remoting (default) or a node's RocketMQ 5 gRPC endpoint (grpc-sender.ts). */
  protocol?: 'remoting' | 'grpc' | undefined;
  /** host:port of the gRPC endpoint of an existing cluster (--local uses its leader's). */
  grpcEndpoint?: string | undefined;
}

export const BENCH_DEFAULTS = {
  n: 100_000,
  sizeBytes: 1024,
  inFlight: 256,
  batch: 1,
  queues: 8,
  pullBatch: 256,
  maxSeconds: 150,
  sendTimeoutMs: 10_000,
} as const;

export interface BenchResult {
  peer: string;
  mode: SendMode | 'consume';
  /** Raft groups written to (the peers' "parts"): --groups with --local, else 1. */
  parts: number;
  w: number;
  n: number;
  size: number;
  msgs_per_s: number | null;
  mb_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  p999_ms: number | null;
  max_ms: number | null;
  consume_msgs_per_s: number | null;
  verified: boolean | null;
  in_order: boolean | null;
  batch: number;
  queues: number;
  flush: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  headers: 'binary' | 'json';
  compressed: boolean;
  topic: string;
  failed: number;
  first_error: string | null;
  consumed: number | null;
  read_back: Omit<ConsumeOutcome, 'consumed' | 'elapsedS' | 'queues'> | null;
  publish_s: number | null;
  consume_s: number | null;
  term_before: number | null;
  term_after: number | null;
  leader_before: string | null;
  leader_after: string | null;
  /** CPU µs per acknowledged message while publishing: each broker, this client, and all together. */
  publish_cpu_us_per_msg: Record<string, number | null> | null;
  /** The same while reading back (each broker, this client, all). */
  consume_cpu_us_per_msg: Record<string, number | null> | null;
  /** Minor page faults per acknowledged message while publishing, each broker (first touches of fresh memory). */
  publish_minor_faults_per_msg: Record<string, number | null> | null;
  /** Term increases during the phase: 0 means the leader never changed. */
  leader_changes: number | null;
  broker_peak_rss_mb: Record<string, number | null>;
  /** At the end of the phase: anonymous vs file-backed (mapped log) RSS per broker. */
  broker_rss_split_mb: Record<string, { anon: number | null; file: number | null }>;
  load_avg_1m: number;
  tag: string;
}

const ROUTE_WAIT_MS = 30_000;

export function peerName(flush: 'async' | 'sync'): string {
  return flush === 'sync' ? 'rmq-raft-r3-syncflush' : 'rmq-raft-r3';
}

export async function runBench(o: BenchOptions): Promise<BenchResult[]> {
  checkOptions(o);
  const target = await openTarget({ local: o.local, groups: o.groups, namesrvAddr: o.namesrvAddr, flush: o.flush, brokerNodeOptions: o.brokerNodeOptions, keepData: o.keepData, distDir: o.distDir, grpc: o.protocol === 'grpc', grpcEndpoint: o.grpcEndpoint });
  const progress = createProgress(o.progress);
  const payload = new PayloadFactory(o.sizeBytes);
  const results: BenchResult[] = [];
  try {
    const phases: (SendMode | 'consume')[] = o.command === 'consume' ? ['consume'] : o.modes;
    for (const mode of phases) {
      const r = await runPhase(o, target, payload, progress, mode);
      results.push(r);
      o.onResult?.(r);
    }
  } finally {
    progress.finish();
    await target.close();
  }
  const bad = results.filter((r) => r.verified === false);
  if (bad.length > 0) {
    throw new BenchVerificationError(`read-back did not match the acknowledged messages in ${bad.map((r) => `${r.mode} (${JSON.stringify(r.read_back)})`).join(', ')}`);
  }
  return results;
}

function checkOptions(o: BenchOptions): void {
  assert(o.n > 0 && o.sizeBytes >= 8 && o.inFlight >= 1 && o.batch >= 1 && o.queues >= 1 && o.pullBatch >= 1, 'bench options out of range (the CLI checks them)');
  if (o.command === 'consume' && o.topic === undefined) throw new BenchSetupError('`bench consume` reads an existing topic: give --topic (the one a `bench produce --topic` filled)');
  if (o.command === 'consume' && o.local) throw new BenchSetupError('`bench consume` needs the cluster an earlier `bench produce` filled: use -n <namesrv>, not --local');
  if (o.command !== 'consume' && o.topic !== undefined && o.modes.length > 1) throw new BenchSetupError('--topic names one topic, so give one --mode with it');
  if ((o.groups ?? 1) > 1 && !o.local) throw new BenchSetupError('--groups starts that many groups with --local; an existing cluster (-n) is used as it is');
  if (o.protocol === 'grpc' && o.batch > 1) throw new BenchSetupError('--protocol grpc sends one message per request; leave --batch at 1');
  if (o.protocol === 'grpc' && !o.local && (o.grpcEndpoint ?? '') === '') throw new BenchSetupError('--protocol grpc against an existing cluster needs --grpc-endpoint <host:port> (a node\'s grpcListenPort)');
}

async function runPhase(o: BenchOptions, target: BenchTarget, payload: PayloadFactory, progress: Progress, mode: SendMode | 'consume'): Promise<BenchResult> {
  const topic = o.topic ?? `Bench_${mode}_${Date.now().toString(36)}`;
  // A named topic is created or updated too (UPDATE_AND_CREATE_TOPIC is an upsert), so it has --queues queues.
  if (mode !== 'consume') await createTopic(target.namesrvAddr, topic, queuesPerGroup(o));
  const before = await target.raftSnapshot();
  target.resetPeakRss();
  const maxMs = o.maxSeconds * 1000;
  let produced: ProduceOutcome | undefined;
  let consumed: ConsumeOutcome | undefined;
  let cpu: Record<string, number | null> | null = null;
  let consumeCpu: Record<string, number | null> | null = null;
  let faults: Record<string, number | null> | null = null;
  const n = mode === 'sync' ? Math.min(o.nSync ?? o.n, o.n) : o.n;
  if (mode !== 'consume') {
    const producer = o.protocol === 'grpc' ? await startGrpcSender(target.grpcEndpoint, topic, o.sendTimeoutMs) : await startProducer(o, target);
    try {
      progress.start(`produce ${mode}`, n);
      const cpuBefore = cpuSnapshot(target);
      const faultsBefore = target.minorFaults();
      produced = await runProduce(producer, { topic, n, mode, inFlight: o.inFlight, batch: o.batch, maxMs, payload, onAcked: (c) => progress.update(c) });
      cpu = cpuPerMessage(cpuBefore, cpuSnapshot(target), produced.acked);
      faults = perMessage(faultsBefore, target.minorFaults(), produced.acked, 1);
      progress.finish();
    } finally {
      await producer.shutdown();
    }
  }
  if (mode === 'consume' || o.command === 'e2e') {
    const cpuBefore = cpuSnapshot(target);
    consumed = await readBack(o, target, payload, progress, topic, produced?.placement, maxMs);
    consumeCpu = cpuPerMessage(cpuBefore, cpuSnapshot(target), consumed.consumed);
  }
  const after = await target.raftSnapshot();
  return resultLine(o, mode, topic, produced, consumed, before, after, target.peakRss(), cpu, consumeCpu, faults);
}

async function startProducer(o: BenchOptions, target: BenchTarget): Promise<Producer> {
  const producer = new Producer({
    namesrvAddr: target.namesrvAddr,
    producerGroup: 'bench_producer',
    binaryHeaders: o.binaryHeaders,
    sendMsgTimeoutMs: o.sendTimeoutMs,
    ...(o.compress === true ? {} : { compressMsgBodyOverBytes: Number.POSITIVE_INFINITY }),
  });
  await producer.start();
  return producer;
}

/** CPU seconds so far of every local broker and of this process (the client). */
function cpuSnapshot(target: BenchTarget): Record<string, number | null> {
  const u = process.cpuUsage();
  return { ...target.cpuSeconds(), client: (u.user + u.system) / 1e6 };
}

/** Per-message growth of each counter, rounded to `digits` decimals; null when nothing was acknowledged. */
function perMessage(before: Record<string, number | null>, after: Record<string, number | null>, messages: number, digits: number): Record<string, number | null> | null {
  if (messages === 0) return null;
  const scale = 10 ** digits;
  const out: Record<string, number | null> = {};
  for (const [k, b] of Object.entries(before)) {
    const a = after[k];
    out[k] = a === null || a === undefined || b === null ? null : Math.round(((a - b) / messages) * scale) / scale;
  }
  return out;
}

function cpuPerMessage(before: Record<string, number | null>, after: Record<string, number | null>, messages: number): Record<string, number | null> | null {
  if (messages === 0) return null;
  const out: Record<string, number | null> = {};
  let total = 0;
  for (const [k, b] of Object.entries(before)) {
    const a = after[k];
    const us = a === null || a === undefined || b === null ? null : ((a - b) * 1e6) / messages;
    out[k] = us === null ? null : Math.round(us * 10) / 10;
    if (us !== null) total += us;
  }
  out['total'] = Math.round(total * 10) / 10;
  return out;
}

async function readBack(o: BenchOptions, target: BenchTarget, payload: PayloadFactory, progress: Progress, topic: string, placement: Placement | undefined, maxMs: number): Promise<ConsumeOutcome> {
  const consumer = new PullConsumer({ namesrvAddr: target.namesrvAddr, consumerGroup: 'bench_consumer', binaryHeaders: o.binaryHeaders });
  await consumer.start();
  try {
    let capacity = placement?.capacity;
    if (capacity === undefined) {
      // A topic filled by `bench produce`: sequence numbers 0..total-1 over all its queues.
      capacity = 0;
      for (const mq of await consumer.fetchQueues(topic)) capacity += (await consumer.maxOffset(mq)) - (await consumer.minOffset(mq));
    }
    progress.start('read back', placement === undefined ? capacity : placement.placedCount());
    const c = await runConsume(consumer, { topic, capacity, placement, pullBatch: o.pullBatch, maxMs, payload, onConsumed: (k) => progress.update(k) });
    progress.finish();
    return c;
  } finally {
    await consumer.shutdown();
  }
}

function groupsOf(o: BenchOptions): number {
  return o.local ? o.groups ?? 1 : 1;
}

/** Each local group gets an equal share of --queues (rounded up), so the total stays comparable. */
function queuesPerGroup(o: BenchOptions): number {
  return Math.ceil(o.queues / groupsOf(o));
}

/** Creates the topic on every group (`perGroup` queues each) and waits for a route with all of them. */
async function createTopic(namesrvAddr: string, topic: string, perGroup: number): Promise<void> {
  const admin = new Admin({ namesrvAddr });
  await admin.start();
  try {
    const groups = (await admin.createTopic(topic, { writeQueueNums: perGroup, readQueueNums: perGroup })).length;
    const queues = perGroup * groups;
    // The broker re-registers its routes once the topic entry is applied: wait for the NameServer.
    // Until then it may answer with a default route (TBW102's queue count); sends routed by it to
    // queues the topic lacks are refused and retried, which reorders them, so wait for the exact count.
    const allQueuesRouted = async (): Promise<true | undefined> => {
      const route = await admin.topicRoute(topic).catch(() => undefined);
      return (route?.queueDatas.reduce((s, q) => s + q.writeQueueNums, 0) ?? 0) === queues ? true : undefined;
    };
    await pollUntil(`a route of ${topic} with ${queues} queues`, ROUTE_WAIT_MS, allQueuesRouted, { intervalMs: 100 }).catch(
      mapPollError(() => new BenchSetupError(`topic ${topic} has no route with ${queues} queues after ${ROUTE_WAIT_MS} ms`)),
    );
  } finally {
    await admin.shutdown();
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function resultLine(
  o: BenchOptions,
  mode: SendMode | 'consume',
  topic: string,
  p: ProduceOutcome | undefined,
  c: ConsumeOutcome | undefined,
  before: RaftSnapshot,
  after: RaftSnapshot,
  rss: BrokerRss[],
  cpu: Record<string, number | null> | null,
  consumeCpu: Record<string, number | null> | null,
  faults: Record<string, number | null> | null = null,
): BenchResult {
  const n = p?.acked ?? c?.consumed ?? 0;
  const rssByNode: Record<string, number | null> = {};
  const split: Record<string, { anon: number | null; file: number | null }> = {};
  for (const r of rss) {
    rssByNode[r.node] = r.peakRssMb;
    split[r.node] = { anon: r.anonRssMb, file: r.fileRssMb };
  }
  const readBack = c === undefined ? null : { corrupt: c.corrupt, duplicated: c.duplicated, misplaced: c.misplaced, unexpected: c.unexpected, unackedSeen: c.unackedSeen, missing: c.missing, outOfOrder: c.outOfOrder, disorderSamples: c.disorderSamples };
  return {
    peer: peerName(o.flush) + (o.protocol === 'grpc' ? '-grpc' : ''),
    mode,
    parts: groupsOf(o),
    w: mode === 'sync' ? 1 : o.inFlight,
    n,
    size: o.sizeBytes,
    msgs_per_s: p === undefined ? null : round2(p.acked / p.elapsedS),
    mb_per_s: p === undefined ? null : round2((p.acked * o.sizeBytes) / p.elapsedS / 1e6),
    p50_ms: p?.latency.p50_ms ?? null,
    p99_ms: p?.latency.p99_ms ?? null,
    p999_ms: p?.latency.p999_ms ?? null,
    max_ms: p?.latency.max_ms ?? null,
    consume_msgs_per_s: c === undefined ? null : round2(c.consumed / c.elapsedS),
    verified: c === undefined ? null : isVerified(c),
    in_order: c === undefined ? null : c.outOfOrder === 0,
    batch: o.batch,
    queues: c?.queues ?? o.queues,
    flush: o.flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
    headers: o.binaryHeaders ? 'binary' : 'json',
    compressed: o.compress === true,
    topic,
    failed: p?.failed ?? 0,
    first_error: p?.firstError ?? null,
    consumed: c?.consumed ?? null,
    read_back: readBack,
    publish_s: p === undefined ? null : round2(p.elapsedS),
    consume_s: c === undefined ? null : round2(c.elapsedS),
    term_before: before.term,
    term_after: after.term,
    leader_before: before.leader,
    leader_after: after.leader,
    publish_cpu_us_per_msg: cpu,
    consume_cpu_us_per_msg: consumeCpu,
    publish_minor_faults_per_msg: faults,
    leader_changes: before.term === null || after.term === null ? null : after.term - before.term,
    broker_peak_rss_mb: rssByNode,
    broker_rss_split_mb: split,
    load_avg_1m: round2(loadavg()[0] ?? 0),
    tag: o.tag ?? '',
  };
}
