// Power loss: the chosen nodes are SIGKILLed and every write they had not synced is dropped
// (their files go back to what was durable, possibly with a torn last write), then they restart
// at the end of the window. With ASYNC_FLUSH only a minority loses power: acknowledged entries
// live in the memory of a majority until the periodic flush, so a majority losing power at once
// may lose them, by design (docs/operations.md). With SYNC_FLUSH any number of nodes may lose
// power and nothing acknowledged may be lost.
import { Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

export class PowerLossNemesis extends Nemesis {
  readonly fault = 'power-loss';
  private down: string[] = [];

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const powerLoss = ctx.nodes.powerLoss;
    if (powerLoss === undefined) return null;
    const running = ctx.nodes.nodeIds.filter((id) => ctx.nodes.status(id) === 'running');
    if (running.length === 0) return null;
    const minority = Math.floor((ctx.nodes.nodeIds.length - 1) / 2);
    const most = ctx.flush === 'sync' ? running.length : Math.min(minority, running.length);
    if (most < 1) return null;
    const count = ctx.rng.int(1, most);
    const targets = ctx.rng.shuffle(running).slice(0, count);
    const dropped: Record<string, unknown> = {};
    // One at a time and remembered as they go, so stop() restarts whatever went down.
    for (const id of targets) {
      this.down.push(id);
      dropped[id] = await powerLoss(id);
    }
    return { nodes: targets, dropped };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const restarted: string[] = [];
    const errors: string[] = [];
    for (const id of this.down) {
      if (ctx.nodes.status(id) !== 'exited') continue;
      try {
        await ctx.nodes.restart(id);
        restarted.push(id);
      } catch (err) {
        errors.push(`${id}: ${(err as Error).message}`);
      }
    }
    this.down = [];
    return errors.length === 0 ? { restarted } : { restarted, errors };
  }
}

export const powerLoss = (): Nemesis => new PowerLossNemesis();
