// The leader's group commit: payloads added in one turn become entries of at most maxEntryBytes,
// each payload told its entry and byte offset; a failed proposal fails every payload in it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryBatcher } from '../src/broker/entry-batcher.js';

function harness(maxEntryBytes: number, outcome: 'ok' | 'fail' = 'ok') {
  const proposed: Buffer[][] = [];
  let flushRequests = 0;
  const b = new EntryBatcher({
    maxEntryBytes,
    requestFlush: () => flushRequests++,
    propose: (entries) => {
      proposed.push(entries);
      return outcome === 'ok' ? Promise.resolve({ index: 100, term: 7 }) : Promise.reject(new Error('not leader'));
    },
  });
  return { b, proposed, flushRequests: () => flushRequests };
}

describe('EntryBatcher', () => {
  it('places every payload of a turn at its byte offset in the entries it proposes, splitting at maxEntryBytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), async (sizes, max) => {
        const { b, proposed, flushRequests } = harness(max);
        const payloads = sizes.map((n, i) => Buffer.alloc(n, i + 1));
        const placed = payloads.map((p) => b.add(p));
        expect(flushRequests()).toBe(1);
        b.flush();
        const got = await Promise.all(placed);
        expect(proposed.length).toBe(1);
        const entries = proposed[0]!;
        for (const e of entries) {
          // An entry passes the bound only when it holds a single oversized payload.
          if (e.length > max) expect(payloads.some((p) => p.length === e.length)).toBe(true);
        }
        for (let i = 0; i < payloads.length; i++) {
          const g = got[i]!;
          expect(g.term).toBe(7);
          const entry = entries[g.index - 100]!;
          expect(entry.subarray(g.offset, g.offset + payloads[i]!.length).equals(payloads[i]!)).toBe(true);
        }
        // Nothing is lost or repeated: the entries hold exactly the payloads, in order.
        expect(Buffer.concat(entries).equals(Buffer.concat(payloads))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('fails every payload of a flush whose proposal fails, and proposes nothing when empty', async () => {
    const { b, proposed } = harness(1024, 'fail');
    b.flush();
    expect(proposed.length).toBe(0);
    const a = b.add(Buffer.from('a'));
    const c = b.add(Buffer.from('c'));
    b.flush();
    await expect(a).rejects.toThrow('not leader');
    await expect(c).rejects.toThrow('not leader');
  });

  it('rejects what was added but not yet proposed when failed (shutdown)', async () => {
    const { b, proposed } = harness(1024);
    const a = b.add(Buffer.from('a'));
    b.failAll(new Error('closing'));
    await expect(a).rejects.toThrow('closing');
    b.flush();
    expect(proposed.length).toBe(0);
  });
});
