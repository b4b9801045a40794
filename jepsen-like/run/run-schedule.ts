// The nemesis phase of a run: the seeded mix (`--schedule random`), or every listed nemesis in
// turn (`--schedule cycle`). Always ends healed (runMix heals at the end of each part).
import { setTimeout as sleep } from 'node:timers/promises';
import { runMix, type MixSummary } from '../nemesis/mix.js';
import type { Nemesis, NemesisContext } from '../nemesis/nemesis.js';
import type { RunOptions } from './run-options.js';

export async function runSchedule(ctx: NemesisContext, nemeses: Nemesis[], o: Pick<RunOptions, 'intervalS' | 'quietS' | 'timeS' | 'schedule'>, signal: AbortSignal): Promise<MixSummary> {
  const faultMs = o.intervalS * 1000;
  const healMs = o.intervalS * 1000;
  const quietMs = (o.quietS ?? o.intervalS) * 1000;
  if (o.schedule === 'random') return runMix(ctx, { nemeses, durationMs: o.timeS * 1000, faultMs, healMs, initialQuietMs: quietMs, signal });
  const endMs = Date.now() + o.timeS * 1000;
  await sleep(Math.min(quietMs, o.timeS * 1000));
  const mix: MixSummary = { seed: ctx.rng.seed, faults: [], heal: { nemesesStopped: [], linksHealed: 0, resumed: [], restarted: [], errors: [] } };
  // The first pass over the list always completes, even past the time budget (on a loaded
  // machine a fault that waits for a leader can take longer than its slot): a cycle run
  // injects every listed kind. Later passes are bounded by the budget (each takes at least
  // faultMs), the first by its length.
  for (let i = 0; (i < nemeses.length || Date.now() < endMs) && !signal.aborted; i++) {
    const slotMs = i < nemeses.length ? faultMs + healMs : Math.min(faultMs + healMs, endMs - Date.now());
    const one = await runMix(ctx, { nemeses: [nemeses[i % nemeses.length]!], durationMs: slotMs, faultMs, healMs, initialQuietMs: 0, signal });
    mix.faults.push(...one.faults);
    mix.heal.errors.push(...one.heal.errors);
    mix.heal.restarted.push(...one.heal.restarted);
  }
  return mix;
}
