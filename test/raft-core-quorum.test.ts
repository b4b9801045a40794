// Property tests for the core's arithmetic: quorum math, the inflight window and the log's
// term searches, each against a brute-force model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Inflights } from '../raft/core/inflights.js';
import { majority, quorumIndex, voteOutcome } from '../raft/core/quorum.js';
import { RaftLog } from '../raft/core/raft-log.js';
import { EntryType } from '../raft/core/types.js';
import { MemoryStorage } from '../raft/sim/memory-storage.js';

describe('quorum math', () => {
  it('gives the largest index a majority has reached', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 9 }), (matches) => {
        const brute = Math.max(...matches.filter((x) => matches.filter((y) => y >= x).length >= majority(matches.length)));
        expect(quorumIndex(matches.slice())).toBe(brute);
      }),
    );
  });

  it('needs more than half of the voters and any two majorities intersect', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99 }), (n) => {
        const q = majority(n);
        expect(2 * q).toBeGreaterThan(n);
        expect(2 * (q - 1)).toBeLessThanOrEqual(n);
      }),
    );
  });

  it('decides an election exactly when the outcome can no longer change', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.nat(), fc.nat(), (n, g0, r0) => {
        const granted = g0 % (n + 1);
        const rejected = r0 % (n - granted + 1);
        const outcome = voteOutcome(granted, rejected, n);
        const undecided = n - granted - rejected;
        const canWin = granted + undecided >= majority(n);
        const mustWin = granted >= majority(n);
        expect(outcome).toBe(mustWin ? 'won' : canWin ? 'pending' : 'lost');
      }),
    );
  });
});

describe('inflight window', () => {
  it('behaves like a bounded FIFO of (last index, bytes) freed by acknowledgements', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), size: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('ack' as const), back: fc.nat({ max: 5 }) }),
      fc.record({ kind: fc.constant('first' as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 120 }), fc.array(op, { maxLength: 60 }), (maxMsgs, maxBytes, ops) => {
        const w = new Inflights(maxMsgs, maxBytes);
        let model: { last: number; size: number }[] = [];
        let index = 0;
        for (const o of ops) {
          const full = model.length >= maxMsgs || (model.length > 0 && model.reduce((a, b) => a + b.size, 0) >= maxBytes);
          expect(w.full()).toBe(full);
          if (o.kind === 'add' && !full) {
            index += 1 + (o.size % 3);
            w.add(index, o.size);
            model.push({ last: index, size: o.size });
          } else if (o.kind === 'ack') {
            const to = index - o.back;
            w.freeTo(to);
            model = model.filter((x) => x.last > to);
          } else if (o.kind === 'first') {
            w.freeFirst();
            model = model.slice(1);
          }
          expect(w.size()).toBe(model.length);
          expect(w.sizeBytes()).toBe(model.reduce((a, b) => a + b.size, 0));
        }
      }),
    );
  });
});

describe('log term searches', () => {
  it('find the first and last index of a term range like a linear scan', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 12 }), fc.nat(), (steps, probe, at) => {
        // Non-decreasing terms from the step sizes.
        let t = 1;
        const terms = steps.map((d) => (t += d));
        const storage = new MemoryStorage();
        storage.append(terms.map((term, i) => ({ index: i + 1, term, type: EntryType.Normal, payload: new Uint8Array(1) })));
        const log = new RaftLog(storage);
        const atMost = at % (terms.length + 1);
        const termAt = (i: number) => (i === 0 ? 0 : terms[i - 1]!);
        let lastAtMost = -1;
        for (let i = 0; i <= atMost; i++) if (termAt(i) <= probe) lastAtMost = i;
        expect(log.lastIndexWithTermAtMost(probe, atMost)).toBe(lastAtMost);
        let firstAtLeast = atMost + 1;
        for (let i = atMost; i >= 1; i--) if (termAt(i) >= probe) firstAtLeast = i;
        expect(log.firstIndexWithTermAtLeast(probe, atMost)).toBe(Math.max(firstAtLeast, 1));
      }),
    );
  });

  it('lets unstable entries overwrite a stored suffix until advance, without copying payloads', () => {
    const storage = new MemoryStorage();
    const e = (index: number, term: number) => ({ index, term, type: EntryType.Normal, payload: new Uint8Array([index, term]) });
    storage.append([e(1, 1), e(2, 1), e(3, 1)]);
    const log = new RaftLog(storage);
    const incoming = [e(2, 2), e(3, 2), e(4, 2)];
    expect(log.append(incoming)).toBe(2);
    expect([log.term(1), log.term(2), log.term(3), log.term(4), log.lastIndex()]).toEqual([1, 2, 2, 2, 4]);
    const got = log.entries(1, 5, 1000);
    expect(got.map((x) => `${x.index}/${x.term}`)).toEqual(['1/1', '2/2', '3/2', '4/2']);
    expect(got[1]!.payload).toBe(incoming[0]!.payload);
    storage.append(log.unstableEntries());
    log.stableTo(4, 2, undefined);
    expect(log.hasUnstable()).toBe(false);
    expect(log.lastIndex()).toBe(4);
  });
});
