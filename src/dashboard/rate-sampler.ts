// Produce and consume rates and send latency for the dashboard's live chart: every second it
// reads each node's /metrics.json (the JSON form of its Prometheus metrics), turns the growth of
// the message counters into rates and keeps a bounded history. The consumer lag the leaders
// report comes along from the same read.

import { metricSum as sum, readMetrics, type MetricJson } from '../client/metrics-json.js';

export interface RatePoint {
  /** Epoch ms of the sample. */
  t: number;
  producePerSec: number;
  consumePerSec: number;
  /** Mean send latency over the interval (ms), or null when nothing was sent. */
  sendLatencyMs: number | null;
}

export interface LagRow {
  brokerGroup: string;
  consumerGroup: string;
  topic: string;
  queueId: number;
  lag: number;
}

interface Totals {
  put: number;
  got: number;
  sendSumS: number;
  sendCount: number;
  atMs: number;
}

const HISTORY_POINTS = 300;

export class RateSampler {
  private readonly history: RatePoint[] = [];
  private readonly last = new Map<string, Totals>();
  private lag = new Map<string, LagRow[]>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  /** `metricsAddrs` names the endpoints to read at each sample (they change as nodes come and go). */
  constructor(private readonly metricsAddrs: () => string[], private readonly intervalMs = 1000) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  points(): RatePoint[] {
    return [...this.history];
  }

  consumerLag(): LagRow[] {
    return [...this.lag.values()].flat();
  }

  /** One sample of every endpoint; a sample still running when the next is due is skipped. */
  async sample(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const addrs = this.metricsAddrs();
      const reads = await Promise.all(addrs.map((a) => readMetrics(a).catch(() => undefined)));
      let produce = 0;
      let consume = 0;
      let sendSumS = 0;
      let sendCount = 0;
      const now = Date.now();
      const lag = new Map<string, LagRow[]>();
      addrs.forEach((addr, i) => {
        const metrics = reads[i];
        if (metrics === undefined) return;
        const cur: Totals = { put: sum(metrics, 'rmq_messages_put_total'), got: sum(metrics, 'rmq_messages_got_total'), sendSumS: sum(metrics, 'rmq_send_duration_seconds', 'rmq_send_duration_seconds_sum'), sendCount: sum(metrics, 'rmq_send_duration_seconds', 'rmq_send_duration_seconds_count'), atMs: now };
        const prev = this.last.get(addr);
        this.last.set(addr, cur);
        lag.set(addr, lagRows(metrics));
        // A restarted node starts its counters again: a drop is not negative traffic.
        if (prev === undefined || cur.put < prev.put || cur.got < prev.got || cur.sendCount < prev.sendCount) return;
        const dtS = Math.max(0.001, (cur.atMs - prev.atMs) / 1000);
        produce += (cur.put - prev.put) / dtS;
        consume += (cur.got - prev.got) / dtS;
        sendSumS += cur.sendSumS - prev.sendSumS;
        sendCount += cur.sendCount - prev.sendCount;
      });
      this.lag = lag;
      this.history.push({ t: now, producePerSec: round1(produce), consumePerSec: round1(consume), sendLatencyMs: sendCount > 0 ? round1((sendSumS / sendCount) * 1000) : null });
      if (this.history.length > HISTORY_POINTS) this.history.splice(0, this.history.length - HISTORY_POINTS);
    } finally {
      this.running = false;
    }
  }
}

function lagRows(metrics: MetricJson[]): LagRow[] {
  const m = metrics.find((x) => x.name === 'rmq_consumer_lag_messages');
  return (m?.values ?? []).map((v) => ({
    brokerGroup: String(v.labels['group'] ?? ''),
    consumerGroup: String(v.labels['consumer_group'] ?? ''),
    topic: String(v.labels['topic'] ?? ''),
    queueId: Number(v.labels['queue'] ?? -1),
    lag: v.value,
  }));
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
