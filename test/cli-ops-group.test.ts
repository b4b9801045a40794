// An operator's day on a real local cluster (`rmq cluster up`, one 3-node group, small log
// segments and fileReservedTime=0 so retention has something to delete): the log events an
// operator alerts on each leave one structured line in the node logs (a leader change, a refused
// request, a retention run; the reset: log-events-reset.test.ts); a SIGKILLed node comes back with
// `rmq cluster start-node` and rejoins; mqadmin's brokerStatus, queryMsgByOffset, printMsg,
// clusterRT and statsAll answer from the group; `rmq bench --json` prints one document.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterFile } from '../src/devkit/cluster-file.js';
import { until } from './broker-helpers.js';
import { ensureBuilt, isAlive, killLiveRuns, killPids, rmq, rmqMain, run, waitGone } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rmq-ops-test-'));
const clusterDir = join(dir, 'cluster');
let file: ClusterFile;
let ns = '';

type LogLine = Record<string, unknown>;
const LOGGING = { RMQ_LOG_LEVEL: 'info' };

/** The JSON lines of a process log (other lines, like "broker listening on", are skipped). */
function logLines(path: string): LogLine[] {
  return readFileSync(path, 'utf8').split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return [];
    }
  });
}

const nodes = (): ClusterFile['groups'][number]['nodes'] => file.groups[0]!.nodes;
const node = (id: string): ClusterFile['groups'][number]['nodes'][number] => nodes().find((n) => n.id === id)!;
const eventsOf = (id: string, event: string): LogLine[] => logLines(node(id).logPath).filter((l) => l['event'] === event);
const reread = (): ClusterFile => (file = JSON.parse(readFileSync(join(clusterDir, 'cluster.json'), 'utf8')) as ClusterFile);

