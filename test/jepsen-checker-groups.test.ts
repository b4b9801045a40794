// The checkers over a run of several groups: the verdict is the whole history's, and `byGroup`
// places each anomaly in the group whose queue it concerns (jepsen-like/checker/per-group.ts).
import { describe, expect, it } from 'vitest';
import { checkAll } from '../jepsen-like/checker/check-all.js';
import { groupHistory, groupOfQueue, historyGroups } from '../jepsen-like/checker/per-group.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import { queueKey } from '../jepsen-like/history/types.js';

const A0 = queueKey('jepsen', 0, 'broker-a');
const B1 = queueKey('jepsen', 1, 'broker-b');

/** Values 1..4 acknowledged, 1 and 2 in broker-a, 3 and 4 in broker-b; the drain reads `read`. */
function run(read: { value: number; queue: string; offset: number }[]): HistoryBuilder {
  const b = new HistoryBuilder();
  const sent = [
    { value: 1, queue: A0, offset: 0 },
    { value: 2, queue: A0, offset: 1 },
    { value: 3, queue: B1, offset: 0 },
    { value: 4, queue: B1, offset: 1 },
  ];
  let t = 0;
  for (const s of sent) {
    b.at((t += 10)).invokeSend('p0', { value: s.value });
    b.at((t += 10)).completeSend('p0', 'ok', s);
  }
  b.at((t += 10)).invokeSend('p1', { value: 5 });
  b.at((t += 10)).completeSend('p1', 'info', { value: 5 });
  b.at((t += 10)).invokeRead('drain', 'drain');
  b.at((t += 10)).completeRead('drain', 'drain', 'ok', read);
  return b;
}

describe('checkers per group', () => {
  it('name the group of a qualified queue key and none of a one-group key', () => {
    expect(A0).toBe('broker-a:jepsen/0');
    expect(groupOfQueue(B1)).toBe('broker-b');
    expect(groupOfQueue('jepsen/3')).toBeUndefined();
  });

  it('place a lost value in its group and keep the whole-history verdict', () => {
    const h = run([
      { value: 1, queue: A0, offset: 0 },
      { value: 2, queue: A0, offset: 1 },
      { value: 3, queue: B1, offset: 0 },
    ]).history();
    expect(historyGroups(h)).toEqual(['broker-a', 'broker-b']);
    const r = checkAll(h);
    expect(r.valid).toBe(false);
    expect(r.lost.count).toBe(1);
    expect(r.byGroup!['broker-a']).toMatchObject({ valid: true, lost: 0 });
    expect(r.byGroup!['broker-b']).toMatchObject({ valid: false, lost: 1 });
    // A group's history keeps the send of unknown outcome, and only its own reads.
    const b = groupHistory(h, 'broker-b');
    expect(b.filter((op) => op.f === 'send' && op.value.value === 5)).toHaveLength(2);
    expect(b.flatMap((op) => (op.f === 'drain' && op.value !== null ? op.value.map((i) => i.value) : []))).toEqual([3]);
  });

  it('give no per-group view of a one-group run', () => {
    const b = new HistoryBuilder();
    b.at(1).invokeSend('p0', { value: 1 });
    b.at(2).completeSend('p0', 'ok', { value: 1, queue: 'jepsen/0', offset: 0 });
    expect(checkAll(b.history()).byGroup).toBeUndefined();
  });
});
