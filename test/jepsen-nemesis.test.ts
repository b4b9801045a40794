// Nemeses inject exactly the fault they name, undo exactly it, and write matching start/stop
// history records; healAll leaves nothing broken; the mix schedule is a seeded, bounded
// alternation of fault and health. Links are a real ProxyMesh (on random free port blocks); processes
// are an in-memory NodeControl here (real processes: jepsen-nemesis-process.test.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeControl, NodeStatus } from '../jepsen-like/db/node-control.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { NemesisOp } from '../jepsen-like/history/types.js';
import { healAll } from '../jepsen-like/nemesis/heal-all.js';
import { runMix } from '../jepsen-like/nemesis/mix.js';
import type { NemesisContext } from '../jepsen-like/nemesis/nemesis.js';
import { linkDelay, packetLoss } from '../jepsen-like/nemesis/link-nemeses.js';
import {
  partitionClientsLeader,
  partitionClientsRandomNode,
  partitionIsolateLeader,
  partitionNamesrv,
  partitionOneWayLeader,
  partitionRandomHalves,
} from '../jepsen-like/nemesis/partition-nemeses.js';
import { killLeader, killMajority, pauseLeader } from '../jepsen-like/nemesis/process-nemeses.js';
import { NEMESIS_NAMES, parseNemesisList } from '../jepsen-like/nemesis/registry.js';
import { linkKey } from '../jepsen-like/net/partition-shapes.js';
import { gridProxyPorts, ProxyMesh } from '../jepsen-like/net/proxy-mesh.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';
import { onFreePorts } from './jepsen-net-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

class FakeNodes implements NodeControl {
  readonly states = new Map<string, NodeStatus>();
  readonly calls: string[] = [];
  constructor(readonly nodeIds: string[]) {
    for (const id of nodeIds) this.states.set(id, 'running');
  }
  status(id: string): NodeStatus {
    return this.states.get(id)!;
  }
  async kill(id: string): Promise<void> {
    this.calls.push(`kill ${id}`);
    this.states.set(id, 'exited');
  }
  async restart(id: string): Promise<void> {
    this.calls.push(`restart ${id}`);
    this.states.set(id, 'running');
  }
  pause(id: string): void {
    this.calls.push(`pause ${id}`);
    this.states.set(id, 'paused');
  }
  resume(id: string): void {
    this.calls.push(`resume ${id}`);
    this.states.set(id, 'running');
  }
}

let mesh: ProxyMesh | undefined;
afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
});

async function context(opts: { leader?: string; seed?: number; base?: number } = {}): Promise<{ ctx: NemesisContext; nodes: FakeNodes; history: HistoryBuilder }> {
  const ids = ['n0', 'n1', 'n2'];
  // Proxies need a target port only when someone dials them; these tests only switch states.
  mesh = await onFreePorts(opts.base !== undefined ? [opts.base] : 40, async (base) => {
    const m = await ProxyMesh.create({ nodes: ids.map((id, i) => ({ id, port: base + i })), proxyPort: gridProxyPorts(base + 10, 3), seed: 3 });
    await Promise.all([m.addLink('n0', 'namesrv', base + 30, base + 31), m.addLink('clients', 'n0', base + 30, base + 32), m.addLink('clients', 'n1', base + 30, base + 33)]).catch(async (err: unknown) => {
      await m.close();
      throw err;
    });
    return m;
  });
  const nodes = new FakeNodes(ids);
  const history = new HistoryBuilder();
  const ctx: NemesisContext = { mesh, nodes, leaderOf: async () => opts.leader, history, rng: new SeededRandom(opts.seed ?? 11) };
  return { ctx, nodes, history };
}

const nemesisOps = (h: HistoryBuilder): NemesisOp['value'][] => h.history().filter((op): op is NemesisOp => op.f === 'nemesis').map((op) => op.value);
const blocked = (m: ProxyMesh): string[] => m.blockedLinks().map(linkKey).sort();

