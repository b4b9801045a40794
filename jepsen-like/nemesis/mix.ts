// The mix schedule: a quiet period, then fault, heal, fault, heal ... until the run's time is up,
// each fault drawn from the given nemeses with the context's seeded generator, so one seed
// replays the same sequence of faults and targets. Default intervals follow openmessaging-chaos
// and DLedger's Jepsen tests: 15 s of fault, 15 s of health. It always ends healed (healAll),
// also when aborted or when a nemesis throws.
import assert from 'node:assert/strict';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { healAll, type HealSummary } from './heal-all.js';
import type { Nemesis, NemesisContext } from './nemesis.js';

export interface MixOptions {
  nemeses: readonly Nemesis[];
  /** Total schedule time, quiet period included. */
  durationMs: number;
  faultMs?: number;
  healMs?: number;
  /** Before the first fault, so clients and the cluster settle (default: healMs). */
  initialQuietMs?: number;
  /** Ends the schedule early (the run was interrupted); it still heals. */
  signal?: AbortSignal;
}

export interface MixSummary {
  seed: number;
  faults: { fault: string; started: boolean }[];
  heal: HealSummary;
}

export const DEFAULT_FAULT_MS = 15_000;
export const DEFAULT_HEAL_MS = 15_000;

export async function runMix(ctx: NemesisContext, options: MixOptions): Promise<MixSummary> {
  const faultMs = options.faultMs ?? DEFAULT_FAULT_MS;
  const healMs = options.healMs ?? DEFAULT_HEAL_MS;
  const quietMs = options.initialQuietMs ?? healMs;
  assert(options.nemeses.length > 0, 'a mix needs at least one nemesis');
  assert(faultMs > 0 && healMs >= 0 && quietMs >= 0 && options.durationMs >= 0, 'mix intervals must be non-negative (fault > 0)');
  const endMs = Date.now() + options.durationMs;
  const faults: MixSummary['faults'] = [];
  // The loop is bounded by the time budget; maxCycles also bounds it if the clock misbehaves.
  const maxCycles = Math.ceil(options.durationMs / (faultMs + healMs)) + 1;
  let heal: HealSummary | undefined;
  try {
    await sleepUntil(Math.min(Date.now() + quietMs, endMs), options.signal);
    for (let cycle = 0; cycle < maxCycles && Date.now() < endMs && !options.signal?.aborted; cycle++) {
      const nemesis = ctx.rng.pick(options.nemeses);
      const started = await nemesis.start(ctx, { cycle, seed: ctx.rng.seed });
      faults.push({ fault: nemesis.fault, started });
      await sleepUntil(Math.min(Date.now() + faultMs, endMs), options.signal);
      await nemesis.stop(ctx);
      await sleepUntil(Math.min(Date.now() + healMs, endMs), options.signal);
    }
  } finally {
    // Runs on abort and on errors too: a run must never end with a node dead or a link cut.
    heal = await healAll(ctx, options.nemeses);
  }
  return { seed: ctx.rng.seed, faults, heal };
}

async function sleepUntil(deadlineMs: number, signal: AbortSignal | undefined): Promise<void> {
  const waitMs = deadlineMs - Date.now();
  if (waitMs <= 0 || signal?.aborted) return;
  try {
    await sleepTimer(waitMs, undefined, signal === undefined ? undefined : { signal });
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
}
