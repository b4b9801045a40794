// Partition shapes have the right geometry, and a ProxyMesh wires per-node peer strings through
// one proxy per directed link and cuts exactly the links a shape names. Ports: random free blocks.
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bridge,
  halves,
  isolate,
  linkKey,
  majoritiesRing,
  oneWayInto,
  receiveViews,
  type DirectedLink,
} from '../jepsen-like/net/partition-shapes.js';
import { gridProxyPorts, ProxyMesh } from '../jepsen-like/net/proxy-mesh.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';
import { dial, eventually, onFreePorts, recordingServer, type Recorder } from './jepsen-net-helpers.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i}`);

/** True when no cut link joins two nodes of the same component and every cross pair is cut both ways. */
function separates(components: string[][], links: DirectedLink[]): boolean {
  const cut = new Set(links.map(linkKey));
  const side = new Map<string, number>();
  components.forEach((c, i) => c.forEach((n) => side.set(n, i)));
  for (const a of side.keys()) {
    for (const b of side.keys()) {
      if (a === b) continue;
      const apart = side.get(a) !== side.get(b);
      if (cut.has(`${a}->${b}`) !== apart) return false;
    }
  }
  return true;
}

describe('partition shapes', () => {
  it('splits n nodes into random halves of sizes floor(n/2) and ceil(n/2) with every cross link cut', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.integer(), (n, seed) => {
        const p = halves(ids(n), new SeededRandom(seed));
        const [small, large] = p.components!;
        expect(small!.length).toBe(Math.floor(n / 2));
        expect(large!.length).toBe(Math.ceil(n / 2));
        expect(new Set([...small!, ...large!]).size).toBe(n);
        expect(separates([small!, large!], p.links)).toBe(true);
        expect(p.links.length).toBe(2 * small!.length * large!.length);
      }),
    );
  });

  it('draws different halves from different seeds and the same halves from the same seed', () => {
    const nodes = ids(5);
    const draw = (seed: number) => halves(nodes, new SeededRandom(seed)).components![0]!.join();
    expect(draw(42)).toBe(draw(42));
    const distinct = new Set(Array.from({ length: 20 }, (_, s) => draw(s)));
    expect(distinct.size).toBeGreaterThan(3);
  });

  it('isolates one node from all the others in both directions', () => {
    const p = isolate(ids(5), 'n2');
    expect(separates([['n2'], ['n0', 'n1', 'n3', 'n4']], p.links)).toBe(true);
    const views = receiveViews(ids(5), p.links);
    expect([...views.get('n2')!]).toEqual(['n2']);
    expect(views.get('n0')!.size).toBe(4);
  });

  it('gives each of 5 nodes on a majorities ring a majority view, no two views alike', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const nodes = ids(5);
        const p = majoritiesRing(nodes, new SeededRandom(seed));
        const views = receiveViews(nodes, p.links);
        const seen = new Set<string>();
        for (const n of nodes) {
          const view = [...views.get(n)!].sort();
          expect(view.length).toBe(3);
          expect(view).toContain(n);
          expect(view).toEqual([...p.views![n]!].sort());
          seen.add(view.join());
        }
        expect(seen.size).toBe(5);
        // Symmetric for five nodes: a receives from b exactly when b receives from a.
        for (const a of nodes) for (const b of nodes) expect(views.get(a)!.has(b)).toBe(views.get(b)!.has(a));
      }),
    );
  });

  it('gives every node of a majorities ring of any size a view of exactly a majority', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.integer(), (n, seed) => {
        const views = receiveViews(ids(n), majoritiesRing(ids(n), new SeededRandom(seed)).links);
        for (const v of views.values()) expect(v.size).toBe(Math.floor(n / 2) + 1);
      }),
    );
  });

  it('builds a bridge: two sides cut from each other, one node that hears and reaches both', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.integer(), (n, seed) => {
        const p = bridge(ids(n), new SeededRandom(seed));
        const [left, right] = p.components!;
        const bridgeNode = left!.filter((x) => right!.includes(x));
        expect(bridgeNode.length).toBe(1);
        const views = receiveViews(ids(n), p.links);
        expect(views.get(bridgeNode[0]!)!.size).toBe(n);
        const sides = [left!.filter((x) => x !== bridgeNode[0]), right!.filter((x) => x !== bridgeNode[0])];
        expect(separates(sides, p.links.filter((l) => l.from !== bridgeNode[0] && l.to !== bridgeNode[0]))).toBe(true);
        expect(Math.abs(sides[0]!.length - sides[1]!.length)).toBeLessThanOrEqual(1);
        for (const l of p.links) expect(l.from === bridgeNode[0] || l.to === bridgeNode[0]).toBe(false);
      }),
    );
  });

  it('cuts every link into a node for one-way, leaving its outbound links open', () => {
    const p = oneWayInto(ids(3), 'n1');
    expect(p.links.map(linkKey).sort()).toEqual(['n0->n1', 'n2->n1']);
  });
});

