// Each checker against hand-built histories: one that holds the anomaly (the checker must report
// it) and a clean one (every checker must pass). The harness is only worth something if these
// can fail.
import { describe, expect, it } from 'vitest';
import { checkAll } from '../jepsen-like/checker/check-all.js';
import { checkAvailability } from '../jepsen-like/checker/availability.js';
import { checkDivergence } from '../jepsen-like/checker/divergence.js';
import { checkDuplicated } from '../jepsen-like/checker/duplicated.js';
import { checkInconsistentOffsets } from '../jepsen-like/checker/inconsistent-offsets.js';
import { checkLost } from '../jepsen-like/checker/lost.js';
import { checkReadOrder } from '../jepsen-like/checker/read-order.js';
import { historyStats } from '../jepsen-like/checker/stats.js';
import { checkUnexpected } from '../jepsen-like/checker/unexpected.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { MessageValue, ReadItem, ReplicaState } from '../jepsen-like/history/types.js';

const Q0 = 'jepsen/0';
const Q1 = 'jepsen/1';

/** Advancing clock so every helper call lands strictly later. */
function builder(): HistoryBuilder & { tick(): HistoryBuilder } {
  const b = new HistoryBuilder() as HistoryBuilder & { tick(): HistoryBuilder };
  let t = 0;
  b.tick = () => b.at((t += 10));
  return b;
}

function okSend(b: ReturnType<typeof builder>, process: number, value: MessageValue, queue: string, offset: number, attempts?: number): void {
  b.tick().invokeSend(process, { value, queue });
  b.tick().completeSend(process, 'ok', { value, queue, offset }, attempts === undefined ? {} : { attempts });
}

function poll(b: ReturnType<typeof builder>, process: number, items: ReadItem[], f: 'poll' | 'drain' = 'poll'): void {
  b.tick().invokeRead(process, f);
  b.tick().completeRead(process, f, 'ok', items);
}

const read = (queue: string, offset: number, value: MessageValue): ReadItem => ({ queue, offset, value });

function replica(node: string, overrides: Partial<ReplicaState> = {}): ReplicaState {
  return { node, group: 'broker-a', commitIndex: 10, logHash: 'h10', consumeQueueHashes: { [Q0]: 'c0', [Q1]: 'c1' }, ...overrides };
}

/** Four values over two queues, read back in order by a consumer and the final drain. */
function cleanHistory(): ReturnType<typeof builder> {
  const b = builder();
  okSend(b, 0, 1, Q0, 0);
  okSend(b, 0, 2, Q1, 0);
  okSend(b, 1, 3, Q0, 1);
  okSend(b, 1, 4, Q1, 1);
  poll(b, 2, [read(Q0, 0, 1), read(Q1, 0, 2)]);
  poll(b, 2, [read(Q0, 1, 3)]);
  poll(b, 3, [read(Q0, 0, 1), read(Q0, 1, 3), read(Q1, 0, 2), read(Q1, 1, 4)], 'drain');
  b.tick().finalState([replica('n0'), replica('n1'), replica('n2')]);
  return b;
}

describe('a clean history', () => {
  it('passes every safety checker and says so in valid', () => {
    const results = checkAll(cleanHistory().history());
    expect(results.valid).toBe(true);
    for (const name of ['lost', 'unexpected', 'duplicated', 'inconsistentOffsets', 'nonmonotonic', 'skipped', 'divergence', 'transactions'] as const) {
      expect({ name, count: results[name].count, valid: results[name].valid }).toEqual({ name, count: 0, valid: true });
    }
    expect(results.divergence.checked).toBe(true);
    expect(results.lost.acknowledgedCount).toBe(4);
  });
});

describe('the lost checker', () => {
  it('reports an acknowledged send that no read ever returned', () => {
    const b = cleanHistory();
    okSend(b, 0, 5, Q0, 2);
    const lost = checkLost(b.history());
    expect(lost.valid).toBe(false);
    expect(lost.count).toBe(1);
    expect(lost.examples[0]).toMatchObject({ value: 5, queue: Q0, offset: 2, process: 0 });
    expect(checkAll(b.history()).valid).toBe(false);
  });

  it('does not count a send whose outcome is unknown (info) or failed as lost', () => {
    const b = cleanHistory();
    b.tick().invokeSend(0, { value: 5 });
    b.tick().completeSend(0, 'info', { value: 5 }, { error: 'timeout' });
    b.tick().invokeSend(0, { value: 6 });
    b.tick().completeSend(0, 'fail', { value: 6 }, { error: 'ERR_RAFT_NOT_LEADER' });
    b.tick().invokeSend(1, { value: 7 });
    expect(checkLost(b.history()).count).toBe(0);
  });
});

