// Retention under faults: a follower is cut off from the rest of the group for the fault window
// while the group keeps writing; at the end of the window every node that can be reached deletes
// its expired head segments (DELETE_EXPIRED_COMMITLOG, 329; the brokers run with
// fileReservedTime=0 so every full segment has expired, within the metadata-snapshot bound). A
// leader keeps what its slowest follower needs, but a follower deletes up to what it applied, so
// leadership then moves to the other follower (RAFT_TRANSFER_LEADER) before the cut-off node is
// let back in. It returns behind the new leader's first index, so the leader must reset it to the
// new head (the start record carries the queue offsets) and it must install a metadata snapshot:
// the path a deleted head otherwise reaches only under disk pressure.
import { isolate, linkKey, type DirectedLink } from '../net/partition-shapes.js';
import { awaitLeader, errorText, Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

export class RetentionNemesis extends Nemesis {
  readonly fault = 'retention';
  private cut: DirectedLink[] = [];
  private isolated: string | undefined;

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    if (ctx.deleteExpired === undefined) return null;
    const leader = await awaitLeader(ctx, (id) => ctx.nodes.status(id) === 'running');
    const followers = ctx.mesh.nodeIds.filter((id) => id !== leader && ctx.nodes.status(id) === 'running');
    if (leader === undefined || followers.length === 0) return null;
    const victim = ctx.rng.pick(followers);
    const p = isolate(ctx.mesh.nodeIds, victim);
    this.cut = p.links;
    this.isolated = victim;
    ctx.mesh.block(p.links);
    return { isolated: victim, leader, links: p.links.map(linkKey) };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const others = ctx.nodes.nodeIds.filter((id) => id !== this.isolated && ctx.nodes.status(id) === 'running');
    let deleted: Record<string, unknown> = {};
    let transferredTo: string | undefined;
    const errors: string[] = [];
    try {
      deleted = ctx.deleteExpired === undefined ? {} : await ctx.deleteExpired(others);
      const leader = await ctx.leaderOf();
      const target = others.find((id) => id !== leader);
      if (target !== undefined && ctx.transferLeader !== undefined) {
        await ctx.transferLeader(target);
        transferredTo = target;
      }
    } catch (err) {
      errors.push(errorText(err));
    } finally {
      ctx.mesh.heal(this.cut);
    }
    const detail: FaultDetail = { healed: this.cut.map(linkKey), isolated: this.isolated, deleted, transferredTo: transferredTo ?? null };
    this.cut = [];
    this.isolated = undefined;
    return errors.length === 0 ? detail : { ...detail, errors };
  }
}

export const retention = (): Nemesis => new RetentionNemesis();
