// Operation counts of a history: how much the run did and how it went, per client function.
import type { ClientF, History } from '../history/types.js';

export interface OpCounts {
  invoke: number;
  ok: number;
  fail: number;
  info: number;
  /** Invokes never completed (the run ended first); checkers treat them as info. */
  pending: number;
}

export interface HistoryStats {
  /** Client operations invoked. */
  ops: number;
  ok: number;
  fail: number;
  info: number;
  pending: number;
  byF: Record<ClientF, OpCounts>;
  nemesisEvents: number;
  /** Time of the last record (ms since run start). */
  durationMs: number;
}

const zero = (): OpCounts => ({ invoke: 0, ok: 0, fail: 0, info: 0, pending: 0 });

export function historyStats(history: History): HistoryStats {
  const byF: Record<ClientF, OpCounts> = { send: zero(), poll: zero(), drain: zero() };
  let nemesisEvents = 0;
  for (const op of history) {
    if (op.f === 'send' || op.f === 'poll' || op.f === 'drain') byF[op.f][op.type]++;
    else if (op.f === 'nemesis') nemesisEvents++;
  }
  const total = zero();
  for (const counts of Object.values(byF)) {
    counts.pending = counts.invoke - counts.ok - counts.fail - counts.info;
    total.invoke += counts.invoke;
    total.ok += counts.ok;
    total.fail += counts.fail;
    total.info += counts.info;
    total.pending += counts.pending;
  }
  const durationMs = history.length > 0 ? history[history.length - 1]!.time : 0;
  return { ops: total.invoke, ok: total.ok, fail: total.fail, info: total.info, pending: total.pending, byF, nemesisEvents, durationMs };
}