describe('the unexpected checker', () => {
  it('reports a value read that no send invoked', () => {
    const b = cleanHistory();
    poll(b, 2, [read(Q0, 2, 99)]);
    const r = checkUnexpected(b.history());
    expect(r).toMatchObject({ valid: false, count: 1, neverSentCount: 1, failedButReadCount: 0 });
    expect(r.examples[0]).toMatchObject({ kind: 'never-sent', value: 99, queue: Q0, offset: 2 });
  });

  it('reports a value read whose only send completed with fail', () => {
    const b = cleanHistory();
    b.tick().invokeSend(0, { value: 5 });
    b.tick().completeSend(0, 'fail', { value: 5 });
    poll(b, 2, [read(Q0, 2, 5)]);
    expect(checkUnexpected(b.history())).toMatchObject({ valid: false, count: 1, neverSentCount: 0, failedButReadCount: 1 });
  });

  it('accepts a read of a value whose send ended with info', () => {
    const b = cleanHistory();
    b.tick().invokeSend(0, { value: 5 });
    b.tick().completeSend(0, 'info', { value: 5 });
    poll(b, 2, [read(Q0, 2, 5)]);
    expect(checkUnexpected(b.history()).count).toBe(0);
  });
});

describe('the duplicated checker', () => {
  it('reports a value at two positions with one ok send and no retry as an unexplained duplicate', () => {
    const b = cleanHistory();
    okSend(b, 0, 5, Q0, 2);
    poll(b, 2, [read(Q0, 2, 5), read(Q0, 3, 5)]);
    const r = checkDuplicated(b.history());
    expect(r).toMatchObject({ valid: false, count: 1, explainedCount: 0, unexplainedCount: 1 });
    expect(r.examples[0]).toMatchObject({ value: 5, sendInvokes: 1, possibleWrites: 1, explained: false });
    expect(r.examples[0]!.positions).toEqual([
      { queue: Q0, offset: 2 },
      { queue: Q0, offset: 3 },
    ]);
  });

  it('allows a duplicate explained by a second send invoke of the same value', () => {
    const b = cleanHistory();
    b.tick().invokeSend(0, { value: 5 });
    b.tick().completeSend(0, 'info', { value: 5 }, { attempts: 1 });
    okSend(b, 0, 5, Q0, 3);
    poll(b, 2, [read(Q0, 2, 5), read(Q0, 3, 5)]);
    const r = checkDuplicated(b.history());
    expect(r).toMatchObject({ valid: true, count: 1, explainedCount: 1, unexplainedCount: 0 });
    expect(r.examples[0]).toMatchObject({ sendInvokes: 2, possibleWrites: 2, explained: true });
  });

  it('allows a duplicate from an info send whose attempts the SDK did not report', () => {
    const b = cleanHistory();
    b.tick().invokeSend(0, { value: 5 });
    b.tick().completeSend(0, 'info', { value: 5 });
    poll(b, 2, [read(Q0, 2, 5), read(Q1, 2, 5)]);
    expect(checkDuplicated(b.history())).toMatchObject({ valid: true, explainedCount: 1, unexplainedCount: 0 });
  });

  it('allows a duplicate from an ok send the SDK retried internally, but not more copies than attempts', () => {
    const b = cleanHistory();
    okSend(b, 0, 5, Q0, 3, 2);
    poll(b, 2, [read(Q0, 2, 5), read(Q0, 3, 5)]);
    expect(checkDuplicated(b.history())).toMatchObject({ valid: true, explainedCount: 1 });
    poll(b, 2, [read(Q1, 2, 5)]);
    expect(checkDuplicated(b.history())).toMatchObject({ valid: false, explainedCount: 0, unexplainedCount: 1 });
  });

  it('does not call two reads of the same position a duplicate', () => {
    const b = cleanHistory();
    poll(b, 4, [read(Q0, 0, 1)]);
    expect(checkDuplicated(b.history()).count).toBe(0);
  });
});

