// The delay schedule service. Against a one-node in-process broker: a message sent with DELAY=1
// (1 s) is parked, then delivered to its real topic no sooner than 1 s after it was stored. With
// fake nodes sharing one replicated log (as replicas agree on it): delivery resumes after a leader
// change exactly after the last committed delivery, nothing lost and nothing delivered twice, even
// when the metadata copy of the offsets did not commit or the old leader never learnt its last
// delivery committed.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerController } from '../src/broker/broker-controller.js';
import { ScheduleService } from '../src/broker/schedule/schedule-service.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { getProperty } from '../src/store/index.js';
import { props, request, sendV2, sleep, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { readQueue, replaceScheduleService } from './broker-processors-helpers.js';
import { FakeNode, SharedLog } from './schedule-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

describe('a delayed message on a real broker', () => {
  let g: TestGroup;
  let leader: BrokerController;
  let schedule: ScheduleService;

  beforeAll(async () => {
    g = await startTestGroup(await findFreeBlock(20), 1);
    leader = await waitForReadyLeader(g);
    schedule = await replaceScheduleService(leader, { pollIntervalMs: 50 });
  });

  afterAll(async () => {
    await schedule?.stop();
    await g?.close();
  });

  it('at level 1 arrives in its topic after at least 1 s and not before', async () => {
    const sent = await request(g, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('DELAY_T', 2, props({ TAGS: 'late', DELAY: '1' })), Buffer.from('see you in a second'));
    expect(sent.code, sent.remark).toBe(ResponseCode.SUCCESS);
    const parked = readQueue(leader, 'SCHEDULE_TOPIC_XXXX', 0);
    expect(parked).toHaveLength(1);
    const storedAt = parked[0]!.storeTimestamp;
    expect(readQueue(leader, 'DELAY_T', 2)).toHaveLength(0);

    // Sample the real queue until it fills: it must stay empty for the first second.
    let arrivedAt = 0;
    await until('the delayed message', 5000, () => {
      if (readQueue(leader, 'DELAY_T', 2).length === 0) return false;
      arrivedAt = Date.now();
      return true;
    });
    expect(arrivedAt - storedAt).toBeGreaterThanOrEqual(1000);
    const [delivered] = readQueue(leader, 'DELAY_T', 2);
    expect(delivered!.storeTimestamp - storedAt).toBeGreaterThanOrEqual(1000);
    expect(Buffer.from(delivered!.body).toString()).toBe('see you in a second');
    expect(getProperty(delivered!.properties, 'DELAY')).toBeUndefined();
    expect(getProperty(delivered!.properties, 'TAGS')).toBe('late');
    expect(getProperty(delivered!.properties, 'REAL_TOPIC')).toBe('DELAY_T');
    await until('the replicated delay offset', 2000, () => leader.context.metadata.delayOffset(1) === 1);
  });
});

describe('the schedule service across a leader change', () => {
  let shared: SharedLog | undefined;
  const services: ScheduleService[] = [];

  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    shared?.close();
    shared = undefined;
  });

  function twoNodes(s: SharedLog): { a: FakeNode; b: FakeNode; svcA: ScheduleService; svcB: ScheduleService } {
    const a = new FakeNode(s, 'a');
    const b = new FakeNode(s, 'b');
    const options = { pollIntervalMs: 5, maxMessagesPerCycle: 4, retryAfterFailureMs: 5 };
    const svcA = new ScheduleService(a.ctx, options);
    const svcB = new ScheduleService(b.ctx, options);
    services.push(svcA, svcB);
    svcA.start();
    svcB.start();
    return { a, b, svcA, svcB };
  }

  const counter = (bodies: string[]) => (body: string): number => bodies.filter((x) => x === body).length;

  it('runs only on the leader and resumes exactly after the last delivery, even when its offsets never reached the metadata', async () => {
    const s = (shared = new SharedLog());
    const { a, b, svcA, svcB } = twoNodes(s);

    for (let i = 0; i < 10; i++) s.park(`first-${i}`, 1, 0);
    for (let i = 0; i < 3; i++) s.park(`slow-${i}`, 2, 0);
    a.setLeader(true);
    expect([svcA.isActive, svcB.isActive]).toEqual([true, false]);

    s.nowMs = 999; // nothing is due yet
    await sleep(50);
    expect(s.bodies()).toEqual([]);

    s.nowMs = 1000; // the ten level-1 messages are due, in cycles of at most four
    await until('ten deliveries and their offset', 3000, () => s.bodies().length === 10 && s.metadata.delayOffset(1) === 10);
    expect(s.bodies()).toEqual(Array.from({ length: 10 }, (_, i) => `first-${i}`));

    // The leader delivers five more but its control entries fail before it loses leadership:
    // the metadata still says 10, the log's progress records say 15.
    for (let i = 0; i < 5; i++) s.park(`second-${i}`, 1, 2000);
    a.failControl = true;
    s.nowMs = 3000;
    await until('five more deliveries', 3000, () => s.bodies().length === 15);
    expect(s.metadata.delayOffset(1)).toBe(10);
    a.setLeader(false);
    b.setLeader(true);
    expect([svcA.isActive, svcB.isActive]).toEqual([false, true]);

    // The new leader resumes at 15 (the progress record in the same entry as the delivery) and
    // copies that into the metadata.
    await until('the recorded offset', 3000, () => s.metadata.delayOffset(1) === 15);
    s.nowMs = 5000; // level 2 (5 s) is due now
    await until('the level-2 messages', 3000, () => s.metadata.delayOffset(2) === 3);
    const count = counter(s.bodies());
    for (let i = 0; i < 10; i++) expect(count(`first-${i}`)).toBe(1);
    for (let i = 0; i < 5; i++) expect(count(`second-${i}`)).toBe(1);
    for (let i = 0; i < 3; i++) expect(count(`slow-${i}`)).toBe(1);
    expect(s.bodies()).toHaveLength(10 + 5 + 3);
    expect(svcA.deliveredCount).toBe(15);
    expect(svcB.deliveredCount).toBe(3);
  });

  it('does not deliver again what the old leader appended but never heard committed', async () => {
    const s = (shared = new SharedLog());
    const { a, b, svcA, svcB } = twoNodes(s);
    for (let i = 0; i < 3; i++) s.park(`m-${i}`, 1, 0);
    s.nowMs = 1000;
    a.stallNext = true; // the append times out on the old leader...
    a.setLeader(true);
    await until('the stalled append', 3000, () => a.held.length === 1);
    a.setLeader(false);
    a.commitHeld(); // ...but the entry commits under the next leader
    b.setLeader(true);
    await until('the offset recorded by the new leader', 3000, () => s.metadata.delayOffset(1) === 3);
    expect(s.bodies()).toEqual(['m-0', 'm-1', 'm-2']);
    expect(svcB.deliveredCount).toBe(0);
  });
});
