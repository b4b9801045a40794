// Properties of the checkers over generated histories: a clean run (sends acknowledged, stored
// in queue order, read back in order, each exactly once by a consumer or the final drain) is
// always valid, and dropping the one read of any acknowledged value makes exactly that value lost.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAll } from '../jepsen-like/checker/check-all.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { History, ReadItem } from '../jepsen-like/history/types.js';

interface SendSpec {
  process: number;
  queue: number;
  outcome: 'ok' | 'fail' | 'info';
  /** For info: whether the unknown send did in fact get stored. */
  stored: boolean;
  latencyMs: number;
}

interface RunSpec {
  queueCount: number;
  sends: SendSpec[];
  /** Per queue: the share of stored messages the consumer polls; the drain reads the rest. */
  consumedShares: number[];
  pollBatch: number;
}

const runSpec: fc.Arbitrary<RunSpec> = fc.integer({ min: 1, max: 3 }).chain((queueCount) =>
  fc.record({
    queueCount: fc.constant(queueCount),
    sends: fc.array(
      fc.record({
        process: fc.integer({ min: 0, max: 2 }),
        queue: fc.integer({ min: 0, max: queueCount - 1 }),
        outcome: fc.constantFrom<SendSpec['outcome']>('ok', 'ok', 'ok', 'fail', 'info'),
        stored: fc.boolean(),
        latencyMs: fc.integer({ min: 0, max: 50 }),
      }),
      { minLength: 1, maxLength: 60 },
    ),
    consumedShares: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: queueCount, maxLength: queueCount }),
    pollBatch: fc.integer({ min: 1, max: 5 }),
  }),
);

/** Builds the clean history of `spec`, leaving out the read of `omitValue` when given. */
function buildHistory(spec: RunSpec, omitValue?: number): { history: History; acknowledged: number[] } {
  const b = new HistoryBuilder();
  let nowMs = 0;
  const queueName = (q: number): string => `jepsen/${q}`;
  const stored: number[][] = Array.from({ length: spec.queueCount }, () => []);
  const acknowledged: number[] = [];
  spec.sends.forEach((s, value) => {
    const queue = queueName(s.queue);
    b.at((nowMs += 1)).invokeSend(s.process, { value, queue });
    b.at((nowMs += s.latencyMs));
    const lands = s.outcome === 'ok' || (s.outcome === 'info' && s.stored);
    const offset = stored[s.queue]!.length;
    if (lands) stored[s.queue]!.push(value);
    if (s.outcome === 'ok') {
      acknowledged.push(value);
      b.completeSend(s.process, 'ok', { value, queue, offset });
    } else {
      b.completeSend(s.process, s.outcome, { value, queue });
    }
  });

  const readRange = (process: number, f: 'poll' | 'drain', q: number, from: number, to: number): void => {
    for (let start = from; start < to; start += spec.pollBatch) {
      const items: ReadItem[] = [];
      for (let offset = start; offset < Math.min(to, start + spec.pollBatch); offset++) {
        const value = stored[q]![offset]!;
        if (value !== omitValue) items.push({ queue: queueName(q), offset, value });
      }
      b.at((nowMs += 1)).invokeRead(process, f);
      b.at((nowMs += 1)).completeRead(process, f, 'ok', items);
    }
  };
  for (let q = 0; q < spec.queueCount; q++) {
    const cut = Math.floor(stored[q]!.length * spec.consumedShares[q]!);
    b.at((nowMs += 1)).assign(10, [queueName(q)], { [queueName(q)]: 0 });
    readRange(10, 'poll', q, 0, cut);
    readRange(11, 'drain', q, cut, stored[q]!.length);
  }
  return { history: b.history(), acknowledged };
}

describe('the checkers on generated histories', () => {
  it('find a clean history valid, whatever the queues, outcomes and poll sizes', () => {
    fc.assert(
      fc.property(runSpec, (spec) => {
        const { history, acknowledged } = buildHistory(spec);
        const results = checkAll(history);
        expect(results.valid).toBe(true);
        expect(results.lost.acknowledgedCount).toBe(acknowledged.length);
        expect(results.duplicated.count).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('count exactly one lost value when the one read of an acknowledged value is removed', () => {
    fc.assert(
      fc.property(
        runSpec.filter((spec) => spec.sends.some((s) => s.outcome === 'ok')),
        fc.nat(),
        (spec, pick) => {
          const { acknowledged } = buildHistory(spec);
          const victim = acknowledged[pick % acknowledged.length]!;
          const results = checkAll(buildHistory(spec, victim).history);
          expect(results.lost.count).toBe(1);
          expect(results.lost.examples.map((e) => e.value)).toEqual([victim]);
          expect(results.valid).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
