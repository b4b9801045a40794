// Process faults: SIGKILL of a random node, of the leader, of a majority (restarted on stop),
// and SIGSTOP of the leader or of a random node (SIGCONT on stop). A pause only tests leader
// failover when it outlasts the election timeout; the mix schedule's fault interval (15 s by
// default) does, the pause nemeses can enforce a `minPauseMs`, and they record
// `pausedForAtLeastMs` to make it checkable.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { awaitLeader, Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

type Targets = (ctx: NemesisContext) => Promise<string[]>;

const running = (ctx: NemesisContext): string[] => ctx.nodes.nodeIds.filter((id) => ctx.nodes.status(id) === 'running');

export class KillNemesis extends Nemesis {
  private killed: string[] = [];

  constructor(
    readonly fault: string,
    private readonly targets: Targets,
  ) {
    super();
  }

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const nodes = await this.targets(ctx);
    if (nodes.length === 0) return null;
    const pids = nodes.map((id) => ctx.nodes.pidOf?.(id) ?? null);
    // Taken down one by one and remembered as they go: if one throws, stop() restarts the ones done.
    const dropped: Record<string, unknown> = {};
    for (const id of nodes) {
      this.killed.push(id);
      const what = await this.takeDown(ctx, id);
      if (what !== undefined) dropped[id] = what;
    }
    const detail: FaultDetail = ctx.nodes.pidOf === undefined ? { nodes } : { nodes, pids };
    return Object.keys(dropped).length === 0 ? detail : { ...detail, dropped };
  }

  /** How a node goes down: SIGKILL here; a subclass may lose more (a power loss). */
  protected async takeDown(ctx: NemesisContext, id: string): Promise<unknown> {
    await ctx.nodes.kill(id);
    return undefined;
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const restarted: string[] = [];
    const errors: string[] = [];
    for (const id of this.killed) {
      if (ctx.nodes.status(id) !== 'exited') continue;
      try {
        await ctx.nodes.restart(id);
        restarted.push(id);
      } catch (err) {
        errors.push(`${id}: ${(err as Error).message}`);
      }
    }
    this.killed = [];
    return errors.length === 0 ? { restarted } : { restarted, errors };
  }
}

export class PauseNemesis extends Nemesis {
  private paused: string[] = [];
  private pausedAtMs = 0;

  constructor(
    readonly fault: string,
    private readonly targets: Targets,
    /** stop() waits until the pause has lasted this long (set it above the election timeout). */
    private readonly minPauseMs = 0,
  ) {
    super();
    assert(minPauseMs >= 0 && minPauseMs <= 600_000, `minPauseMs out of range: ${minPauseMs}`);
  }

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const nodes = await this.targets(ctx);
    if (nodes.length === 0) return null;
    for (const id of nodes) {
      ctx.nodes.pause(id);
      this.paused.push(id);
    }
    this.pausedAtMs = Date.now();
    return { nodes };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const waitMs = this.pausedAtMs + this.minPauseMs - Date.now();
    if (waitMs > 0) await sleep(waitMs);
    const resumed = this.paused.filter((id) => ctx.nodes.status(id) === 'paused');
    for (const id of resumed) ctx.nodes.resume(id);
    this.paused = [];
    return { resumed, pausedForAtLeastMs: Date.now() - this.pausedAtMs };
  }
}

async function leaderIfRunning(ctx: NemesisContext): Promise<string[]> {
  const leader = await awaitLeader(ctx, (id) => ctx.nodes.status(id) === 'running');
  return leader === undefined ? [] : [leader];
}

function randomRunning(ctx: NemesisContext): string[] {
  const live = running(ctx);
  return live.length === 0 ? [] : [ctx.rng.pick(live)];
}

export const killRandomNode = (): Nemesis => new KillNemesis('kill-random-node', async (ctx) => randomRunning(ctx));

export const killLeader = (): Nemesis => new KillNemesis('kill-leader', leaderIfRunning);

/** ⌊n/2⌋+1 random nodes: the group can make no progress until they return. */
export const killMajority = (): Nemesis =>
  new KillNemesis('kill-majority', async (ctx) => {
    const majority = Math.floor(ctx.nodes.nodeIds.length / 2) + 1;
    return ctx.rng.shuffle(running(ctx)).slice(0, majority);
  });

export const pauseLeader = (minPauseMs = 0): Nemesis => new PauseNemesis('pause-leader', leaderIfRunning, minPauseMs);

export const pauseRandom = (minPauseMs = 0): Nemesis => new PauseNemesis('pause-random', async (ctx) => randomRunning(ctx), minPauseMs);
