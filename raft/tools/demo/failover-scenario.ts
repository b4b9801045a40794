// The failover story told by `npm start` and checked by the process test: a 3-node group of OS
// processes takes a load, the leader is SIGKILLed in the middle of more load, a new leader is
// elected and keeps committing, every acknowledged entry is on every survivor, and the killed
// node restarts and catches up to the same log (same applied count and hash).

import type { LoadResult } from '../node-process/control-protocol.js';
import { LocalCluster, type LocalClusterOptions } from './local-cluster.js';

export interface FailoverOptions extends LocalClusterOptions {
  /** Entries proposed before the kill (and a fifth of that after it). */
  entries?: number;
  payloadBytes?: number;
  /** How long the leader runs under load before it is killed. */
  killAfterMs?: number;
  say?: (line: string) => void;
}

export interface FailoverSummary {
  ok: boolean;
  problems: string[];
  firstLeader: string;
  secondLeader: string;
  failoverMs: number;
  ackedEntries: number;
  appliedIndex: number;
  appliedHash: number;
  missingBySurvivor: Record<string, number>;
  missingAfterRestart: Record<string, number>;
  loads: LoadResult[];
}

export async function runFailoverScenario(cluster: LocalCluster, o: FailoverOptions): Promise<FailoverSummary> {
  const say = o.say ?? (() => {});
  const entries = o.entries ?? 10_000;
  const payloadBytes = o.payloadBytes ?? 256;
  const problems: string[] = [];
  const loads: LoadResult[] = [];
  const spec = (fromSeq: number, count: number) => ({ fromSeq, count, seconds: 0, window: 1000, batchMax: 100, payloadBytes });

  say(`starting ${cluster.ids.length} raft nodes (${cluster.peers}), flush=${o.flush ?? 'async'}`);
  await cluster.start();
  const firstLeader = await cluster.waitForLeader(10_000);
  say(`leader elected: ${firstLeader}`);

  const first = await cluster.load(firstLeader, spec(0, entries));
  loads.push(first);
  say(`${firstLeader} committed ${first.acked}/${first.proposed} entries in ${first.durationMs.toFixed(0)} ms (p50 ${first.latencyMsP50.toFixed(2)} ms, p99 ${first.latencyMsP99.toFixed(2)} ms)`);
  if (first.acked !== entries) problems.push(`first load acknowledged ${first.acked} of ${entries}`);

  // Kill the leader while it is busy, so some proposals are in flight at the moment of death.
  const term = (await cluster.status(firstLeader)).term;
  const during = cluster.load(firstLeader, spec(1_000_000, entries * 100)).catch(() => null);
  await new Promise((r) => setTimeout(r, o.killAfterMs ?? 300));
  const next = cluster.nextLeaderEvent(term, 10_000);
  const killedAt = performance.now();
  await cluster.kill(firstLeader);
  say(`SIGKILL ${firstLeader} (pid gone) with proposals in flight; ${cluster.acked.count()} entries acknowledged so far`);
  await during;
  const secondLeader = await next;
  const failoverMs = performance.now() - killedAt;
  say(`new leader ${secondLeader} elected ${failoverMs.toFixed(0)} ms after the kill`);
  await cluster.waitForLeader(10_000);

  const after = await cluster.load(secondLeader, spec(2_000_000, Math.max(1, Math.floor(entries / 5))));
  loads.push(after);
  say(`${secondLeader} committed ${after.acked}/${after.proposed} more entries`);
  if (after.acked !== after.proposed) problems.push(`load on the new leader acknowledged ${after.acked} of ${after.proposed}`);

  const survivors = await cluster.waitConverged(20_000);
  const missingBySurvivor = missingOf(await cluster.checkAcked());
  say(`survivors ${cluster.liveIds().join(',')} agree: applied ${survivors.applied} entries, hash ${hex(survivors.hash)}; acknowledged entries missing: ${fmt(missingBySurvivor)}`);

  await cluster.startNode(firstLeader);
  say(`restarted ${firstLeader}; waiting for it to catch up`);
  const all = await cluster.waitConverged(30_000);
  const missingAfterRestart = missingOf(await cluster.checkAcked());
  say(`all nodes agree: applied ${all.applied} entries, hash ${hex(all.hash)}; acknowledged entries missing: ${fmt(missingAfterRestart)}`);

  for (const [id, n] of [...Object.entries(missingBySurvivor), ...Object.entries(missingAfterRestart)]) {
    if (n > 0) problems.push(`${id} is missing ${n} acknowledged entries`);
  }
  if (all.applied < survivors.applied) problems.push(`applied index went back from ${survivors.applied} to ${all.applied}`);
  return {
    ok: problems.length === 0,
    problems,
    firstLeader,
    secondLeader,
    failoverMs,
    ackedEntries: cluster.acked.count(),
    appliedIndex: all.applied,
    appliedHash: all.hash,
    missingBySurvivor,
    missingAfterRestart,
    loads,
  };
}

function missingOf(r: Record<string, { missing: number }>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([id, c]) => [id, c.missing]));
}

function fmt(r: Record<string, number>): string {
  return Object.entries(r).map(([id, n]) => `${id}=${n}`).join(' ');
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
