// The interim `npm start`: until the broker exists, it shows the Raft library surviving the loss
// of its leader. Three node processes under a fresh data folder, a load, a SIGKILL of the leader,
// a new leader continuing, and a check that every acknowledged entry is on every node, including
// the killed one after it restarts. Exits 0 only when nothing was lost.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePortBlock } from '../../raft/demo/free-ports.js';
import { LocalCluster } from '../../raft/demo/local-cluster.js';
import { runFailoverScenario } from '../../raft/demo/failover-scenario.js';

const BASE_PORT = await findFreePortBlock(21300, 21399, 3);
const dir = mkdtempSync(join(tmpdir(), 'rmq-raft-demo-'));
const say = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
const cluster = new LocalCluster({ dir, basePort: BASE_PORT, flush: 'async', logToFiles: true, nodeArgs: ['--segment-bytes', String(64 * 1024 * 1024)] });
cluster.onRole = (id, role, leader, term) => {
  if (role === 'leader') say(`  ${id} is leader of term ${term}`);
  else if (leader) say(`  ${id} follows ${leader} in term ${term}`);
};

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await cluster.close().catch(() => cluster.killAllSync());
    // Keep the evidence only when something went wrong; an interrupted run leaves nothing behind.
    if (code === 1) say(`data and node logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(130));
process.on('SIGTERM', () => void stop(143));

say(`data folder ${dir}`);
try {
  const s = await runFailoverScenario(cluster, { dir, basePort: BASE_PORT, say });
  say('summary:');
  say(`  first leader ${s.firstLeader}, killed with SIGKILL; new leader ${s.secondLeader} after ${s.failoverMs.toFixed(0)} ms`);
  say(`  ${s.ackedEntries} entries acknowledged; every node applied ${s.appliedIndex} log entries with the same hash`);
  say(`  acknowledged entries lost: ${s.problems.length === 0 ? 'none' : s.problems.join('; ')}`);
  say(s.ok ? 'OK: nothing acknowledged was lost' : 'FAILED');
  await stop(s.ok ? 0 : 1);
} catch (err) {
  say(`FAILED: ${(err as Error).message}`);
  await stop(1);
}
