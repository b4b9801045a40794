// The proxies of a whole cluster: one TcpProxy per directed Raft link between n nodes, plus any
// extra links the harness adds (broker → NameServer, client → broker). Node i is configured with
// 127.0.0.1:P(i→j) as the address of peer j, so each node's peer string differs, and cutting the
// proxy i→j silences exactly what i sends to j (the Raft transport dials one connection per
// direction and never answers on it). Partitions are sets of cut links; the shapes come from
// partition-shapes.ts. A cluster of several Raft groups is one mesh whose Raft links stay inside
// each group (MeshNode.group); `view(ids)` gives the nemeses one group's part of it.
import assert from 'node:assert/strict';
import {
  bridge,
  halves,
  isolate,
  linkKey,
  majoritiesRing,
  nodeOfEnd,
  oneWayInto,
  type DirectedLink,
  type NodeId,
  type Partition,
} from './partition-shapes.js';
import type { LinkFaults } from './link-faults.js';
import { SeededRandom } from './seeded-random.js';
import { TcpProxy, type BlockMode, type TcpProxyStats } from './tcp-proxy.js';

export interface MeshNode {
  id: NodeId;
  /** The port the node really listens on for this kind of link (its Raft port). */
  port: number;
  /** The Raft group; Raft links join nodes of the same group only (default: one group). */
  group?: string;
}

/** What a nemesis may do to the links of a mesh, or of one group's part of it (MeshView). */
export interface MeshControl {
  readonly nodeIds: NodeId[];
  links(): DirectedLink[];
  raftLinks(): DirectedLink[];
  blockedLinks(): DirectedLink[];
  block(links: readonly DirectedLink[], mode?: BlockMode): void;
  /** Reopens the given links, or every link (of the view) when none are given. */
  heal(links?: readonly DirectedLink[]): void;
  setFaults(faults: Partial<LinkFaults>, links?: readonly DirectedLink[]): void;
  /** Clears the latency and loss of every link (of the view). */
  clearFaults(): void;
}

export interface ProxyMeshOptions {
  nodes: MeshNode[];
  /** Listen port of the proxy for `from → to`; node positions are given for arithmetic layouts. */
  proxyPort: (from: number, to: number) => number;
  /** Seeds partition shapes drawn without an explicit seed and the proxies' loss draws. */
  seed: number;
  maxBufferedBytes?: number;
}

/** A proxy port layout inside one block of ports: P(i→j) = base + i·n + j (the diagonal unused). */
export function gridProxyPorts(basePort: number, nodeCount: number): (from: number, to: number) => number {
  assert(basePort > 0 && basePort + nodeCount * nodeCount <= 65536, `ports ${basePort}+${nodeCount}² out of range`);
  return (from, to) => basePort + from * nodeCount + to;
}

const HOST = '127.0.0.1';

export class ProxyMesh implements MeshControl {
  private readonly proxies = new Map<string, TcpProxy>();
  private readonly blocked = new Map<string, DirectedLink>();
  private readonly rng: SeededRandom;
  private closed = false;

  private constructor(
    readonly nodes: readonly MeshNode[],
    readonly seed: number,
    private readonly maxBufferedBytes: number | undefined,
  ) {
    this.rng = new SeededRandom(seed);
  }

  /** Listens on every Raft-link proxy; on failure closes the ones already open and rethrows. */
  static async create(options: ProxyMeshOptions): Promise<ProxyMesh> {
    const ids = options.nodes.map((n) => n.id);
    assert(ids.length >= 2 && new Set(ids).size === ids.length, `mesh needs ≥ 2 unique node ids: ${ids.join(',')}`);
    const mesh = new ProxyMesh(options.nodes, options.seed, options.maxBufferedBytes);
    try {
      for (let i = 0; i < options.nodes.length; i++) {
        for (let j = 0; j < options.nodes.length; j++) {
          const to = options.nodes[j]!;
          if (i === j || options.nodes[i]!.group !== to.group) continue;
          await mesh.addLink(options.nodes[i]!.id, to.id, to.port, options.proxyPort(i, j));
        }
      }
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }

  get nodeIds(): NodeId[] {
    return this.nodes.map((n) => n.id);
  }

  /** The part of the mesh that touches these nodes (one group's): what its nemeses see and undo. */
  view(ids: readonly NodeId[]): MeshControl {
    for (const id of ids) this.node(id);
    return new MeshView(this, ids);
  }

  /** Adds a proxied link `from → to` listening on `listenPort` and forwarding to `targetPort`. */
  async addLink(from: string, to: string, targetPort: number, listenPort: number): Promise<TcpProxy> {
    assert(!this.closed, 'mesh used after close');
    const key = linkKey({ from, to });
    assert(!this.proxies.has(key), `link ${key} added twice`);
    const proxy = await TcpProxy.listen({
      name: key,
      listenPort,
      targetPort,
      seed: this.rng.int(0, 2 ** 31 - 1),
      ...(this.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: this.maxBufferedBytes }),
    });
    this.proxies.set(key, proxy);
    return proxy;
  }

  proxy(from: string, to: string): TcpProxy {
    const p = this.proxies.get(linkKey({ from, to }));
    assert(p !== undefined, `no proxied link ${from}->${to}`);
    return p;
  }

  links(): DirectedLink[] {
    return [...this.proxies.keys()].map(parseLinkKey);
  }

  /** Where `from` must send to reach `to`: the proxy, or the node's own address for itself. */
  peerAddress(from: NodeId, to: NodeId): string {
    if (from === to) return `${HOST}:${this.node(to).port}`;
    return `${HOST}:${this.proxy(from, to).listenPort}`;
  }

