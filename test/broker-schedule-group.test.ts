// The schedule service in a 3-node in-process group: it runs on the ready leader only, its delay
// offsets reach every replica, every delivery shares its Raft entry with the progress record that
// moves the offsets past it, and after a leadership transfer the new leader goes on from them
// (nothing lost, nothing delivered twice). Follower nodes relay topic creation and send-back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerController } from '../src/broker/broker-controller.js';
import { RaftAdminCode } from '../src/broker/processors/raft-admin.js';
import type { ScheduleService } from '../src/broker/schedule/schedule-service.js';
import { decodeJsonBody, RequestCode, ResponseCode } from '../src/protocol/index.js';
import { parseMessageId } from '../src/store/index.js';
import { props, request, sendV2, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { readQueue, registerMyProcessors, replaceScheduleService } from './broker-processors-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;
const services = new Map<BrokerController, ScheduleService>();

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 3);
  await waitForReadyLeader(g);
  for (const b of g.brokers) {
    registerMyProcessors(b);
    services.set(b, await replaceScheduleService(b, { delayLevelsMs: Array.from({ length: 18 }, () => 300), pollIntervalMs: 20 }));
  }
});

afterAll(async () => {
  for (const s of services.values()) await s.stop();
  await g?.close();
});

function followers(): BrokerController[] {
  return g.brokers.filter((b) => !b.raft.isLeader());
}

/** The Raft index of the entry holding the record at `physicalOffset` on `b`. */
function entryOf(b: BrokerController, physicalOffset: number): number {
  const log = b.raft.logStorage;
  // Bounded by the log length (a few hundred entries in this test).
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) {
    const at = log.locate(i);
    if (at && physicalOffset >= at.payloadPosition && physicalOffset < at.payloadPosition + at.payloadBytes) return i;
  }
  return -1;
}

function bodies(b: BrokerController): string[] {
  return readQueue(b, 'GROUP_DELAY_T', 0, 0, 1024).map((m) => Buffer.from(m.body).toString());
}

async function sendDelayed(to: BrokerController, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const r = await request(g, to.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('GROUP_DELAY_T', 0, props({ DELAY: '1' })), Buffer.from(`d-${i}`));
    expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
  }
}

describe('the schedule service in a 3-node group', () => {
  it('lets followers relay topic creation and send-back to the leader', async () => {
    const follower = followers()[0]!;
    const created = await request(g, follower.brokerAddr, RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'GROUP_DELAY_T', readQueueNums: 2, writeQueueNums: 2, perm: 6 });
    expect(created.code, created.remark).toBe(ResponseCode.SUCCESS);
    await until('every replica to know the topic', 5000, () => g.brokers.every((b) => b.context.metadata.topic('GROUP_DELAY_T')?.writeQueueNums === 2));

    const sent = await request(g, follower.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('GROUP_DELAY_T', 1, ''), Buffer.from('to retry'));
    const back = await request(g, follower.brokerAddr, RequestCode.CONSUMER_SEND_MSG_BACK, { offset: parseMessageId(sent.extFields['msgId']!).physicalOffset, group: 'GG', delayLevel: 0, maxReconsumeTimes: 16 });
    expect(back.code, back.remark).toBe(ResponseCode.SUCCESS);
    await until('the retry copy on every replica', 5000, () => g.brokers.every((b) => readQueue(b, '%RETRY%GG', 0).length === 1));
  });

  it('runs on the leader only and resumes from the replicated offsets after a leadership transfer', async () => {
    const leader = await waitForReadyLeader(g);
    expect(g.brokers.map((b) => services.get(b)!.isActive)).toEqual(g.brokers.map((b) => b === leader));
    await sendDelayed(leader, 0, 20);
    await until('20 deliveries recorded on every replica', 5000, () => g.brokers.every((b) => b.context.metadata.delayOffset(1) === 20 && bodies(b).length === 20));
    const progressEntries = new Set(readQueue(leader, 'RMQ_SYS_SCHEDULE_PROGRESS', 0, 0, 1024).map((r) => entryOf(leader, r.physicalOffset)));
    for (const m of readQueue(leader, 'GROUP_DELAY_T', 0, 0, 1024)) expect(progressEntries.has(entryOf(leader, m.physicalOffset))).toBe(true);

    const target = followers()[0]!;
    const t = await request(g, leader.brokerAddr, RaftAdminCode.RAFT_TRANSFER_LEADER, { targetNodeId: target.raft.nodeId }, undefined, 10_000);
    expect(t.code, t.remark).toBe(ResponseCode.SUCCESS);
    await until('the target to lead', 5000, () => target.raft.isLeader());
    await until('the schedule service to move', 5000, () => services.get(target)!.isActive && !services.get(leader)!.isActive);

    await sendDelayed(target, 20, 10);
    await until('30 deliveries recorded on every replica', 5000, () => g.brokers.every((b) => b.context.metadata.delayOffset(1) === 30 && bodies(b).length === 30));
    for (const b of g.brokers) expect(bodies(b)).toEqual(Array.from({ length: 30 }, (_, i) => `d-${i}`));
    expect(services.get(target)!.deliveredCount).toBe(10);

    const digests = await Promise.all(g.brokers.map(async (b) => {
      const r = await request(g, b.brokerAddr, RaftAdminCode.RAFT_REPLICA_DIGEST, { index: target.raft.store.dispatchedIndex });
      return decodeJsonBody<{ consumeQueuesSha256: string }>(r.body, 'digest').consumeQueuesSha256;
    }));
    expect(new Set(digests).size).toBe(1);
  });
});