async function json<T>(args: string[], timeoutMs = 60_000): Promise<T> {
  const r = await rmq([...args, '--json'], timeoutMs);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function leaderId(): Promise<string> {
  const s = await json<{ nodes: { id: string; role: string | null }[] }>(['cluster', 'status', '--dir', clusterDir]);
  const l = s.nodes.find((n) => n.role === 'LEADER');
  if (l === undefined) throw new Error('no leader');
  return l.id;
}

beforeAll(async () => {
  ensureBuilt();
  // Retention's scheduled hour is kept away from now, so only the asked-for runs delete.
  const farHour = (new Date().getHours() + 12) % 24;
  // The nodes log at info (the CLI runs of the tests are silent, and children inherit the level).
  const r = await run(rmqMain, ['cluster', 'up', '--dir', clusterDir, '--json', '--timeout', '60',
    '--set', `mappedFileSizeCommitLog=${128 * 1024}`, '--set', 'maxMessageSize=4096', '--set', 'fileReservedTime=0', '--set', `deleteWhen=${farHour}`], 90_000, undefined, LOGGING);
  expect(r.status, r.stderr).toBe(0);
  file = JSON.parse(r.stdout) as ClusterFile;
  ns = file.namesrv.addr;
}, 120_000);

afterAll(async () => {
  killLiveRuns();
  try {
    reread();
  } catch {
    // never written
  }
  if (file !== undefined) {
    await rmq(['cluster', 'down', '--dir', clusterDir, '--grace', '5'], 60_000);
    killPids([file.namesrv.pid, ...nodes().map((n) => n.pid)]);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('log events an operator alerts on', () => {
  it('a leader change leaves one raft-leader-changed line on the new leader, naming the leader it replaced', async () => {
    const first = await leaderId();
    await until('the first leader to log its election', 10_000, () => eventsOf(first, 'raft-leader-changed').some((l) => l['leader'] === first));
    const target = nodes().find((n) => n.id !== first)!.id;
    const moved = await json<{ newLeader: string; term: number }>(['admin', 'transferLeader', '-n', ns, '--to', target]);
    expect(moved.newLeader).toBe(target);
    const ofTerm = (l: LogLine): boolean => l['term'] === moved.term;
    await until('the new leader to log the change', 10_000, () => eventsOf(target, 'raft-leader-changed').some(ofTerm));
    const line = eventsOf(target, 'raft-leader-changed').find(ofTerm);
    expect(line).toMatchObject({ component: 'raft', nodeId: target, group: 'broker-a', leader: target, term: moved.term, previousLeader: first });
    // One line per change in the whole group: the followers log no event for it.
    const all = nodes().flatMap((n) => eventsOf(n.id, 'raft-leader-changed'));
    expect(all.filter(ofTerm)).toHaveLength(1);
  });

  it('a refused request leaves one request-refused line on the node that refused it', async () => {
    const leader = await leaderId();
    const r = await rmq(['admin', 'changeMembers', '-n', ns, '--promote', leader]);
    expect(r.status).toBe(1);
    await until('the refusal logged', 10_000, () => eventsOf(leader, 'request-refused').some((l) => l['request'] === 'RAFT_CHANGE_MEMBERS'));
    const line = eventsOf(leader, 'request-refused').find((l) => l['request'] === 'RAFT_CHANGE_MEMBERS')!;
    expect(line).toMatchObject({ component: 'requests', code: 'SYSTEM_ERROR', level: 40 });
    expect(String(line['remark'])).toMatch(/invalid-change/);
  });

  it('a retention run asked for leaves one retention-run line on every node', async () => {
    const before = new Map(nodes().map((n) => [n.id, eventsOf(n.id, 'retention-run').length]));
    await json(['admin', 'deleteExpiredCommitLog', '-n', ns]);
    // pino writes asynchronously: the line may land just after the answer.
    await until('every node to log its run', 10_000, () => nodes().every((n) => eventsOf(n.id, 'retention-run').length > before.get(n.id)!), 50);
    for (const n of nodes()) {
      const runs = eventsOf(n.id, 'retention-run');
      expect(runs.length, n.id).toBe(before.get(n.id)! + 1);
      expect(runs.at(-1)).toMatchObject({ component: 'retention', reason: 'manual-expired' });
      expect(typeof runs.at(-1)!['deletedSegments']).toBe('number');
    }
  });

  // The reset itself is asserted in test/log-events-reset.test.ts: here the returning node was
  // not always reset (in some runs it caught up by plain appends although both others had
  // deleted their heads; see the report of this change), so only its return is asserted.
  it('a SIGKILLed follower started again with cluster start-node rejoins past a head both others deleted', async () => {
    const leader = await leaderId();
    const [victim, survivor] = nodes().filter((n) => n.id !== leader).map((n) => n.id) as [string, string];
    const victimPid = node(victim).pid;
    process.kill(victimPid, 'SIGKILL');
    expect(await waitGone([victimPid], 10_000)).toEqual([]);
    // Several 128 KiB segments written while it is down.
    const sent = await rmq(['produce', '-n', ns, '-t', 'OpsFill', '--count', '200', '--size', '3000', '--concurrency', '16', '--json'], 120_000);
    expect(sent.status, sent.stderr).toBe(0);
    // A follower deletes its head once the leader's metadata snapshot covers it (a leader keeps
    // what the dead follower still needs): the other follower first; then, once it leads, the old
    // leader. Whichever of the two leads when the victim returns must reset it.
    const deleteHead = (id: string): Promise<void> => until(`${id} to delete head segments`, 60_000, async () => {
      const r = await json<{ nodes: { result?: { deletedSegments: number } }[] }>(['admin', 'deleteExpiredCommitLog', '-n', ns, '-b', node(id).brokerAddr]);
      return (r.nodes[0]?.result?.deletedSegments ?? 0) > 0;
    }, 500);
    await deleteHead(survivor);
    await until('the deleting run logged', 10_000, () => eventsOf(survivor, 'retention-run').some((l) => Number(l['deletedSegments']) > 0), 50);
    await json(['admin', 'transferLeader', '-n', ns, '--to', survivor]);
    await deleteHead(leader);

    const running = await rmq(['cluster', 'start-node', '--dir', clusterDir, '--node', survivor]);
    expect(running.status).toBe(1);
    expect(running.stderr).toMatch(new RegExp(`broker-a/${survivor} is still running .* \\[ERR_DEVKIT_USAGE\\]`));

    const r = await run(rmqMain, ['cluster', 'start-node', '--dir', clusterDir, '--node', `broker-a/${victim}`, '--timeout', '90', '--json'], 120_000, undefined, LOGGING);
    expect(r.status, `${r.stderr}\n${readFileSync(node(victim).logPath, 'utf8').split('\n').slice(-25).map((l) => l.slice(0, 300)).join('\n')}`).toBe(0);
    const started = JSON.parse(r.stdout) as { brokerName: string; nodeId: string; pid: number; caughtUpMs: number };
    expect(started).toMatchObject({ brokerName: 'broker-a', nodeId: victim });
    expect(started.pid).not.toBe(victimPid);
    expect(isAlive(started.pid)).toBe(true);
    expect(reread().groups[0]!.nodes.find((n) => n.id === victim)!.pid).toBe(started.pid);
    const status = await json<{ healthy: boolean; nodes: { id: string; appliedIndex: number | null }[] }>(['cluster', 'status', '--dir', clusterDir]);
    expect(status.healthy).toBe(true);
  }, 300_000);
});

describe('mqadmin inspection commands', () => {
  let sentAtMs = 0;
  let first: { queueId: number; queueOffset: number; brokerName: string };

  beforeAll(async () => {
    sentAtMs = Date.now() - 1;
    const sent = await json<{ results: { queueId: number; queueOffset: number; brokerName: string }[] }>(['produce', '-n', ns, '-t', 'OpsTopic', '--count', '20', '--body', 'ops body {i}', '--concurrency', '1']);
    first = sent.results[0]!;
    const got = await rmq(['consume', '-n', ns, '-t', 'OpsTopic', '-g', 'OpsGroup', '--count', '5', '--json'], 60_000);
    expect(got.status, got.stderr).toBe(0);
  }, 120_000);

  it('brokerStatus shows a node\'s Raft state and the figures of its metrics endpoint', async () => {
    const leader = await leaderId();
    const r = await json<{ nodes: { addr: string; table: Record<string, string | number | boolean> }[] }>(['admin', 'brokerStatus', '-n', ns, '-b', node(leader).brokerAddr]);
    expect(r.nodes).toHaveLength(1);
    expect(r.nodes[0]!.table).toMatchObject({ nodeId: leader, role: 'LEADER', brokerName: 'broker-a', metricsAddr: node(leader).metricsAddr });
    expect(Number(r.nodes[0]!.table['msgPutTotal'])).toBeGreaterThanOrEqual(20);
    expect(Number(r.nodes[0]!.table['sendRequestsTotal'])).toBeGreaterThan(0);
    const all = await json<{ nodes: { table?: unknown }[] }>(['admin', 'brokerStatus', '-n', ns]);
    expect(all.nodes.length).toBe(3);
  });

  it('queryMsgByOffset prints the message at a queue offset, and says when there is none', async () => {
    const m = await json<{ body: string; queueOffset: number }>(['admin', 'queryMsgByOffset', '-n', ns, '-t', 'OpsTopic', '-b', first.brokerName, '-i', String(first.queueId), '-o', String(first.queueOffset)]);
    expect(m).toMatchObject({ body: 'ops body 0', queueOffset: first.queueOffset });
    const none = await rmq(['admin', 'queryMsgByOffset', '-n', ns, '-t', 'OpsTopic', '-b', first.brokerName, '-i', String(first.queueId), '-o', '100000']);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no message at OpsTopic .* offset 100000 .*\[ERR_CLI_NOT_FOUND\]/);
  });

  it('printMsg prints the messages stored from a time on, in every queue', async () => {
    const r = await json<{ queues: { messages: { body: string }[] }[] }>(['admin', 'printMsg', '-n', ns, '-t', 'OpsTopic', '-b', String(sentAtMs)]);
    const bodies = r.queues.flatMap((q) => q.messages.map((m) => m.body)).sort();
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `ops body ${i}`).sort());
    const later = await json<{ queues: { messages: unknown[] }[] }>(['admin', 'printMsg', '-n', ns, '-t', 'OpsTopic', '-b', String(Date.now() + 60_000)]);
    expect(later.queues.flatMap((q) => q.messages)).toEqual([]);
  });

  it('clusterRT measures send round trips to every group', async () => {
    const r = await json<{ groups: { brokerName: string; rtMs: number | null; successCount: number; failCount: number }[] }>(['admin', 'clusterRT', '-n', ns, '-a', '5', '-s', '64']);
    expect(r.groups).toHaveLength(1);
    expect(r.groups[0]).toMatchObject({ brokerName: 'broker-a', successCount: 5, failCount: 0 });
    expect(r.groups[0]!.rtMs).toBeGreaterThan(0);
  });

  it('statsAll lists the topic with its consumer group\'s accumulation and the traffic totals', async () => {
    const r = await json<{ rows: { topic: string; consumerGroup: string | null; accumulation: number; inTotal: number; outTotal: number }[] }>(['admin', 'statsAll', '-n', ns, '-t', 'OpsTopic', '--interval', '0.5']);
    const row = r.rows.find((x) => x.consumerGroup === 'OpsGroup');
    expect(row).toBeDefined();
    expect(row!.accumulation).toBe(15);
    expect(row!.inTotal).toBeGreaterThanOrEqual(20);
    expect(row!.outTotal).toBeGreaterThanOrEqual(5);
  });
});

describe('rmq bench output for scripts', () => {
  it('--json prints one document with every phase; --json-lines one line per phase', async () => {
    const doc = await json<{ command: string; phases: { n: number; verified: boolean | null }[]; verified: boolean }>(['bench', 'e2e', '-n', ns, '-N', '50', '--queues', '2'], 120_000);
    expect(doc.command).toBe('e2e');
    expect(doc.phases).toHaveLength(1);
    expect(doc.phases[0]).toMatchObject({ n: 50, verified: true });
    expect(doc.verified).toBe(true);
    const lines = await rmq(['bench', 'e2e', '-n', ns, '-N', '50', '--queues', '2', '--mode', 'sync,pipelined', '--json-lines'], 120_000);
    expect(lines.status, lines.stderr).toBe(0);
    const parsed = lines.stdout.trim().split('\n').map((l) => JSON.parse(l) as { mode: string });
    expect(parsed.map((p) => p.mode)).toEqual(['sync', 'pipelined']);
  }, 300_000);
});
