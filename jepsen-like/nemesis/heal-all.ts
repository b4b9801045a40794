// Puts the cluster back to health before the final read: stops every active nemesis (recording
// its stop, so every fault window closes), then sweeps whatever is still wrong regardless of who
// did it: every link healed and undegraded, every paused node continued, every dead node
// restarted. The checkers' final drain assumes this ran.
import type { Nemesis, NemesisContext } from './nemesis.js';
import { errorText } from './nemesis.js';

export interface HealSummary {
  nemesesStopped: string[];
  linksHealed: number;
  resumed: string[];
  restarted: string[];
  errors: string[];
}

export async function healAll(ctx: NemesisContext, nemeses: readonly Nemesis[] = []): Promise<HealSummary> {
  const summary: HealSummary = { nemesesStopped: [], linksHealed: 0, resumed: [], restarted: [], errors: [] };
  for (const n of nemeses) {
    if (!n.isActive) continue;
    await n.stop(ctx);
    summary.nemesesStopped.push(n.fault);
  }
  summary.linksHealed = ctx.mesh.blockedLinks().length;
  ctx.mesh.heal();
  ctx.mesh.clearFaults();
  // Continue before restarting: a paused node holds its ports, and a restart would not help it.
  for (const id of ctx.nodes.nodeIds) {
    if (ctx.nodes.status(id) === 'paused') {
      ctx.nodes.resume(id);
      summary.resumed.push(id);
    }
  }
  for (const id of ctx.nodes.nodeIds) {
    if (ctx.nodes.status(id) !== 'exited') continue;
    try {
      await ctx.nodes.restart(id);
      summary.restarted.push(id);
    } catch (err) {
      summary.errors.push(`${id}: ${errorText(err)}`);
    }
  }
  return summary;
}
