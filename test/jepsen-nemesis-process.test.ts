// Nemeses against real processes and real proxies: a stand-in cluster (echo servers) where
// kill-leader really kills a PID and restarts it, pause-random really stops one, a partition
// really stops bytes, healAll brings everything back, and the history file they wrote reads
// back as a valid history. Ports: random free blocks.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterDb } from '../jepsen-like/db/cluster.js';
import { defaultPortPlan } from '../src/devkit/port-plan.js';
import { readHistory } from '../jepsen-like/history/reader.js';
import { HistoryWriter } from '../jepsen-like/history/writer.js';
import { healAll } from '../jepsen-like/nemesis/heal-all.js';
import type { NemesisContext } from '../jepsen-like/nemesis/nemesis.js';
import { partitionIsolateLeader } from '../jepsen-like/nemesis/partition-nemeses.js';
import { killLeader, pauseRandom } from '../jepsen-like/nemesis/process-nemeses.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';
import { assertBuilt, ECHO_SERVER, tempRunDir } from './jepsen-db-helpers.js';
import { isAlive, processState } from '../raft/tools/process/process-identity.js';
import { dial, eventually, onFreePorts } from './jepsen-net-helpers.js';

let db: ClusterDb | undefined;
let writer: HistoryWriter | undefined;
let dir: string | undefined;
beforeAll(assertBuilt);
afterEach(async () => {
  writer?.close();
  await db?.teardown();
  db = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function roundTrip(port: number, text: string, timeoutMs: number): Promise<boolean> {
  const c = await dial(port).catch(() => undefined);
  if (c === undefined) return false;
  try {
    c.socket.write(text);
    return await eventually(() => c.received() === text, timeoutMs);
  } finally {
    c.socket.resetAndDestroy();
  }
}

describe('nemeses on real processes', () => {
  it('kill, pause and partition a stand-in cluster, heal it, and record a valid history', async () => {
    const runDir = tempRunDir('nemesis');
    dir = runDir;
    let base = 0;
    db = await onFreePorts(70, (b) => {
      base = b;
      return ClusterDb.setup({
        runDir,
        ports: defaultPortPlan(b, 3),
        seed: 2,
        launchNamesrv: ({ port }) => ({ command: process.execPath, args: [ECHO_SERVER, '--port', String(port)] }),
        launchNode: (n) => ({ command: process.execPath, args: [ECHO_SERVER, '--port', String(n.raftPort), '--port', String(n.brokerPort)] }),
      });
    });
    const plan = defaultPortPlan(base, 3);
    writer = HistoryWriter.open(join(runDir, 'history.jsonl'));
    const ctx: NemesisContext = { mesh: db.mesh, nodes: db, leaderOf: async () => 'n1', history: writer, rng: new SeededRandom(8) };

    const leaderPid = db.cluster().nodes[1]!.pid!;
    const kill = killLeader();
    await kill.start(ctx);
    expect(isAlive(leaderPid)).toBe(false);
    await kill.stop(ctx);
    const newPid = db.cluster().nodes[1]!.pid!;
    expect(isAlive(newPid)).toBe(true);
    expect(await roundTrip(plan.brokerPort(1), 'up', 2000)).toBe(true);

    const pause = pauseRandom();
    await pause.start(ctx);
    const paused = db.nodeIds.filter((id) => db!.status(id) === 'paused');
    expect(paused.length).toBe(1);
    const pausedPid = db.cluster().nodes.find((n) => n.id === paused[0])!.pid!;
    expect(await eventually(() => processState(pausedPid) === 'T')).toBe(true);

    const partition = partitionIsolateLeader();
    await partition.start(ctx);
    // n0 reaches n1 only through the proxy n0→n1, which is cut now.
    expect(await roundTrip(plan.raftProxyPort(0, 1), 'cut', 300)).toBe(false);

    const summary = await healAll(ctx, [kill, pause, partition]);
    expect(summary.nemesesStopped.sort()).toEqual(['partition-isolate-leader', 'pause-random']);
    expect(processState(pausedPid)).not.toBe('T');
    expect(db.nodeIds.every((id) => db!.status(id) === 'running')).toBe(true);
    expect(await roundTrip(plan.raftProxyPort(0, 1), 'healed', 2000)).toBe(true);

    writer.close();
    writer = undefined;
    const history = await readHistory(join(runDir, 'history.jsonl'));
    expect(history[0]).toMatchObject({ f: 'nemesis', value: { detail: { nodes: ['n1'], pids: [leaderPid] } } });
    expect(history.map((op) => (op.f === 'nemesis' ? `${op.value.kind} ${op.value.fault}` : op.f))).toEqual([
      'start kill-leader',
      'stop kill-leader',
      'start pause-random',
      'start partition-isolate-leader',
      'stop pause-random',
      'stop partition-isolate-leader',
    ]);

    const pids = [db.cluster().namesrv.pid!, ...db.cluster().nodes.map((n) => n.pid!)];
    await db.teardown();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });
});
