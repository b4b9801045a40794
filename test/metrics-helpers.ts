// Helpers of the metrics and dashboard tests: a real local cluster (NameServer and one 3-node
// group as processes, through the launcher `rmq cluster up` uses) with its metrics endpoints, a
// scrape of one endpoint, and one sample read out of the Prometheus text.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, clusterUp } from '../src/devkit/cluster-launcher.js';
import type { ClusterFile } from '../src/devkit/cluster-file.js';
import { ensureBuilt } from './cli-helpers.js';

export interface TestCluster {
  root: string;
  file: ClusterFile;
  close(): Promise<void>;
}

export async function startCluster(prefix: string): Promise<TestCluster> {
  ensureBuilt();
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(root, 'cluster');
  try {
    const up = await clusterUp({ dir, groups: 1, nodes: 3, flushDiskType: 'ASYNC_FLUSH', clusterName: 'MetricsCluster', autoCreateTopicEnable: true, extraConf: {}, timeoutMs: 60_000, logLevel: 'warn' });
    return {
      root,
      file: up.file,
      async close() {
        await clusterDown(up.file, 5000).catch(() => undefined);
        // The cluster's data goes; what a test left beside it (a screenshot) stays.
        rmSync(dir, { recursive: true, force: true });
        if (readdirSync(root).length === 0) rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

export async function scrape(addr: string, path = '/metrics'): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`http://${addr}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/**
 * The value of the one sample of `name` whose labels include `labels`, or undefined. A sample
 * line is `name{a="x",b="y"} value` (or `name value`); the help and type lines start with #.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** Sum of every sample of `name` whose labels include `labels`. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const v = sample(line, name, labels);
    if (v !== undefined) total += v;
  }
  return total;
}
