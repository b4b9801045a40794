// Abuse: during the fault window hostile and careless clients hit every port of the cluster
// (jepsen-like/net/abuse.ts: bad names, huge names, random bytes, idle connections, frames
// started and never finished, a flood of held long polls, squatters on the Raft ports), all
// bounded. The run must stay valid and available while it lasts. The start and stop records
// carry each process's resident memory (VmRSS) and what the cluster answered.
import { readFileSync } from 'node:fs';
import { Abuser, type AbuseTargets } from '../net/abuse.js';
import { Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

/** Resident set size in MiB of a live process, from /proc; undefined when it is gone. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Math.round(Number(m[1]) / 102.4) / 10;
  } catch {
    return undefined;
  }
}

export interface AbuseContext extends AbuseTargets {
  /** Process name → PID of every process of the cluster (NameServer and nodes). */
  pids: () => Record<string, number | undefined>;
}

function rssOf(ctx: AbuseContext): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(ctx.pids()).map(([name, pid]) => [name, rssMiB(pid)]));
}

export class AbuseNemesis extends Nemesis {
  readonly fault = 'abuse';
  private abuser: Abuser | undefined;

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const targets = ctx.abuse;
    if (targets === undefined) return null;
    const rssBeforeMiB = rssOf(targets);
    this.abuser = new Abuser(targets, ctx.rng.fork());
    await this.abuser.start();
    return { rssBeforeMiB, rssAfterStartMiB: rssOf(targets), report: this.abuser.report };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const abuser = this.abuser;
    this.abuser = undefined;
    const rssHeldMiB = ctx.abuse === undefined ? {} : rssOf(ctx.abuse);
    await abuser?.close();
    return { rssHeldMiB, rssAfterMiB: ctx.abuse === undefined ? {} : rssOf(ctx.abuse), report: abuser?.report ?? null };
  }
}

export const abuse = (): Nemesis => new AbuseNemesis();
