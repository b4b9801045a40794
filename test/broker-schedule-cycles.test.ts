// The delay schedule service's cycles, driven one at a time against fake nodes sharing one log:
// an append whose outcome is unknown is never replayed, a backlog at one level does not starve
// the others, a cycle's entry stays within its byte cap and well under a CommitLog segment,
// messages parked at a level the configuration no longer defines are delivered (loudly), and a
// leader whose delay levels differ from the group's refuses to deliver unless told otherwise.

import { afterEach, describe, expect, it } from 'vitest';
import { ScheduleService, type ScheduleServiceOptions } from '../src/broker/schedule/schedule-service.js';
import { decodeMessageRecord, messageRecords } from '../src/store/index.js';
import { FakeNode, SharedLog, type FakeNodeOptions } from './schedule-helpers.js';

let shared: SharedLog | undefined;

afterEach(() => {
  shared?.close();
  shared = undefined;
});

/** A leading fake node and a service that is not started: the test runs its cycles. */
function leader(options: ScheduleServiceOptions = {}, node: FakeNodeOptions = {}, id = 'a'): { s: SharedLog; n: FakeNode; svc: ScheduleService } {
  const s = (shared ??= new SharedLog());
  const n = new FakeNode(s, id, node);
  n.setLeader(true);
  return { s, n, svc: new ScheduleService(n.ctx, { pollIntervalMs: 5, ...options }) };
}

/** Runs one cycle; a failed one counts as run (the service's timer would retry it). */
async function runCycle(svc: ScheduleService): Promise<void> {
  await svc.cycle().catch(() => undefined);
}

/** Topics of the records in one appended payload. */
function topicsOf(payload: Buffer): string[] {
  return [...messageRecords(payload)].map(([offset]) => decodeMessageRecord(payload, offset, { verifyCrc: false }).topic);
}

describe('a schedule cycle whose append has an unknown outcome', () => {
  it('is not appended again while undecided, and delivery goes on once the log shows it committed', async () => {
    const { s, n, svc } = leader();
    for (let i = 0; i < 3; i++) s.park(`m-${i}`, 1, 0);
    s.nowMs = 1000;
    n.stallNext = true;
    await runCycle(svc);
    expect(n.held).toHaveLength(1);

    // The stall lasts several retry periods: no cycle may read the same offsets again.
    await runCycle(svc);
    await runCycle(svc);
    expect(n.puts).toHaveLength(1);
    expect(s.bodies()).toEqual([]);
    expect(svc.awaitingOutcome).toBe(true);

    n.commitHeld();
    await runCycle(svc);
    expect(svc.awaitingOutcome).toBe(false);
    expect(svc.deliveredCount).toBe(3);
    s.park('m-3', 1, 0);
    await runCycle(svc);
    expect(s.bodies()).toEqual(['m-0', 'm-1', 'm-2', 'm-3']);
  });

  it('is tried again after an error that says nothing was stored', async () => {
    const { s, n, svc } = leader();
    s.park('m-0', 1, 0);
    s.nowMs = 1000;
    n.setLeader(false); // putMessages refuses: not the leader, nothing stored
    await runCycle(svc);
    expect(svc.awaitingOutcome).toBe(false);
    n.setLeader(true);
    await runCycle(svc);
    expect(s.bodies()).toEqual(['m-0']);
  });
});

describe('fairness between levels', () => {
  it('delivers a due level-3 message within two cycles although level 1 has a backlog of forty', async () => {
    const { s, svc } = leader({ maxMessagesPerCycle: 4 }, { messageDelayLevel: '1s 5s 10s' });
    for (let i = 0; i < 40; i++) s.park(`storm-${i}`, 1, 0);
    s.park('late', 3, 0);
    s.nowMs = 10_000;
    await runCycle(svc);
    await runCycle(svc);
    expect(s.bodies()).toContain('late');
    // The backlog still drains completely, in order.
    for (let i = 0; i < 20 && s.bodies().length < 41; i++) await runCycle(svc);
    expect(s.bodies().filter((b) => b.startsWith('storm-'))).toEqual(Array.from({ length: 40 }, (_, i) => `storm-${i}`));
  });
});

