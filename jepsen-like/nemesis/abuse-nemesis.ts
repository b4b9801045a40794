// Abuse: during the fault window hostile and careless clients hit every port of the cluster
// (jepsen-like/net/abuse.ts: bad names, huge names, random bytes, idle connections, frames
// started and never finished, a flood of held long polls, squatters on the Raft ports), all
// bounded. The run must stay valid and available while it lasts. The start and stop records
// carry each process's resident memory (VmRSS) and what the cluster answered; a process whose
// RSS passes the bound at any of those moments is reported (`onRssOverBound`: the run counts it
// as an error), since "bounded under abuse" is the point of the exercise.
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

/**
 * Resident memory allowed to any process of the cluster while it is abused. A broker of a short
 * run sits at 100-250 MiB; one that buffered what the abuse sends (16 MiB frames, huge names,
 * held pulls) would pass 1 GiB.
 */
export const DEFAULT_ABUSE_RSS_BOUND_MIB = 1024;

export interface AbuseContext extends AbuseTargets {
  /** Process name → PID of every process of the cluster (NameServer and nodes). */
  pids: () => Record<string, number | undefined>;
  /** The RSS bound checked at each measurement (default DEFAULT_ABUSE_RSS_BOUND_MIB). */
  rssBoundMiB?: number;
  /** Told of each process found over the bound, in words (the run records it as an error). */
  onRssOverBound?: (finding: string) => void;
}

function rssOf(ctx: AbuseContext): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(ctx.pids()).map(([name, pid]) => [name, rssMiB(pid)]));
}

/** The processes of `rss` over `boundMiB`, in words; a process that is gone (undefined) is not. */
export function rssOverBound(rss: Record<string, number | undefined>, boundMiB: number, when: string): string[] {
  const out: string[] = [];
  for (const [name, mib] of Object.entries(rss)) {
    if (mib !== undefined && mib > boundMiB) out.push(`${name} used ${mib} MiB of resident memory ${when}, over the bound of ${boundMiB} MiB`);
  }
  return out;
}

/** Measures every process, reports those over the bound, and returns the measurement. */
function measured(ctx: AbuseContext, when: string): Record<string, number | undefined> {
  const rss = rssOf(ctx);
  for (const finding of rssOverBound(rss, ctx.rssBoundMiB ?? DEFAULT_ABUSE_RSS_BOUND_MIB, when)) ctx.onRssOverBound?.(finding);
  return rss;
}

export class AbuseNemesis extends Nemesis {
  readonly fault = 'abuse';
  private abuser: Abuser | undefined;

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const targets = ctx.abuse;
    if (targets === undefined) return null;
    const rssBeforeMiB = measured(targets, 'before the abuse');
    this.abuser = new Abuser(targets, ctx.rng.fork());
    await this.abuser.start();
    const rssBoundMiB = targets.rssBoundMiB ?? DEFAULT_ABUSE_RSS_BOUND_MIB;
    return { rssBoundMiB, rssBeforeMiB, rssAfterStartMiB: measured(targets, 'once the abuse started'), report: this.abuser.report };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const abuser = this.abuser;
    this.abuser = undefined;
    const rssHeldMiB = ctx.abuse === undefined ? {} : measured(ctx.abuse, 'while the abuse held its connections');
    await abuser?.close();
    return { rssHeldMiB, rssAfterMiB: ctx.abuse === undefined ? {} : measured(ctx.abuse, 'after the abuse'), report: abuser?.report ?? null };
  }
}

export const abuse = (): Nemesis => new AbuseNemesis();
