// The delay schedule service. Against a one-node in-process broker: a message sent with DELAY=1
// (1 s) is parked, then delivered to its real topic no sooner than 1 s after it was stored. With
// a fake context (two "nodes" sharing one replicated log, as replicas agree on it): delivery
// resumes after a leader change from the replicated delay offsets, so nothing is lost and only
// what was delivered but not yet recorded is delivered again.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerController } from '../src/broker/broker-controller.js';
import type { BrokerContext, RoleState } from '../src/broker/broker-context.js';
import { notLeader } from '../src/broker/broker-errors.js';
import { decodeControlEntry, encodeControlEntry, type ControlCommand } from '../src/broker/control-entry.js';
import { applyDelayLevel } from '../src/broker/delay-rewrite.js';
import { MetadataState } from '../src/broker/metadata-state.js';
import { ScheduleService } from '../src/broker/schedule/schedule-service.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { decodeMessageRecord, encodeMessageRecords, getProperty, MessageStore, type MessageRecord } from '../src/store/index.js';
import { props, request, sendV2, silent, sleep, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { readQueue, replaceScheduleService } from './broker-processors-helpers.js';
import { FakeLog, message, removeDir, tempDir } from './store-helpers.js';

describe('a delayed message on a real broker', () => {
  let g: TestGroup;
  let leader: BrokerController;
  let schedule: ScheduleService;

  beforeAll(async () => {
    g = await startTestGroup(26300, 1);
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

/** One replicated log and store that two fake nodes share (replicas agree on committed data). */
class SharedLog {
  readonly dir = tempDir('schedule');
  readonly log = new FakeLog();
  readonly metadata = new MetadataState();
  readonly store = MessageStore.open(this.dir, this.log, { onControl: (index, payload) => this.metadata.apply(index, decodeControlEntry(payload)) });
  nowMs = 0;

  append(payload: Buffer): number {
    const index = this.log.appendPayload(payload);
    this.store.dispatchUpTo(index);
    return index;
  }

  /** Parks a message stored at `storedAtMs` at `level`, as the send path does. */
  park(body: string, level: number, storedAtMs: number): void {
    const record = message({ topic: 'REAL_T', queueId: 1, body: Buffer.from(body), properties: props({ DELAY: String(level), KEYS: body }), storeTimestamp: storedAtMs });
    applyDelayLevel(record, 18);
    this.append(encodeMessageRecords([record]));
  }

  close(): void {
    this.store.close();
    removeDir(this.dir);
  }
}

function readBodies(store: MessageStore): string[] {
  const r = store.getMessage('REAL_T', 1, 0, 1024, 64 * 1024 * 1024);
  return r.messages.map((m) => Buffer.from(decodeMessageRecord(m, 0).body).toString());
}

class FakeNode {
  private leads = false;
  private readonly listeners = new Set<(s: RoleState) => void>();
  failControl = false;
  readonly ctx: BrokerContext;

  constructor(private readonly shared: SharedLog, readonly id: string) {
    const raft = {
      nodeId: id,
      peerIds: ['a', 'b'],
      isLeader: () => this.leads,
      role: (): RoleState => ({ role: this.leads ? 'leader' : 'follower', leaderId: '', term: 1, ready: this.leads }),
      onRoleChange: (l: (s: RoleState) => void) => {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
      },
      proposeControl: async (command: ControlCommand) => {
        if (!this.leads || this.failControl) throw notLeader('fake');
        return { index: shared.append(encodeControlEntry(command)) };
      },
    };
    this.ctx = {
      config: { messageDelayLevel: '1s 5s' },
      storeHost: { host: '127.0.0.1', port: 10911 },
      log: silent,
      store: shared.store,
      metadata: shared.metadata,
      raft,
      nowMs: () => shared.nowMs,
      putMessages: async (records: readonly MessageRecord[]) => {
        if (!this.leads) throw notLeader('fake');
        return { index: shared.append(encodeMessageRecords(records)), term: 1, records: [] };
      },
    } as unknown as BrokerContext;
  }

  setLeader(leads: boolean): void {
    this.leads = leads;
    const state = this.ctx.raft.role();
    for (const l of this.listeners) l(state);
  }
}

describe('the schedule service across a leader change', () => {
  let shared: SharedLog | undefined;
  const services: ScheduleService[] = [];

  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    shared?.close();
    shared = undefined;
  });

  it('runs only on the leader, resumes from the replicated offsets and loses nothing', async () => {
    const s = (shared = new SharedLog());
    const a = new FakeNode(s, 'a');
    const b = new FakeNode(s, 'b');
    const options = { pollIntervalMs: 5, maxMessagesPerCycle: 4 };
    const svcA = new ScheduleService(a.ctx, options);
    const svcB = new ScheduleService(b.ctx, options);
    services.push(svcA, svcB);
    svcA.start();
    svcB.start();

    for (let i = 0; i < 10; i++) s.park(`first-${i}`, 1, 0);
    for (let i = 0; i < 3; i++) s.park(`slow-${i}`, 2, 0);
    a.setLeader(true);
    expect([svcA.isActive, svcB.isActive]).toEqual([true, false]);

    s.nowMs = 999; // nothing is due yet
    await sleep(50);
    expect(readBodies(s.store)).toEqual([]);

    s.nowMs = 1000; // the ten level-1 messages are due, in cycles of at most four
    await until('ten deliveries and their offset', 3000, () => readBodies(s.store).length === 10 && s.metadata.delayOffset(1) === 10);
    expect(readBodies(s.store)).toEqual(Array.from({ length: 10 }, (_, i) => `first-${i}`));

    // The leader delivers five more but cannot record the offset before it loses leadership.
    for (let i = 0; i < 5; i++) s.park(`second-${i}`, 1, 2000);
    a.failControl = true;
    s.nowMs = 3000;
    await until('five more deliveries', 3000, () => readBodies(s.store).length === 15);
    expect(s.metadata.delayOffset(1)).toBe(10);
    a.setLeader(false);
    b.setLeader(true);
    expect([svcA.isActive, svcB.isActive]).toEqual([false, true]);

    // The new leader starts from the replicated offset 10: the five unrecorded ones come again.
    await until('redelivery and the recorded offset', 3000, () => s.metadata.delayOffset(1) === 15);
    s.nowMs = 5000; // level 2 (5 s) is due now
    await until('the level-2 messages', 3000, () => s.metadata.delayOffset(2) === 3);
    const bodies = readBodies(s.store);
    const count = (body: string): number => bodies.filter((x) => x === body).length;
    for (let i = 0; i < 10; i++) expect(count(`first-${i}`)).toBe(1);
    for (let i = 0; i < 5; i++) expect(count(`second-${i}`)).toBe(2);
    for (let i = 0; i < 3; i++) expect(count(`slow-${i}`)).toBe(1);
    expect(bodies).toHaveLength(10 + 10 + 3);
    expect(svcA.deliveredCount).toBe(15);
    expect(svcB.deliveredCount).toBe(8);
  });
});