describe('the size of a cycle', () => {
  it('never passes its byte cap, and a message larger than the cap goes alone', async () => {
    const capBytes = 6000;
    const { s, n, svc } = leader({ maxBytesPerCycle: capBytes, maxMessagesPerCycle: 256 });
    for (let i = 0; i < 30; i++) s.park(`${i}:`.padEnd(350, 'x'), 1, 0);
    s.park('big:'.padEnd(9000, 'y'), 1, 0);
    s.nowMs = 1000;
    for (let i = 0; i < 40 && s.bodies().length < 31; i++) await runCycle(svc);
    expect(s.bodies()).toHaveLength(31);
    const big = n.puts.find((p) => p.length > capBytes);
    expect(big && topicsOf(big).filter((t) => t === 'REAL_T')).toHaveLength(1);
    for (const p of n.puts) if (p !== big) expect(p.length).toBeLessThanOrEqual(capBytes);
  });

  it('stays within a quarter of the CommitLog segment the broker is configured with', async () => {
    const segmentBytes = 64 * 1024;
    const { s, n, svc } = leader({}, { mappedFileSizeCommitLog: segmentBytes });
    for (let i = 0; i < 100; i++) s.park(`${i}:`.padEnd(1000, 'z'), 1, 0);
    s.nowMs = 1000;
    for (let i = 0; i < 40 && s.bodies().length < 100; i++) await runCycle(svc);
    expect(s.bodies()).toHaveLength(100);
    for (const p of n.puts) expect(p.length).toBeLessThanOrEqual(segmentBytes / 4);
  });
});

describe('delay levels', () => {
  it('delivers at once, with a warning, messages parked at a level messageDelayLevel no longer defines', async () => {
    const { s, n, svc } = leader({}, { messageDelayLevel: '1s 5s' });
    s.park('orphan', 5, 0);
    await runCycle(svc);
    expect(s.bodies()).toEqual(['orphan']);
    expect(n.warnings().some((w) => w.includes('does not define'))).toBe(true);
  });

  it('refuses to deliver on a leader whose messageDelayLevel differs from the group\'s, unless a change is allowed', async () => {
    const first = leader({}, { messageDelayLevel: '1s 5s' }, 'a');
    first.s.park('one', 1, 0);
    first.s.nowMs = 1000;
    await runCycle(first.svc);
    expect(first.s.bodies()).toEqual(['one']);
    first.n.setLeader(false);

    const odd = leader({}, { messageDelayLevel: '1s 10s' }, 'b');
    odd.s.park('two', 1, 0);
    odd.s.nowMs = 60_000;
    await runCycle(odd.svc);
    await runCycle(odd.svc);
    expect(odd.s.bodies()).toEqual(['one']);
    expect(odd.svc.refusedBecause).toMatch(/messageDelayLevel/);
    expect(odd.n.logLines.some((l) => l.level >= 50 && l.msg.includes('disagree on messageDelayLevel'))).toBe(true);
    odd.n.setLeader(false);

    const change = leader({}, { messageDelayLevel: '1s 10s', messageDelayLevelChangeAllowed: true }, 'c');
    await runCycle(change.svc);
    expect(change.s.bodies()).toEqual(['one', 'two']);
    change.n.setLeader(false);

    // Now the group delivers with the new levels: a node configured with them agrees.
    const agreeing = leader({}, { messageDelayLevel: '1s 10s' }, 'd');
    agreeing.s.park('three', 1, 0);
    await runCycle(agreeing.svc);
    expect(agreeing.svc.refusedBecause).toBeUndefined();
    expect(agreeing.s.bodies()).toEqual(['one', 'two', 'three']);
  });
});