describe('partition nemeses', () => {
  it('cut random halves of 1 and 2 nodes, record the components, and heal exactly those links', async () => {
    const { ctx, history } = await context();
    const n = partitionRandomHalves();
    expect(await n.start(ctx)).toBe(true);
    const [start] = nemesisOps(history);
    expect(start).toMatchObject({ kind: 'start', fault: 'partition-random-halves' });
    const [small, large] = (start!.detail as { components: string[][] }).components;
    expect([small!.length, large!.length]).toEqual([1, 2]);
    expect(blocked(mesh!)).toEqual((start!.detail as { links: string[] }).links.slice().sort());
    expect(blocked(mesh!).length).toBe(4);
    for (const l of mesh!.blockedLinks()) expect(mesh!.proxy(l.from, l.to).state).toBe('blocked');

    await n.stop(ctx);
    expect(nemesisOps(history)[1]).toMatchObject({ kind: 'stop', fault: 'partition-random-halves' });
    expect(blocked(mesh!)).toEqual([]);
    expect(mesh!.links().every((l) => mesh!.proxy(l.from, l.to).state === 'open')).toBe(true);
  });

  it('isolate the leader the harness names, and do nothing (no record) when there is no leader', async () => {
    const { ctx, history } = await context({ leader: 'n1' });
    const n = partitionIsolateLeader();
    expect(await n.start(ctx)).toBe(true);
    expect(blocked(mesh!)).toEqual(['n0->n1', 'n1->n0', 'n1->n2', 'n2->n1']);
    await n.stop(ctx);

    ctx.leaderOf = async () => undefined;
    expect(await n.start(ctx)).toBe(false);
    expect(n.isActive).toBe(false);
    expect(nemesisOps(history).length).toBe(2);
  });

  it('let the leader send but not receive in one-way-leader', async () => {
    const { ctx } = await context({ leader: 'n2' });
    await partitionOneWayLeader().start(ctx);
    expect(blocked(mesh!)).toEqual(['n0->n2', 'n1->n2']);
    expect(mesh!.proxy('n2', 'n0').state).toBe('open');
  });

  it('cut the brokers from the NameServer in partition-namesrv, leaving Raft links alone', async () => {
    const { ctx } = await context();
    await partitionNamesrv().start(ctx);
    expect(blocked(mesh!)).toEqual(['n0->namesrv']);
  });

  it('cut the clients from the leader, or from one random node, leaving Raft links alone', async () => {
    const { ctx } = await context({ leader: 'n1' });
    const a = partitionClientsLeader();
    await a.start(ctx);
    expect(blocked(mesh!)).toEqual(['clients->n1']);
    await a.stop(ctx);
    const b = partitionClientsRandomNode();
    await b.start(ctx);
    expect(blocked(mesh!)).toHaveLength(1);
    expect(blocked(mesh!)[0]).toMatch(/^clients->n[01]$/);
    await b.stop(ctx);
    expect(blocked(mesh!)).toEqual([]);
    ctx.leaderOf = async () => 'n2';
    expect(await partitionClientsLeader().start(ctx)).toBe(false);
  });

  it('heal only their own links when two partitions overlap in time', async () => {
    const { ctx } = await context({ leader: 'n0' });
    const a = partitionOneWayLeader();
    const b = partitionNamesrv();
    await a.start(ctx);
    await b.start(ctx);
    await a.stop(ctx);
    expect(blocked(mesh!)).toEqual(['n0->namesrv']);
  });
});

describe('process and link nemeses', () => {
  it('kill the leader and restart it on stop, recording which node', async () => {
    const { ctx, nodes, history } = await context({ leader: 'n2' });
    const n = killLeader();
    await n.start(ctx);
    expect(nodes.status('n2')).toBe('exited');
    await n.stop(ctx);
    expect(nodes.calls).toEqual(['kill n2', 'restart n2']);
    expect(nemesisOps(history)).toEqual([
      { kind: 'start', fault: 'kill-leader', detail: { nodes: ['n2'] } },
      { kind: 'stop', fault: 'kill-leader', detail: { restarted: ['n2'] } },
    ]);
  });

  it('kill a majority: two of three nodes', async () => {
    const { ctx, nodes } = await context();
    const n = killMajority();
    await n.start(ctx);
    expect([...nodes.states.values()].filter((s) => s === 'exited').length).toBe(2);
    await n.stop(ctx);
    expect([...nodes.states.values()].every((s) => s === 'running')).toBe(true);
  });

  it('pause the leader until stop, and record how long it was paused', async () => {
    const { ctx, nodes, history } = await context({ leader: 'n0' });
    const n = pauseLeader();
    await n.start(ctx);
    expect(nodes.status('n0')).toBe('paused');
    await sleep(60);
    await n.stop(ctx);
    expect(nodes.status('n0')).toBe('running');
    const stop = nemesisOps(history)[1]!.detail as { pausedForAtLeastMs: number; resumed: string[] };
    expect(stop.resumed).toEqual(['n0']);
    expect(stop.pausedForAtLeastMs).toBeGreaterThanOrEqual(50);
  });

  it('keep a pause going until minPauseMs has passed, however early stop is called', async () => {
    const { ctx, nodes } = await context({ leader: 'n0' });
    const n = pauseLeader(150);
    await n.start(ctx);
    const started = Date.now();
    await n.stop(ctx);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(nodes.calls).toEqual(['pause n0', 'resume n0']);
  });

  it('degrade every Raft link with loss or delay and clear it on stop', async () => {
    const { ctx } = await context();
    const loss = packetLoss(0.3, 50);
    await loss.start(ctx);
    for (const l of mesh!.raftLinks()) expect(mesh!.proxy(l.from, l.to).faults.lossProbability).toBe(0.3);
    expect(mesh!.proxy('n0', 'namesrv').faults.lossProbability).toBe(0);
    await loss.stop(ctx);
    const delay = linkDelay(40);
    await delay.start(ctx);
    expect(mesh!.proxy('n1', 'n0').faults.delayMs).toBe(40);
    await delay.stop(ctx);
    for (const l of mesh!.links()) expect(mesh!.proxy(l.from, l.to).faults).toMatchObject({ delayMs: 0, lossProbability: 0 });
  });
});