  /** The DLedger peer string node `self` is configured with: `n0-127.0.0.1:P;n1-...`. */
  peersFor(self: NodeId): string {
    const group = this.node(self).group;
    return this.nodes.filter((n) => n.group === group).map((n) => `${n.id}-${this.peerAddress(self, n.id)}`).join(';');
  }

  /** Cuts the given links (adding to those already cut). */
  block(links: readonly DirectedLink[], mode: BlockMode = 'hang'): void {
    assert(!this.closed, 'mesh used after close');
    for (const link of links) {
      this.proxy(link.from, link.to).block(mode);
      this.blocked.set(linkKey(link), link);
    }
  }

  /** Reopens the given links, or every link when none are given. */
  heal(links?: readonly DirectedLink[]): void {
    if (this.closed) return;
    const targets = links ?? [...this.blocked.values()];
    for (const link of targets) {
      this.proxy(link.from, link.to).heal();
      this.blocked.delete(linkKey(link));
    }
  }

  blockedLinks(): DirectedLink[] {
    return [...this.blocked.values()];
  }

  /** Cuts a partition's links and returns it, for the history record. */
  apply(partition: Partition, mode: BlockMode = 'hang'): Partition {
    this.block(partition.links, mode);
    return partition;
  }

  isolate(node: NodeId): Partition {
    return this.apply(isolate(this.nodeIds, node));
  }

  halves(seed?: number | SeededRandom): Partition {
    return this.apply(halves(this.nodeIds, this.rngFor(seed)));
  }

  majoritiesRing(seed?: number | SeededRandom): Partition {
    return this.apply(majoritiesRing(this.nodeIds, this.rngFor(seed)));
  }

  bridge(seed?: number | SeededRandom): Partition {
    return this.apply(bridge(this.nodeIds, this.rngFor(seed)));
  }

  /** Cuts every link from any of `from` to any of `to` (one direction only). */
  oneWay(from: NodeId | readonly NodeId[], to: NodeId | readonly NodeId[]): Partition {
    const froms = typeof from === 'string' ? [from] : from;
    const tos = typeof to === 'string' ? [to] : to;
    const links = froms.flatMap((f) => tos.filter((t) => t !== f).map((t) => ({ from: f, to: t })));
    return this.apply({ shape: 'one-way', links });
  }

  /** The node can send but hears nothing: every link into it is cut. */
  oneWayInto(node: NodeId): Partition {
    return this.apply(oneWayInto(this.nodeIds, node));
  }

  /** Latency and loss on the given links (default: every Raft link). */
  setFaults(faults: Partial<LinkFaults>, links: readonly DirectedLink[] = this.raftLinks()): void {
    for (const link of links) this.proxy(link.from, link.to).setFaults(faults);
  }

  clearFaults(links?: readonly DirectedLink[]): void {
    if (links === undefined) for (const p of this.proxies.values()) p.clearFaults();
    else for (const link of links) this.proxy(link.from, link.to).clearFaults();
  }

  /** The links between the mesh's nodes (not the extra ones added with addLink). */
  raftLinks(): DirectedLink[] {
    const ids = new Set(this.nodeIds);
    return this.links().filter((l) => ids.has(l.from) && ids.has(l.to));
  }

  stats(): Record<string, TcpProxyStats> {
    const out: Record<string, TcpProxyStats> = {};
    for (const [key, p] of this.proxies) out[key] = p.stats();
    return out;
  }

  /** Closes every proxy and every socket they hold. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    this.proxies.clear();
    this.blocked.clear();
  }

  private node(id: NodeId): MeshNode {
    const n = this.nodes.find((x) => x.id === id);
    assert(n !== undefined, `unknown node ${id}`);
    return n;
  }

  private rngFor(seed: number | SeededRandom | undefined): SeededRandom {
    if (seed === undefined) return this.rng;
    return typeof seed === 'number' ? new SeededRandom(seed) : seed;
  }
}

/** One group's part of a mesh: its nodes, and the links from or to them. */
class MeshView implements MeshControl {
  constructor(
    private readonly mesh: ProxyMesh,
    private readonly ids: readonly NodeId[],
  ) {}

  get nodeIds(): NodeId[] {
    return [...this.ids];
  }

  private mine(links: DirectedLink[]): DirectedLink[] {
    return links.filter((l) => this.ids.includes(nodeOfEnd(l.from)) || this.ids.includes(nodeOfEnd(l.to)));
  }

  links(): DirectedLink[] {
    return this.mine(this.mesh.links());
  }

  raftLinks(): DirectedLink[] {
    return this.mine(this.mesh.raftLinks());
  }

  blockedLinks(): DirectedLink[] {
    return this.mine(this.mesh.blockedLinks());
  }

  block(links: readonly DirectedLink[], mode?: BlockMode): void {
    this.mesh.block(links, mode);
  }

  heal(links?: readonly DirectedLink[]): void {
    this.mesh.heal(links ?? this.blockedLinks());
  }

  setFaults(faults: Partial<LinkFaults>, links: readonly DirectedLink[] = this.raftLinks()): void {
    this.mesh.setFaults(faults, links);
  }

  clearFaults(): void {
    this.mesh.clearFaults(this.links());
  }
}

function parseLinkKey(key: string): DirectedLink {
  const at = key.indexOf('->');
  assert(at > 0, `bad link key ${key}`);
  return { from: key.slice(0, at), to: key.slice(at + 2) };
}
