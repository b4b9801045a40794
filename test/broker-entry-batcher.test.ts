// The leader's group commit: payloads added in one turn become entries of at most maxEntryBytes,
// each payload told its entry and byte offset; a failed proposal fails each payload by the
// outcome of the entry holding it, and a payload the log cannot hold is refused alone.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProposalPartlyCommittedError, ProposalTimeoutError } from '../raft/node/errors.js';
import { fromRaftError } from '../src/broker/broker-errors.js';
import { EntryBatcher } from '../src/broker/entry-batcher.js';

function harness(maxEntryBytes: number, outcome: 'ok' | 'fail' | Error = 'ok', maxPayloadBytes = 1 << 20) {
  const proposed: Buffer[][] = [];
  let flushRequests = 0;
  const b = new EntryBatcher({
    maxEntryBytes,
    maxPayloadBytes,
    requestFlush: () => flushRequests++,
    propose: (entries) => {
      proposed.push(entries);
      if (outcome === 'ok') return Promise.resolve({ index: 100, term: 7 });
      return Promise.reject(outcome === 'fail' ? new Error('not leader') : outcome);
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

  it('answers each send of a partly committed turn by its own entry: committed ones with their place, the rest not stored', async () => {
    // Three entries of 4 bytes at 100..102; a new leader kept 100..101 and replaced 102.
    const err = new ProposalPartlyCommittedError({ firstIndex: 100, lastIndex: 102, term: 7, committedThrough: 101, droppedFrom: 102 });
    const { b } = harness(4, err);
    const sends = ['aaaa', 'bb', 'cc', 'dddd'].map((s) => b.add(Buffer.from(s)));
    b.flush();
    const [a, bb, cc, d] = await Promise.allSettled(sends);
    expect(a).toEqual({ status: 'fulfilled', value: { index: 100, term: 7, offset: 0 } });
    expect(bb).toEqual({ status: 'fulfilled', value: { index: 101, term: 7, offset: 0 } });
    expect(cc).toEqual({ status: 'fulfilled', value: { index: 101, term: 7, offset: 2 } });
    expect(d.status).toBe('rejected');
    const reason = (d as PromiseRejectedResult).reason;
    expect(reason).toMatchObject({ code: 'ERR_RAFT_PROPOSAL_DROPPED' });
    expect(fromRaftError(reason)).toMatchObject({ code: 'ERR_BROKER_NOT_COMMITTED' });
  });

  it('answers a timed-out turn with the place of what committed and an unknown outcome for the rest, never "not stored"', async () => {
    const err = new ProposalTimeoutError({ firstIndex: 100, lastIndex: 101, term: 7, committedThrough: 100, droppedFrom: 102 }, 5000);
    const { b } = harness(4, err);
    const sends = ['aaaa', 'bbbb'].map((s) => b.add(Buffer.from(s)));
    b.flush();
    const [a, bb] = await Promise.allSettled(sends);
    expect(a).toEqual({ status: 'fulfilled', value: { index: 100, term: 7, offset: 0 } });
    expect(fromRaftError((bb as PromiseRejectedResult).reason)).toMatchObject({ code: 'ERR_BROKER_OUTCOME_UNKNOWN' });
    // A caller that cannot split a partly committed batch hears "outcome unknown", not "not stored".
    expect(fromRaftError(new ProposalPartlyCommittedError({ firstIndex: 1, lastIndex: 2, term: 1, committedThrough: 1, droppedFrom: 2 }))).toMatchObject({ code: 'ERR_BROKER_OUTCOME_UNKNOWN' });
  });

  it('refuses a payload larger than the log holds in one entry alone, and proposes the rest of its turn', async () => {
    const { b, proposed } = harness(8, 'ok', 16);
    const small = b.add(Buffer.from('small'));
    const big = b.add(Buffer.alloc(17));
    b.flush();
    await expect(big).rejects.toMatchObject({ code: 'ERR_RAFT_PROPOSAL_TOO_LARGE' });
    await expect(small).resolves.toMatchObject({ index: 100 });
    expect(proposed).toEqual([[Buffer.from('small')]]);
    expect(fromRaftError(await big.catch((e: unknown) => e))).toMatchObject({ code: 'ERR_BROKER_MESSAGE_ILLEGAL', responseCode: 13 });
  });
});
