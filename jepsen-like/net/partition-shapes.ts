// The partition shapes Jepsen made standard, as pure functions from node ids to the set of
// directed links to cut. They know nothing of sockets, so their geometry is tested on its own
// and the same shapes can drive any link layer. A link `from → to` carries what `from` sends to
// `to`; cutting both directions separates two nodes, cutting one models an asymmetric fault.
import assert from 'node:assert/strict';
import type { SeededRandom } from './seeded-random.js';

export type NodeId = string;

/** The `from` of every workload client → broker link in a mesh (a partitioned client). */
export const CLIENTS = 'clients';

export interface DirectedLink {
  from: NodeId;
  to: NodeId;
}

export interface Partition {
  /** e.g. `halves`, `isolate`, `majorities-ring`, `bridge`, `one-way-into`. */
  shape: string;
  /** The links to cut. */
  links: DirectedLink[];
  /** Groups of nodes that still talk freely (when the shape has them). */
  components?: NodeId[][];
  /** Per node, the nodes it still receives from, itself included (majorities ring). */
  views?: Record<NodeId, NodeId[]>;
}

/**
 * The node an end of a link belongs to: the id itself, or for a port of a node other than its
 * main one (a front door, `n0/door1`) the part before the `/`.
 */
export function nodeOfEnd(end: NodeId): NodeId {
  const at = end.indexOf('/');
  return at < 0 ? end : end.slice(0, at);
}

export function linkKey(link: DirectedLink): string {
  return `${link.from}->${link.to}`;
}

/** Every link from a node of `a` to a node of `b` and back. */
export function linksBetween(a: readonly NodeId[], b: readonly NodeId[]): DirectedLink[] {
  const links: DirectedLink[] = [];
  for (const x of a) {
    for (const y of b) {
      if (x === y) continue;
      links.push({ from: x, to: y }, { from: y, to: x });
    }
  }
  return links;
}

/** Cuts one node off from every other, both directions. */
export function isolate(nodes: readonly NodeId[], node: NodeId): Partition {
  assertNodes(nodes);
  assert(nodes.includes(node), `unknown node ${node}`);
  const rest = nodes.filter((n) => n !== node);
  return { shape: 'isolate', links: linksBetween([node], rest), components: [[node], rest] };
}

/** Two random halves of sizes ⌊n/2⌋ and ⌈n/2⌉ that cannot talk to each other. */
export function halves(nodes: readonly NodeId[], rng: SeededRandom): Partition {
  assertNodes(nodes);
  const shuffled = rng.shuffle(nodes);
  const small = shuffled.slice(0, Math.floor(nodes.length / 2));
  const large = shuffled.slice(small.length);
  return { shape: 'halves', links: linksBetween(small, large), components: [small, large] };
}

/**
 * Nodes on a random ring, each receiving only from the majority of nodes nearest to it on the
 * ring (itself included). Every node sees a majority, but for five nodes no two see the same
 * one, which is the case that breaks algorithms trusting "I can reach a majority".
 */
export function majoritiesRing(nodes: readonly NodeId[], rng: SeededRandom): Partition {
  assertNodes(nodes);
  const n = nodes.length;
  const ring = rng.shuffle(nodes);
  const majority = Math.floor(n / 2) + 1;
  const before = Math.floor((majority - 1) / 2);
  const after = majority - 1 - before;
  const views: Record<NodeId, NodeId[]> = {};
  const links: DirectedLink[] = [];
  for (let i = 0; i < n; i++) {
    const self = ring[i]!;
    const view = new Set<NodeId>();
    for (let d = -before; d <= after; d++) view.add(ring[(i + d + n) % n]!);
    views[self] = nodes.filter((x) => view.has(x));
    for (const other of nodes) if (!view.has(other)) links.push({ from: other, to: self });
  }
  return { shape: 'majorities-ring', links, views };
}

/**
 * Two sides that cannot talk to each other, joined by one bridge node that talks to both: for
 * five nodes 2 | 1 | 2. The bridge can win an election with either side's votes.
 */
export function bridge(nodes: readonly NodeId[], rng: SeededRandom): Partition {
  assertNodes(nodes);
  assert(nodes.length >= 3, 'a bridge needs at least 3 nodes');
  const shuffled = rng.shuffle(nodes);
  const leftSize = Math.floor((nodes.length - 1) / 2);
  const left = shuffled.slice(0, leftSize);
  const bridgeNode = shuffled[leftSize]!;
  const right = shuffled.slice(leftSize + 1);
  return { shape: 'bridge', links: linksBetween(left, right), components: [[...left, bridgeNode], [bridgeNode, ...right]] };
}

/** Every link into `node` is cut: it can still send, but hears nothing (not even replies). */
export function oneWayInto(nodes: readonly NodeId[], node: NodeId): Partition {
  assertNodes(nodes);
  assert(nodes.includes(node), `unknown node ${node}`);
  const links = nodes.filter((n) => n !== node).map((from) => ({ from, to: node }));
  return { shape: 'one-way-into', links, components: [[node], nodes.filter((n) => n !== node)] };
}

/** For each node, the nodes it still receives from directly (itself included). */
export function receiveViews(nodes: readonly NodeId[], links: readonly DirectedLink[]): Map<NodeId, Set<NodeId>> {
  const cut = new Set(links.map(linkKey));
  const views = new Map<NodeId, Set<NodeId>>();
  for (const to of nodes) {
    views.set(to, new Set(nodes.filter((from) => from === to || !cut.has(linkKey({ from, to })))));
  }
  return views;
}

function assertNodes(nodes: readonly NodeId[]): void {
  assert(nodes.length >= 2, 'a partition needs at least 2 nodes');
  assert(new Set(nodes).size === nodes.length, `node ids must be unique: ${nodes.join(',')}`);
}