describe('ProxyMesh', () => {
  const servers: Recorder[] = [];
  let mesh: ProxyMesh | undefined;
  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
    for (const s of servers.splice(0)) await s.close();
  });

  let base = 0;
  async function threeNodes(): Promise<ProxyMesh> {
    mesh = await onFreePorts(30, async (b) => {
      base = b;
      for (const s of servers.splice(0)) await s.close();
      for (let i = 0; i < 3; i++) servers.push(await recordingServer(b + i, false));
      return ProxyMesh.create({ nodes: ids(3).map((id, i) => ({ id, port: b + i })), proxyPort: gridProxyPorts(b + 10, 3), seed: 1 });
    });
    return mesh;
  }

  it('gives each node a peer string with its own real port and a proxy port for every other node', async () => {
    const m = await threeNodes();
    const at = (offset: number) => `127.0.0.1:${base + offset}`;
    expect(m.peersFor('n0')).toBe(`n0-${at(0)};n1-${at(11)};n2-${at(12)}`);
    expect(m.peersFor('n1')).toBe(`n0-${at(13)};n1-${at(1)};n2-${at(15)}`);
    expect(m.links().length).toBe(6);
  });

  it('cuts exactly the links of an isolation, and heal reopens them', async () => {
    const m = await threeNodes();
    const send = async (from: string, to: string, text: string) => {
      const c = await dial(Number(m.peerAddress(from, to).split(':')[1]));
      c.socket.write(text);
      return c;
    };
    const p = m.isolate('n0');
    expect(m.blockedLinks().map(linkKey).sort()).toEqual(['n0->n1', 'n0->n2', 'n1->n0', 'n2->n0']);
    const clients = [await send('n0', 'n1', 'a'), await send('n1', 'n2', 'b'), await send('n2', 'n0', 'c')];
    expect(await eventually(() => servers[2]!.received() === 'b')).toBe(true);
    await sleep(200);
    expect(servers[1]!.received()).toBe('');
    expect(servers[0]!.received()).toBe('');
    expect(p.components).toEqual([['n0'], ['n1', 'n2']]);

    m.heal();
    expect(m.blockedLinks()).toEqual([]);
    expect(await eventually(() => servers[1]!.received() === 'a' && servers[0]!.received() === 'c')).toBe(true);
    for (const c of clients) c.socket.resetAndDestroy();
  });

  it('applies one-way-into to the proxies so the node still sends but receives nothing', async () => {
    const m = await threeNodes();
    m.oneWayInto('n2');
    expect(m.proxy('n0', 'n2').state).toBe('blocked');
    expect(m.proxy('n1', 'n2').state).toBe('blocked');
    expect(m.proxy('n2', 'n0').state).toBe('open');
    expect(m.proxy('n0', 'n1').state).toBe('open');
  });

  it('closes every proxy so no port stays open', async () => {
    const m = await threeNodes();
    await m.close();
    mesh = undefined;
    await expect(dial(base + 11)).rejects.toThrow();
  });
});
