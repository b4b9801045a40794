// Disk full: one node's own file system is filled with a ballast file until only a little space
// is left, for the fault window, then emptied. The node must refuse writes before its disk is
// full and keep serving reads, heartbeats and votes (a leader hands leadership to a follower
// that can write); if it still runs out of space it stops itself cleanly, and it is restarted
// at the stop with nothing acknowledged lost. The run must stay valid.
import { Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

/** What stays free on the full disk: less than any write-refusal threshold of a small disk. */
export const DISK_FULL_LEAVE_FREE_BYTES = 2 * 1024 * 1024;

export class DiskFullNemesis extends Nemesis {
  readonly fault = 'disk-full';
  private filled: string | undefined;

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const fill = ctx.nodes.fillDisk;
    if (fill === undefined) return null;
    const running = ctx.nodes.nodeIds.filter((id) => ctx.nodes.status(id) === 'running');
    if (running.length === 0) return null;
    const node = ctx.rng.pick(running);
    this.filled = node;
    return { node, ...(await fill(node, DISK_FULL_LEAVE_FREE_BYTES)) };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const node = this.filled;
    this.filled = undefined;
    if (node === undefined) return {};
    const emptied = (await ctx.nodes.emptyDisk?.(node)) ?? {};
    // A node that ran out of space anyway stopped itself; it comes back once there is room.
    const stoppedItself = ctx.nodes.status(node) === 'exited';
    if (stoppedItself) await ctx.nodes.restart(node);
    return { node, ...emptied, stoppedItself };
  }
}

export const diskFull = (): Nemesis => new DiskFullNemesis();
