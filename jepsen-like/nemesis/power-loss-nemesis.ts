// Power loss: the chosen nodes are SIGKILLed and every write they had not synced is dropped
// (their files go back to what was durable, possibly with a torn last write), then they restart
// at the end of the window, as after any kill. With ASYNC_FLUSH only a minority loses power:
// acknowledged entries live in the memory of a majority until the periodic flush, so a majority
// losing power at once may lose them, by design (docs/operations.md). With SYNC_FLUSH any number
// of nodes may lose power and nothing acknowledged may be lost.
import type { Nemesis, NemesisContext } from './nemesis.js';
import { KillNemesis } from './process-nemeses.js';

/** A minority under async flush (one of three), one to all nodes under sync flush; none when the db cannot. */
function powerLossTargets(ctx: NemesisContext): Promise<string[]> {
  if (ctx.nodes.powerLoss === undefined) return Promise.resolve([]);
  const running = ctx.nodes.nodeIds.filter((id) => ctx.nodes.status(id) === 'running');
  const minority = Math.floor((ctx.nodes.nodeIds.length - 1) / 2);
  const most = ctx.flush === 'sync' ? running.length : Math.min(minority, running.length);
  if (most < 1) return Promise.resolve([]);
  return Promise.resolve(ctx.rng.shuffle(running).slice(0, ctx.rng.int(1, most)));
}

export class PowerLossNemesis extends KillNemesis {
  constructor() {
    super('power-loss', powerLossTargets);
  }

  protected override takeDown(ctx: NemesisContext, id: string): Promise<unknown> {
    return ctx.nodes.powerLoss!(id);
  }
}

export const powerLoss = (): Nemesis => new PowerLossNemesis();