describe('healAll and the mix schedule', () => {
  it('healAll stops active nemeses and repairs damage nobody recorded', async () => {
    const { ctx, nodes, history } = await context({ leader: 'n1' });
    const active = partitionIsolateLeader();
    await active.start(ctx);
    mesh!.block([{ from: 'n0', to: 'n2' }]);
    mesh!.setFaults({ delayMs: 10 });
    nodes.pause('n0');
    await nodes.kill('n2');

    const summary = await healAll(ctx, [active, killLeader()]);
    expect(summary).toMatchObject({ nemesesStopped: ['partition-isolate-leader'], resumed: ['n0'], restarted: ['n2'], errors: [] });
    expect(mesh!.blockedLinks()).toEqual([]);
    expect(mesh!.proxy('n0', 'n1').faults.delayMs).toBe(0);
    expect([...nodes.states.values()].every((s) => s === 'running')).toBe(true);
    expect(nemesisOps(history).map((v) => `${v.kind} ${v.fault}`)).toEqual(['start partition-isolate-leader', 'stop partition-isolate-leader']);
  });

  it('alternates fault and heal with matching start/stop records, and ends healed', async () => {
    const { ctx, nodes, history } = await context({ leader: 'n0' });
    const nemeses = parseNemesisList('partition-random-halves,kill-leader,pause-random');
    const summary = await runMix(ctx, { nemeses, durationMs: 700, faultMs: 60, healMs: 40, initialQuietMs: 20 });
    const ops = nemesisOps(history);
    expect(ops.length).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < ops.length; i += 2) {
      expect(ops[i]!.kind).toBe('start');
      expect(ops[i + 1]).toMatchObject({ kind: 'stop', fault: ops[i]!.fault });
    }
    expect(summary.seed).toBe(11);
    // The seed that replays the schedule is in the history itself.
    expect(ops[0]!.detail).toMatchObject({ cycle: 0, seed: 11 });
    expect(summary.faults.filter((f) => f.started).length).toBe(ops.length / 2);
    expect(new Set(summary.faults.map((f) => f.fault)).size).toBeGreaterThan(1);
    expect(mesh!.blockedLinks()).toEqual([]);
    expect([...nodes.states.values()].every((s) => s === 'running')).toBe(true);
    // The history the recorder accepted is well-formed: times never go back.
    const times = history.history().map((op) => op.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('draws the same fault sequence from the same seed', async () => {
    const sequence = async (seed: number, base: number): Promise<string[]> => {
      const { ctx } = await context({ leader: 'n0', seed, base });
      const s = await runMix(ctx, { nemeses: parseNemesisList('all'), durationMs: 150, faultMs: 10, healMs: 1, initialQuietMs: 0 });
      await mesh!.close();
      return s.faults.map((f) => f.fault);
    };
    const base = await findFreeBlock(40);
    const a = await sequence(99, base);
    const b = await sequence(99, base);
    expect(a.length).toBeGreaterThan(3);
    expect(b.slice(0, 3)).toEqual(a.slice(0, 3));
  });

  it('stops early on abort and still heals', async () => {
    const { ctx, nodes, history } = await context({ leader: 'n0' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 80);
    const started = Date.now();
    await runMix(ctx, { nemeses: [killMajority()], durationMs: 10_000, faultMs: 5_000, healMs: 5_000, initialQuietMs: 10, signal: ac.signal });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(nemesisOps(history).map((v) => v.kind)).toEqual(['start', 'stop']);
    expect([...nodes.states.values()].every((s) => s === 'running')).toBe(true);
  });

  it('knows every kind the brief lists and rejects an unknown name', () => {
    for (const name of ['partition-random-halves', 'partition-isolate-leader', 'partition-majorities-ring', 'partition-bridge', 'partition-one-way-leader', 'kill-random-node', 'kill-leader', 'kill-majority', 'pause-leader', 'pause-random', 'packet-loss', 'delay', 'retention', 'partition-clients-leader', 'partition-clients-random-node']) {
      expect(NEMESIS_NAMES).toContain(name);
    }
    expect(() => parseNemesisList('kill-leader,bogus')).toThrow(/unknown nemesis 'bogus'/);
  });
});
