// Reading a node's /metrics.json (prom-client's JSON form of its Prometheus metrics, served on
// metricsPort, docs/metrics.md) for tools: the dashboard's rates and `rmq admin brokerStatus` and
// `statsAll`. The address comes from RAFT_STATUS (`metricsAddr`) or cluster.json.

export interface MetricJson {
  name: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

const FETCH_TIMEOUT_MS = 800;

export async function readMetrics(addr: string, timeoutMs = FETCH_TIMEOUT_MS): Promise<MetricJson[]> {
  const res = await fetch(`http://${addr}/metrics.json`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${addr}: HTTP ${res.status}`);
  return (await res.json()) as MetricJson[];
}

/** The sum of one metric's values (of one of its series, e.g. a histogram's `_count`), 0 when absent. */
export function metricSum(metrics: readonly MetricJson[], name: string, metricName?: string, labels: Record<string, string> = {}): number {
  const m = metrics.find((x) => x.name === name);
  if (m === undefined) return 0;
  let total = 0;
  for (const v of m.values) {
    if (metricName !== undefined && v.metricName !== metricName) continue;
    if (Object.entries(labels).some(([k, want]) => String(v.labels[k]) !== want)) continue;
    total += v.value;
  }
  return total;
}
