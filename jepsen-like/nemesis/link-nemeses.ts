// A degraded network instead of a cut one: packet loss (modelled as TCP retransmission delay)
// or added latency on every Raft link. Elections and replication must keep working, slower.
import type { LinkFaults } from '../net/link-faults.js';
import { linkKey } from '../net/partition-shapes.js';
import { Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

export class LinkFaultNemesis extends Nemesis {
  constructor(
    readonly fault: string,
    private readonly faults: Partial<LinkFaults>,
  ) {
    super();
  }

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const links = ctx.mesh.raftLinks();
    ctx.mesh.setFaults(this.faults, links);
    return { ...this.faults, links: links.map(linkKey) };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    ctx.mesh.clearFaults();
    return { cleared: true };
  }
}

export const packetLoss = (lossProbability = 0.2, retransmitMs = 200): Nemesis =>
  new LinkFaultNemesis('packet-loss', { lossProbability, retransmitMs });

export const linkDelay = (delayMs = 100): Nemesis => new LinkFaultNemesis('delay', { delayMs });
