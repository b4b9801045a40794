// The numbers the report plots, derived from the history: send throughput per time bucket,
// send latency points, and the nemesis fault windows. Every series is bounded so a long run
// still renders into a page a browser opens quickly: latency keeps the slowest send of each
// stride (spikes stay visible), throughput widens its buckets.
import type { CompletionType, History, SendOp } from '../history/types.js';

export const MAX_LATENCY_POINTS = 3000;
export const MAX_THROUGHPUT_BUCKETS = 1500;

export interface ThroughputRow {
  /** Bucket start, seconds since run start. */
  timeS: number;
  /** Sends completed with this outcome per second in the bucket. */
  ratePerS: number;
  outcome: CompletionType;
}

export interface LatencyPoint {
  /** Invoke time, seconds since run start. */
  timeS: number;
  /** Floored at 0.01 ms so the log scale can show it. */
  latencyMs: number;
  outcome: CompletionType;
}

export interface FaultWindowRow {
  fault: string;
  startS: number;
  stopS: number;
}

export interface ChartData {
  throughput: ThroughputRow[];
  bucketS: number;
  latency: LatencyPoint[];
  /** Sends with a completion; `latency` holds at most MAX_LATENCY_POINTS of them. */
  latencyTotal: number;
  faults: FaultWindowRow[];
  durationS: number;
}

const OUTCOMES: readonly CompletionType[] = ['ok', 'fail', 'info'];

export function chartData(history: History): ChartData {
  const durationMs = history.length > 0 ? history[history.length - 1]!.time : 0;
  const completed: { invoke: SendOp; done: SendOp }[] = [];
  const openSends = new Map<string, SendOp>();
  const openFaults = new Map<string, number[]>();
  const faults: FaultWindowRow[] = [];
  for (const op of history) {
    if (op.f === 'send') {
      const key = JSON.stringify(op.process);
      if (op.type === 'invoke') openSends.set(key, op);
      else {
        const invoke = openSends.get(key);
        openSends.delete(key);
        if (invoke !== undefined) completed.push({ invoke, done: op });
      }
    } else if (op.f === 'nemesis') {
      const starts = openFaults.get(op.value.fault) ?? [];
      if (op.value.kind === 'start') {
        starts.push(op.time);
        openFaults.set(op.value.fault, starts);
      } else {
        const startMs = starts.shift();
        if (startMs !== undefined) faults.push({ fault: op.value.fault, startS: startMs / 1000, stopS: op.time / 1000 });
      }
    }
  }
  for (const [fault, starts] of openFaults) for (const startMs of starts) faults.push({ fault, startS: startMs / 1000, stopS: durationMs / 1000 });
  faults.sort((a, b) => a.startS - b.startS);

  return { ...throughput(completed.map((c) => c.done), durationMs), ...latency(completed), faults, durationS: durationMs / 1000 };
}

function throughput(done: readonly SendOp[], durationMs: number): { throughput: ThroughputRow[]; bucketS: number } {
  const bucketS = Math.max(1, Math.ceil(durationMs / 1000 / MAX_THROUGHPUT_BUCKETS));
  const buckets = Math.max(1, Math.ceil(durationMs / 1000 / bucketS));
  const counts = new Map<CompletionType, Uint32Array>(OUTCOMES.map((o) => [o, new Uint32Array(buckets)]));
  for (const op of done) {
    const b = Math.min(buckets - 1, Math.floor(op.time / 1000 / bucketS));
    counts.get(op.type as CompletionType)![b]!++;
  }
  const rows: ThroughputRow[] = [];
  for (const outcome of OUTCOMES) {
    const series = counts.get(outcome)!;
    // A series that never happened (no fails at all) would only add a flat line at zero.
    if (series.every((n) => n === 0) && outcome !== 'ok') continue;
    for (let b = 0; b < buckets; b++) rows.push({ timeS: b * bucketS, ratePerS: series[b]! / bucketS, outcome });
  }
  return { throughput: rows, bucketS };
}

function latency(completed: readonly { invoke: SendOp; done: SendOp }[]): { latency: LatencyPoint[]; latencyTotal: number } {
  const stride = Math.max(1, Math.ceil(completed.length / MAX_LATENCY_POINTS));
  const points: LatencyPoint[] = [];
  for (let start = 0; start < completed.length; start += stride) {
    let slowest: LatencyPoint | undefined;
    for (let i = start; i < Math.min(completed.length, start + stride); i++) {
      const { invoke, done } = completed[i]!;
      const latencyMs = Math.max(0.01, done.time - invoke.time);
      if (slowest === undefined || latencyMs > slowest.latencyMs) slowest = { timeS: invoke.time / 1000, latencyMs, outcome: done.type as CompletionType };
    }
    points.push(slowest!);
  }
  return { latency: points, latencyTotal: completed.length };
}
