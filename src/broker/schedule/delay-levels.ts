// The delay levels of the broker's `messageDelayLevel` setting ("1s 5s 10s 30s 1m ... 2h", as
// RocketMQ spells it) turned into milliseconds. Level n (1-based) waits levelsMs[n-1]; the
// schedule service and the send-back processor read the levels from here so the config stays
// the one source of truth.

import { assert } from '../../common/assert.js';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const LEVEL = /^(\d+)([smhd])$/;
/** RocketMQ has 18; a bound keeps a hostile config from making per-level work unbounded. */
export const MAX_DELAY_LEVELS = 64;

/** Parses "1s 5s 1m 2h" into milliseconds per level. The config reader already checked the form. */
export function parseDelayLevels(text: string): number[] {
  const parts = text.trim().split(/\s+/).filter((p) => p !== '');
  assert(parts.length > 0 && parts.length <= MAX_DELAY_LEVELS, `messageDelayLevel must name 1..${MAX_DELAY_LEVELS} levels, got ${parts.length}`);
  return parts.map((p) => {
    const m = LEVEL.exec(p);
    assert(m !== null, `messageDelayLevel entry '${p}' is not a duration like 5s, 2m, 1h or 1d`);
    return Number(m[1]) * UNIT_MS[m[2]!]!;
  });
}