describe('the inconsistent-offsets checker', () => {
  it('reports two different values read at one queue offset', () => {
    const b = cleanHistory();
    poll(b, 4, [read(Q0, 1, 4)]);
    const r = checkInconsistentOffsets(b.history());
    expect(r.valid).toBe(false);
    expect(r.byKind['read-conflict']).toBe(1);
    expect(r.examples).toContainEqual({ kind: 'read-conflict', queue: Q0, offset: 1, values: [3, 4] });
  });

  it('reports an ok send whose acknowledged position was read holding another value', () => {
    const b = builder();
    okSend(b, 0, 1, Q0, 0);
    okSend(b, 0, 2, Q0, 0); // the broker acknowledged offset 0 twice
    poll(b, 1, [read(Q0, 0, 1), read(Q0, 1, 2)], 'drain');
    const r = checkInconsistentOffsets(b.history());
    expect(r.byKind).toEqual({ 'read-conflict': 0, 'send-conflict': 1, 'ack-mismatch': 1 });
    expect(r.examples).toContainEqual({ kind: 'ack-mismatch', queue: Q0, offset: 0, values: [2, 1] });
    expect(r.examples).toContainEqual({ kind: 'send-conflict', queue: Q0, offset: 0, values: [1, 2] });
  });

  it('reports an acknowledged value read only away from its acknowledged, never-read position', () => {
    const b = builder();
    okSend(b, 0, 1, Q0, 5);
    poll(b, 1, [read(Q0, 0, 1)], 'drain');
    const r = checkInconsistentOffsets(b.history());
    expect(r.count).toBe(1);
    expect(r.examples[0]).toEqual({ kind: 'ack-mismatch', queue: Q0, offset: 5, values: [1], readAt: [{ queue: Q0, offset: 0 }] });
  });
});

describe('the read-order checker', () => {
  it('reports a gap between consecutive reads of one consumer on one queue as a skip', () => {
    const b = builder();
    poll(b, 1, [read(Q0, 0, 'a'), read(Q0, 1, 'b')]);
    poll(b, 1, [read(Q0, 4, 'e')]);
    const { skipped, nonmonotonic } = checkReadOrder(b.history());
    expect(skipped).toMatchObject({ valid: false, count: 1, offsetsSkipped: 2 });
    expect(skipped.examples[0]).toMatchObject({ process: 1, queue: Q0, previousOffset: 1, offset: 4, f: 'poll' });
    expect(nonmonotonic.count).toBe(0);
  });

  it('reports a read that goes back or repeats within an epoch as nonmonotonic', () => {
    const b = builder();
    poll(b, 1, [read(Q0, 0, 'a'), read(Q0, 1, 'b'), read(Q0, 2, 'c')]);
    poll(b, 1, [read(Q0, 1, 'b'), read(Q0, 2, 'c'), read(Q0, 2, 'c')]);
    const { skipped, nonmonotonic } = checkReadOrder(b.history());
    expect(nonmonotonic).toMatchObject({ valid: false, count: 2 });
    expect(nonmonotonic.examples.map((e) => [e.previousOffset, e.offset])).toEqual([
      [2, 1],
      [2, 2],
    ]);
    expect(skipped.count).toBe(0);
  });

  it('lets an assign event restart a queue at an earlier offset, and checks its start offset', () => {
    const b = builder();
    b.tick().assign(1, [Q0]);
    poll(b, 1, [read(Q0, 0, 'a'), read(Q0, 1, 'b'), read(Q0, 2, 'c')]);
    b.tick().assign(1, [Q0], { [Q0]: 1 });
    poll(b, 1, [read(Q0, 1, 'b'), read(Q0, 2, 'c')]);
    expect(checkReadOrder(b.history()).nonmonotonic.count).toBe(0);
    b.tick().assign(1, [Q0], { [Q0]: 2 });
    poll(b, 1, [read(Q0, 3, 'd')]);
    b.tick().assign(1, [Q0], { [Q0]: 2 });
    poll(b, 1, [read(Q0, 0, 'a')]);
    const r = checkReadOrder(b.history());
    expect(r.skipped.count).toBe(1);
    expect(r.nonmonotonic.count).toBe(1);
    expect(r.nonmonotonic.examples[0]).toMatchObject({ epoch: 4, previousOffset: 1, offset: 0 });
  });

  it('keeps polls and the final drain of one process in separate sequences', () => {
    const b = builder();
    poll(b, 1, [read(Q0, 0, 'a'), read(Q0, 1, 'b')]);
    poll(b, 1, [read(Q0, 0, 'a'), read(Q0, 1, 'b')], 'drain');
    const r = checkReadOrder(b.history());
    expect(r.nonmonotonic.count + r.skipped.count).toBe(0);
  });
});

