// `rmq cluster add-node` and `remove-node` on real processes: a node joins a running 3-node group
// as a learner, is promoted and recorded in cluster.json; the old leader is then removed and
// stopped; the NameServer's member set, `admin clusterList` and `cluster status` follow each step,
// and a producer's messages sent before, between and after the changes are all kept; a removed
// node's id is never given to the next node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '../src/client/index.js';
import type { ClusterFile } from '../src/devkit/cluster-file.js';
import { silent } from './broker-helpers.js';
import { ensureBuilt, isAlive, killLiveRuns, rmq } from './cli-helpers.js';

let dir: string;
let file: ClusterFile;
const readFile = (): ClusterFile => JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterFile;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'cluster-members-'));
  const up = await rmq(['cluster', 'up', '--dir', dir, '--json', '--timeout', '60'], 90_000);
  expect(up.status, up.stderr).toBe(0);
  file = readFile();
}, 120_000);

afterAll(async () => {
  if (dir) {
    await rmq(['cluster', 'down', '--dir', dir], 60_000);
    rmSync(dir, { recursive: true, force: true });
  }
  killLiveRuns();
});

/** Sends `count` messages, each retried (200 ms apart, for at most 60 s) while the group elects or routes settle. */
async function send(producer: Producer, keys: string[], count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const r = await producer.send({ topic: 'MembersTopic', body: `${prefix}${i}`, keys: `${prefix}${i}` }).catch(() => undefined);
      if (r?.status === 'SEND_OK') {
        keys.push(`${prefix}${i}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe('rmq cluster add-node / remove-node', () => {
  it('adds n3 as a voter and then removes the old leader, with the member set shown everywhere and every message kept', async () => {
    const producer = new Producer({ namesrvAddr: file.namesrv.addr, producerGroup: 'MEMBERS_PG', logger: silent, retryTimesWhenSendFailed: 5 });
    await producer.start();
    const admin = new Admin({ namesrvAddr: file.namesrv.addr, logger: silent });
    await admin.start();
    try {
      const acked: string[] = [];
      await send(producer, acked, 30, 'a');

      const add = await rmq(['cluster', 'add-node', '--dir', dir, '--json', '--timeout', '60'], 120_000);
      expect(add.status, add.stderr).toBe(0);
      const added = JSON.parse(add.stdout) as { node: { id: string; pid: number; brokerAddr: string }; voters: string[]; learners: string[] };
      expect(added.node.id).toBe('n3');
      expect([...added.voters].sort()).toEqual(['n0', 'n1', 'n2', 'n3']);
      expect(isAlive(added.node.pid)).toBe(true);
      expect(readFile().groups[0]!.nodes.map((n) => n.id)).toEqual(['n0', 'n1', 'n2', 'n3']);
      await send(producer, acked, 30, 'b');

      const leader = (await admin.clusterRaftStatus()).find((n) => n.status?.role === 'LEADER')!.status!.nodeId;
      const remove = await rmq(['cluster', 'remove-node', '--dir', dir, '--node', leader, '--json', '--timeout', '60'], 120_000);
      expect(remove.status, remove.stderr).toBe(0);
      const removed = JSON.parse(remove.stdout) as { voters: string[]; stopped: string };
      expect([...removed.voters].sort()).toEqual(['n0', 'n1', 'n2', 'n3'].filter((id) => id !== leader));
      expect(readFile().groups[0]!.nodes.map((n) => n.id)).not.toContain(leader);
      await send(producer, acked, 30, 'c');

      // The NameServer's member set, then clusterList and cluster status, once registrations caught up.
      const expected = ['n0', 'n1', 'n2', 'n3'].filter((id) => id !== leader);
      const deadline = Date.now() + 30_000;
      let members: string[] | undefined;
      while (Date.now() < deadline) {
        members = (await admin.clusterInfo()).brokerAddrTable['broker-a']?.raftMembers?.voters;
        if (members !== undefined && [...members].sort().join() === expected.join()) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect([...(members ?? [])].sort()).toEqual(expected);
      const list = await rmq(['admin', 'clusterList', '-n', file.namesrv.addr, '--json'], 30_000);
      expect(list.status, list.stderr).toBe(0);
      const g = (JSON.parse(list.stdout) as { groups: { voters: string[]; learners: string[]; nodes: { nodeId: string; member: string }[] }[] }).groups[0]!;
      expect([...g.voters].sort()).toEqual(expected);
      expect(g.learners).toEqual([]);
      expect(g.nodes.filter((n) => n.member === 'voter').map((n) => n.nodeId).sort()).toEqual(expected);
      const status = await rmq(['cluster', 'status', '--dir', dir, '--json'], 30_000);
      const rows = (JSON.parse(status.stdout) as { nodes: { id: string; member: string | null }[] }).nodes;
      expect(rows.map((n) => [n.id, n.member])).toEqual(expected.map((id) => [id, 'voter']));

      // Every acknowledged message is still there, on the group's new leader.
      const total = (await admin.topicStatus('MembersTopic')).reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
      expect(total).toBeGreaterThanOrEqual(acked.length);
      expect(acked.length).toBe(90);

      // An id is never reused: with n3 removed (its data folder kept), the next node is n4.
      const out = await rmq(['cluster', 'remove-node', '--dir', dir, '--node', 'n3', '--json', '--timeout', '60'], 120_000);
      expect(out.status, out.stderr).toBe(0);
      const again = await rmq(['cluster', 'add-node', '--dir', dir, '--json', '--timeout', '60'], 120_000);
      expect(again.status, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as { node: { id: string } }).node.id).toBe('n4');
    } finally {
      await producer.shutdown();
      await admin.shutdown();
    }
  }, 300_000);
});
