// Availability, informational (a CP system may refuse writes during a fault; that is not a
// safety violation). Definitions, all on the times ok sends completed (the client's view):
//   - okFraction = ok sends / completed sends (fail + info + ok; invokes never completed are out);
//   - overall longest unavailability = the longest stretch without an ok send between the first
//     send invoke and the last send record of the run;
//   - per fault window (a nemesis start, closed by the next stop of the same fault, or by the end
//     of the history): the longest stretch without an ok send among the boundaries: the start,
//     each ok inside the window, and the first ok after the stop (or the end of the sends when
//     none came), so an outage that outlives the heal is measured to the recovery.
import type { History } from '../history/types.js';
import type { CheckResult } from './result.js';
import { MAX_EXAMPLES } from './result.js';

export interface FaultWindow {
  fault: string;
  startMs: number;
  /** null: never stopped in this history. */
  stopMs: number | null;
  longestGapMs: number;
}

export interface AvailabilityResult extends CheckResult<FaultWindow> {
  sendsCompleted: number;
  sendsOk: number;
  /** null when no send completed. */
  okFraction: number | null;
  longestUnavailabilityMs: number;
  /** Where that longest stretch starts (ms since run start), null without sends. */
  longestUnavailabilityFromMs: number | null;
  /** Every fault window in start order (bounded by MAX_FAULT_WINDOWS). */
  faults: FaultWindow[];
}

export const MAX_FAULT_WINDOWS = 1000;

/** Index of the first element of sorted `xs` greater than `x`. */
function firstAfter(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The longest gap between consecutive boundaries and where it starts. */
function longestGap(boundaries: readonly number[]): { gapMs: number; fromMs: number | null } {
  let gapMs = 0;
  let fromMs: number | null = boundaries.length > 0 ? boundaries[0]! : null;
  for (let i = 1; i < boundaries.length; i++) {
    const gap = boundaries[i]! - boundaries[i - 1]!;
    if (gap > gapMs) {
      gapMs = gap;
      fromMs = boundaries[i - 1]!;
    }
  }
  return { gapMs, fromMs };
}

export function checkAvailability(history: History): AvailabilityResult {
  const okTimes: number[] = [];
  let sendsCompleted = 0;
  let firstSendMs: number | undefined;
  let lastSendMs = 0;
  type OpenWindow = Omit<FaultWindow, 'longestGapMs'>;
  const open = new Map<string, OpenWindow[]>();
  const windows: OpenWindow[] = [];
  for (const op of history) {
    if (op.f === 'send') {
      firstSendMs ??= op.time;
      lastSendMs = op.time;
      if (op.type === 'invoke') continue;
      sendsCompleted++;
      if (op.type === 'ok') okTimes.push(op.time);
    } else if (op.f === 'nemesis') {
      const { kind, fault } = op.value;
      if (kind === 'start') {
        const window: OpenWindow = { fault, startMs: op.time, stopMs: null };
        if (windows.length < MAX_FAULT_WINDOWS) windows.push(window);
        const list = open.get(fault) ?? [];
        list.push(window);
        open.set(fault, list);
      } else {
        const window = open.get(fault)?.shift();
        if (window !== undefined) window.stopMs = op.time;
      }
    }
  }
  const historyEndMs = history.length > 0 ? history[history.length - 1]!.time : 0;
  const overall = firstSendMs === undefined ? { gapMs: 0, fromMs: null } : longestGap([firstSendMs, ...okTimes, lastSendMs]);

  const faults: FaultWindow[] = windows.map((w) => {
    const endMs = w.stopMs ?? historyEndMs;
    const from = firstAfter(okTimes, w.startMs);
    const to = firstAfter(okTimes, endMs);
    const recovery = to < okTimes.length ? okTimes[to]! : Math.max(endMs, lastSendMs);
    const { gapMs } = longestGap([w.startMs, ...okTimes.slice(from, to), recovery]);
    return { ...w, longestGapMs: gapMs };
  });
  const examples = [...faults].sort((a, b) => b.longestGapMs - a.longestGapMs).slice(0, MAX_EXAMPLES);
  return {
    valid: true,
    count: faults.length,
    examples,
    sendsCompleted,
    sendsOk: okTimes.length,
    okFraction: sendsCompleted === 0 ? null : okTimes.length / sendsCompleted,
    longestUnavailabilityMs: overall.gapMs,
    longestUnavailabilityFromMs: overall.fromMs,
    faults,
  };
}