describe('the divergence checker', () => {
  it('reports replicas whose committed log hashes differ at the same index', () => {
    const b = builder();
    b.tick().finalState([replica('n0'), replica('n1', { logHash: 'other' }), replica('n2')]);
    const r = checkDivergence(b.history());
    expect(r).toMatchObject({ valid: false, checked: true, count: 1, replicas: 3, groups: 1 });
    expect(r.examples[0]).toEqual({ kind: 'log-hash', group: 'broker-a', index: 10, hashes: { n0: 'h10', n1: 'other', n2: 'h10' } });
  });

  it('reports a ConsumeQueue whose hash differs or is missing on one replica', () => {
    const b = builder();
    b.tick().finalState([
      replica('n0'),
      replica('n1', { consumeQueueHashes: { [Q0]: 'bad', [Q1]: 'c1' } }),
      replica('n2', { consumeQueueHashes: { [Q0]: 'c0' } }),
    ]);
    const r = checkDivergence(b.history());
    expect(r.count).toBe(2);
    expect(r.examples).toEqual([
      { kind: 'consume-queue', group: 'broker-a', index: 10, queue: Q0, hashes: { n0: 'c0', n1: 'bad', n2: 'c0' } },
      { kind: 'consume-queue', group: 'broker-a', index: 10, queue: Q1, hashes: { n0: 'c1', n1: 'c1', n2: null } },
    ]);
  });

  it('compares only replicas at the same index and within the same group', () => {
    const b = builder();
    b.tick().finalState([
      replica('n0'),
      replica('n1'),
      replica('n2', { commitIndex: 7, logHash: 'h7', consumeQueueHashes: {} }),
      replica('m0', { group: 'broker-b', logHash: 'x' }),
      replica('m1', { group: 'broker-b', logHash: 'x' }),
    ]);
    const r = checkDivergence(b.history());
    expect(r).toMatchObject({ valid: true, count: 0, groups: 2, notCompared: ['n2'] });
  });

  it('says it checked nothing when the history has no final state', () => {
    expect(checkDivergence(builder().history())).toMatchObject({ valid: true, checked: false, count: 0 });
  });
});

describe('the availability checker', () => {
  it('computes the ok fraction and the unavailability windows exactly', () => {
    const b = new HistoryBuilder();
    const send = (process: number, value: number, invokeMs: number, doneMs: number, type: 'ok' | 'fail' | 'info'): void => {
      b.at(invokeMs).invokeSend(process, { value, queue: Q0 });
      b.at(doneMs).completeSend(process, type, type === 'ok' ? { value, queue: Q0, offset: value } : { value });
    };
    send(0, 0, 0, 100, 'ok');
    send(0, 1, 200, 300, 'ok');
    b.at(1000).nemesis('start', 'partition-halves', { minority: ['n2'] });
    send(0, 2, 1100, 1200, 'info');
    send(0, 3, 1300, 2000, 'fail');
    b.at(2500).nemesis('stop', 'partition-halves');
    send(0, 4, 2600, 3100, 'ok');
    send(0, 5, 3200, 3300, 'ok');
    b.at(4000).nemesis('start', 'kill-leader');
    send(0, 6, 4100, 4200, 'ok');
    const r = checkAvailability(b.history());
    expect(r.sendsCompleted).toBe(7);
    expect(r.sendsOk).toBe(5);
    expect(r.okFraction).toBeCloseTo(5 / 7, 12);
    // ok times: 100, 300, 3100, 3300, 4200; sends span 0 .. 4200.
    expect(r.longestUnavailabilityMs).toBe(2800);
    expect(r.longestUnavailabilityFromMs).toBe(300);
    expect(r.faults).toEqual([
      // start 1000, no ok inside, first ok after the stop at 3100.
      { fault: 'partition-halves', startMs: 1000, stopMs: 2500, longestGapMs: 2100 },
      // never stopped: closes at the end of the history (4200), ok at 4200.
      { fault: 'kill-leader', startMs: 4000, stopMs: null, longestGapMs: 200 },
    ]);
    expect(r.count).toBe(2);
    expect(r.examples[0]!.fault).toBe('partition-halves');
    expect(r.valid).toBe(true);
  });
});

describe('the stats', () => {
  it('count invokes and completions per function, with open invokes as pending', () => {
    const b = cleanHistory();
    b.tick().invokeSend(0, { value: 5 });
    b.tick().completeSend(0, 'fail', { value: 5 });
    b.tick().invokeSend(0, { value: 6 });
    const s = historyStats(b.history());
    expect(s.byF.send).toEqual({ invoke: 6, ok: 4, fail: 1, info: 0, pending: 1 });
    expect(s.byF.poll).toEqual({ invoke: 2, ok: 2, fail: 0, info: 0, pending: 0 });
    expect(s.byF.drain).toEqual({ invoke: 1, ok: 1, fail: 0, info: 0, pending: 0 });
    expect({ ops: s.ops, ok: s.ok, fail: s.fail, info: s.info, pending: s.pending }).toEqual({ ops: 9, ok: 7, fail: 1, info: 0, pending: 1 });
  });
});
