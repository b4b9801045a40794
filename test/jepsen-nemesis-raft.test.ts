// The proxies cut real Raft traffic: three real Raft node processes (dist/raft/tools/node-process/main.js)
// whose peer links all go through the mesh elect a leader; isolating it makes the other two
// elect a new one in a higher term; after heal the old leader follows; cutting every link into
// the leader (one-way) makes it lose leadership too. Roles are read from the nodes' pino logs.
// Ports: random free blocks.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterDb } from '../jepsen-like/db/cluster.js';
import { defaultPortPlan } from '../src/devkit/port-plan.js';
import { assertBuilt, ECHO_SERVER, tempRunDir } from './jepsen-db-helpers.js';
import { eventually, onFreePorts } from './jepsen-net-helpers.js';

const RAFT_MAIN = join(new URL('..', import.meta.url).pathname, 'dist/raft/tools/node-process/main.js');
let db: ClusterDb | undefined;
let dir: string | undefined;
beforeAll(() => {
  assertBuilt();
  if (!existsSync(RAFT_MAIN)) throw new Error('run `npx tsc -p .` first: this test spawns dist/raft/tools/node-process/main.js');
});
afterEach(async () => {
  await db?.teardown();
  db = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Role {
  role: string;
  term: number;
  leader: string;
}

/** The last role each node logged ('became leader' / 'role changed' lines). */
function roles(d: ClusterDb): Map<string, Role> {
  const out = new Map<string, Role>();
  for (const id of d.nodeIds) {
    const lines = readFileSync(d.processes.logPath(id), 'utf8').split('\n');
    for (const line of lines) {
      if (!line.includes('"became leader"') && !line.includes('"role changed"')) continue;
      const r = JSON.parse(line) as Role;
      out.set(id, { role: r.role, term: r.term, leader: r.leader });
    }
  }
  return out;
}

function leader(d: ClusterDb, minTerm = 0, except?: string): { id: string; term: number } | undefined {
  for (const [id, r] of roles(d)) if (r.role === 'leader' && r.term >= minTerm && id !== except) return { id, term: r.term };
  return undefined;
}

describe('partitions on a real Raft group', () => {
  it('isolating the leader elects another, heal brings it back as follower, one-way deposes a leader', async () => {
    const runDir = tempRunDir('raft');
    dir = runDir;
    db = await onFreePorts(70, (b) =>
      ClusterDb.setup({
        runDir,
        ports: defaultPortPlan(b, 3),
        seed: 4,
        proxyNamesrvLinks: false,
        launchNamesrv: ({ port }) => ({ command: process.execPath, args: [ECHO_SERVER, '--port', String(port)] }),
        launchNode: (n) => ({
          command: process.execPath,
          args: [RAFT_MAIN, '--id', n.id, '--peers', n.peers, '--data-dir', n.dataDir, '--segment-bytes', String(4 * 1024 * 1024), '--warm-ahead-bytes', '0'],
          readyPorts: [n.raftPort],
        }),
      }),
    );
    const d = db;
    expect(await eventually(() => leader(d) !== undefined, 10_000)).toBe(true);
    const first = leader(d)!;

    d.mesh.isolate(first.id);
    expect(await eventually(() => leader(d, first.term + 1, first.id) !== undefined, 10_000)).toBe(true);
    const second = leader(d, first.term + 1, first.id)!;

    d.mesh.heal();
    expect(await eventually(() => roles(d).get(first.id)?.leader === second.id && roles(d).get(first.id)?.role === 'follower', 10_000)).toBe(true);

    d.mesh.oneWayInto(second.id);
    // It still sends heartbeats, but hears no acknowledgement: it must not stay leader.
    expect(await eventually(() => roles(d).get(second.id)?.role !== 'leader', 10_000)).toBe(true);
    d.mesh.heal();
    expect(await eventually(() => leader(d, second.term + 1) !== undefined, 10_000)).toBe(true);
  });
});
