// Partitions through the proxy mesh: random halves, one random node, the leader isolated, the
// majorities ring, the bridge, the leader able to send but not receive, and the brokers cut off
// from the NameServer, and the workload's clients cut off from the leader or from one node.
// Each remembers the exact links it cut and heals only those, so two nemeses never heal each
// other's faults.
import { bridge, CLIENTS, halves, isolate, linkKey, majoritiesRing, nodeOfEnd, oneWayInto, type DirectedLink, type Partition } from '../net/partition-shapes.js';
import { awaitLeader, Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

type Chooser = (ctx: NemesisContext) => Promise<Partition | null>;

export class PartitionNemesis extends Nemesis {
  private cut: DirectedLink[] = [];

  constructor(
    readonly fault: string,
    private readonly choose: Chooser,
  ) {
    super();
  }

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const p = await this.choose(ctx);
    if (p === null) return null;
    this.cut = p.links;
    ctx.mesh.block(p.links);
    const detail: FaultDetail = { shape: p.shape, links: p.links.map(linkKey) };
    if (p.components !== undefined) detail['components'] = p.components;
    if (p.views !== undefined) detail['views'] = p.views;
    return detail;
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const healed = this.cut.map(linkKey);
    ctx.mesh.heal(this.cut);
    this.cut = [];
    return { healed };
  }
}

const ids = (ctx: NemesisContext): string[] => ctx.mesh.nodeIds;

export const partitionRandomHalves = (): Nemesis =>
  new PartitionNemesis('partition-random-halves', async (ctx) => halves(ids(ctx), ctx.rng));

export const partitionRandomNode = (): Nemesis =>
  new PartitionNemesis('partition-random-node', async (ctx) => isolate(ids(ctx), ctx.rng.pick(ids(ctx))));

export const partitionIsolateLeader = (): Nemesis =>
  new PartitionNemesis('partition-isolate-leader', async (ctx) => {
    const leader = await awaitLeader(ctx);
    return leader === undefined ? null : { ...isolate(ids(ctx), leader), shape: 'isolate-leader' };
  });

export const partitionMajoritiesRing = (): Nemesis =>
  new PartitionNemesis('partition-majorities-ring', async (ctx) => majoritiesRing(ids(ctx), ctx.rng));

export const partitionBridge = (): Nemesis => new PartitionNemesis('partition-bridge', async (ctx) => bridge(ids(ctx), ctx.rng));

/** The leader keeps sending (heartbeats, appends) but hears no reply or vote. */
export const partitionOneWayLeader = (): Nemesis =>
  new PartitionNemesis('partition-one-way-leader', async (ctx) => {
    const leader = await awaitLeader(ctx);
    return leader === undefined ? null : { ...oneWayInto(ids(ctx), leader), shape: 'one-way-into-leader' };
  });

/** Every broker → NameServer link (present only when the db proxies them). */
export const partitionNamesrv = (): Nemesis =>
  new PartitionNemesis('partition-namesrv', async (ctx) => {
    const links = ctx.mesh.links().filter((l) => l.to === 'namesrv');
    return links.length === 0 ? null : { shape: 'namesrv', links };
  });

/** The workload's clients cannot reach the leader's broker port (Raft links stay whole). */
export const partitionClientsLeader = (): Nemesis =>
  new PartitionNemesis('partition-clients-leader', async (ctx) => {
    const leader = await awaitLeader(ctx);
    if (leader === undefined) return null;
    // Every port of the leader's the clients dial: its broker port, and its front doors if any.
    const links = ctx.mesh.links().filter((l) => l.from === CLIENTS && nodeOfEnd(l.to) === leader);
    return links.length === 0 ? null : { shape: 'clients-leader', links };
  });

/** The workload's clients cannot reach one random node's broker port. */
export const partitionClientsRandomNode = (): Nemesis =>
  new PartitionNemesis('partition-clients-random-node', async (ctx) => {
    const links = ctx.mesh.links().filter((l) => l.from === CLIENTS);
    if (links.length === 0) return null;
    // A node and every port of it the clients dial (with front doors more than one).
    const nodes = [...new Set(links.map((l) => nodeOfEnd(l.to)))];
    const node = ctx.rng.pick(nodes);
    return { shape: 'clients-node', links: links.filter((l) => nodeOfEnd(l.to) === node) };
  });
