// `rmq demo raft`: the Raft library alone (no broker) surviving the loss of its leader, the demo
// `npm start` ran before the broker existed. Three raft node processes, a load, a SIGKILL of the
// leader, a new leader continuing, every acknowledged entry on every node, including the killed
// one after it restarts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreeBlock } from '../../../raft/tools/free-ports.js';
import { LocalCluster } from '../../../raft/tools/demo/local-cluster.js';
import { runFailoverScenario } from '../../../raft/tools/demo/failover-scenario.js';
import { ExitCode } from '../cli-errors.js';

export async function runRaftDemo(): Promise<number> {
  const basePort = await findFreeBlock(3);
  const dir = mkdtempSync(join(tmpdir(), 'rmq-raft-demo-'));
  const say = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
  const cluster = new LocalCluster({ dir, basePort, flush: 'async', nodeArgs: ['--segment-bytes', String(64 * 1024 * 1024)] });
  cluster.onRole = (id, role, leader, term) => {
    if (role === 'leader') say(`  ${id} is leader of term ${term}`);
    else if (leader) say(`  ${id} follows ${leader} in term ${term}`);
  };
  let stopping = false;
  const stop = async (code: number): Promise<number> => {
    if (!stopping) {
      stopping = true;
      await cluster.close().catch(() => cluster.killAllSync());
      // Keep the evidence only when something went wrong.
      if (code === ExitCode.FAILED) say(`data and node logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    }
    return code;
  };
  process.on('SIGINT', () => void stop(130).then((c) => process.exit(c)));
  process.on('SIGTERM', () => void stop(143).then((c) => process.exit(c)));
  say(`data folder ${dir}`);
  try {
    const s = await runFailoverScenario(cluster, { dir, basePort, say });
    say('summary:');
    say(`  first leader ${s.firstLeader}, killed with SIGKILL; new leader ${s.secondLeader} after ${s.failoverMs.toFixed(0)} ms`);
    say(`  ${s.ackedEntries} entries acknowledged; every node applied ${s.appliedIndex} log entries with the same hash`);
    say(`  acknowledged entries lost: ${s.problems.length === 0 ? 'none' : s.problems.join('; ')}`);
    say(s.ok ? 'OK: nothing acknowledged was lost' : 'FAILED');
    return await stop(s.ok ? ExitCode.OK : ExitCode.FAILED);
  } catch (err) {
    say(`FAILED: ${(err as Error).message}`);
    return stop(ExitCode.FAILED);
  }
}
