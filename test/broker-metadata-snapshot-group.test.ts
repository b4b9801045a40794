// Metadata snapshots on real broker groups with small log segments (128 KiB). A follower stopped
// while topics and consumer offsets change, whose missing entries are then deleted by retention
// on every other node, comes back, is reset past the deleted head, installs the latest snapshot
// from the retained log, numbers every queue as the other replicas do (the leader's start record
// carries each queue's offset: equal replica digests, the same message at the same queue offset),
// and after a leadership transfer answers QUERY_CONSUMER_OFFSET with the committed offsets. A node whose metadata is incomplete never becomes a ready leader: elected,
// it hands leadership away, and the next snapshot completes it. On a single node, retention
// deletes nothing before the first snapshot and never past its asOfIndex + 1, and (group commit
// with small segments) a turn of concurrent sends larger than a segment is stored as entries that
// each fit one.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { decodeJsonBody, RequestCode, ResponseCode } from '../src/protocol/index.js';
import { RaftAdminCode } from '../src/broker/processors/raft-admin.js';
import type { ReplicaDigest } from '../src/broker/replica-digest.js';
import { request, sendV2, startBroker, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const SMALL_SEGMENTS = { mappedFileSizeCommitLog: String(128 * 1024), maxMessageSize: '4096' };
const BODY = Buffer.alloc(3000, 'm');

/** Sends `count` messages of 3000 bytes to `topic` queue `queueId`, a few at a time. */
async function fill(g: TestGroup, addr: string, topic: string, queueId: number, count: number): Promise<void> {
  const inFlight = 8;
  for (let sent = 0; sent < count; sent += inFlight) {
    const n = Math.min(inFlight, count - sent);
    const answers = await Promise.all(Array.from({ length: n }, () => request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2(topic, queueId, ''), BODY)));
    for (const a of answers) expect(a.code, a.remark).toBe(ResponseCode.SUCCESS);
  }
}

/** A node's replica digest, asked over the wire (RAFT_REPLICA_DIGEST, as the divergence checker does). */
async function digestOf(g: TestGroup, node: BrokerController): Promise<ReplicaDigest> {
  const r = await request(g, node.brokerAddr, RaftAdminCode.RAFT_REPLICA_DIGEST);
  expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
  return decodeJsonBody<ReplicaDigest>(r.body, 'digest');
}

async function commitOffset(g: TestGroup, addr: string, topic: string, queueId: number, offset: number): Promise<void> {
  const r = await request(g, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'SnapGroup', topic, queueId, commitOffset: offset });
  expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
}

describe('a 3-node group with metadata snapshots', () => {
  let g: TestGroup;

  beforeAll(async () => {
    g = await startTestGroup(await findFreeBlock(20), 3, SMALL_SEGMENTS);
    await waitForReadyLeader(g);
  });

  afterAll(async () => {
    await g?.close();
  });

  it('installs the latest metadata snapshot, knows every committed topic and offset, and serves them as leader', async () => {
    const a = await waitForReadyLeader(g);
    const [b, f] = g.brokers.filter((x) => x !== a) as [BrokerController, BrokerController];
    const fAt = g.brokers.indexOf(f);
    // Known to every node before the follower stops.
    await fill(g, a.brokerAddr, 'SnapOld', 0, 1);
    await commitOffset(g, a.brokerAddr, 'SnapOld', 0, 1);
    await until('every node to know the first offset', 5000, () => g.brokers.every((x) => x.raft.metadata.consumerOffset('SnapGroup', 'SnapOld', 0) === 1));
    const fLastIndex = f.raft.logStorage.lastIndex();
    await f.close({ transferLeadership: false });

    // Changed while it is down, in the part of the log retention deletes next.
    await fill(g, a.brokerAddr, 'SnapNew', 0, 1);
    await commitOffset(g, a.brokerAddr, 'SnapNew', 0, 5);
    await commitOffset(g, a.brokerAddr, 'SnapNew', 1, 7);
    await commitOffset(g, a.brokerAddr, 'SnapOld', 0, 3);
    await until('the leader to apply the offsets', 5000, () => a.raft.metadata.consumerOffset('SnapGroup', 'SnapOld', 0) === 3 && a.raft.metadata.consumerOffset('SnapGroup', 'SnapNew', 1) === 7);
    await fill(g, a.brokerAddr, 'SnapNew', 2, 200);
    await until('the leader to propose a snapshot on its own as the log grew', 5000, () => a.raft.metadata.latestSnapshot !== undefined);
    const snap = await a.raft.proposeMetadataSnapshot();
    expect(snap).toBeDefined();
    await until('the other follower to apply the snapshot', 5000, () => (b.raft.metadata.latestSnapshot?.index ?? 0) >= snap!.index);

    const deleted = b.raft.retention.deleteOldestSegments(10);
    expect(deleted.deletedSegments).toBeGreaterThan(0);
    const bFirst = b.raft.logStorage.firstIndex();
    expect(bFirst).toBeGreaterThan(fLastIndex + 1);
    expect(bFirst).toBeLessThanOrEqual(b.raft.metadata.latestSnapshot!.asOfIndex + 1);

    await a.raft.transferLeadership(b.raft.nodeId);
    await until('the other follower to be the ready leader', 5000, () => b.raft.isLeader());
    expect(a.raft.retention.deleteOldestSegments(10).deletedSegments).toBeGreaterThan(0);
    expect(a.raft.logStorage.firstIndex()).toBeGreaterThan(fLastIndex + 1);
    // The old leader's transport still queues the App messages it pipelined to the stopped node;
    // delivered on reconnect they would hand it the deleted entries (valid Raft, but no reset).
    // A restart drops them, as an outage of that host would.
    const aAt = g.brokers.indexOf(a);
    await a.close({ transferLeadership: false });
    g.brokers[aAt] = await startBroker(a.config);
    const leader = await waitForReadyLeader(g);
    // After the snapshot: the returning node applies it as it catches up.
    await commitOffset(g, leader.brokerAddr, 'SnapNew', 2, 9);

    const back = await startBroker(f.config);
    g.brokers[fAt] = back;
    await until('the returning node to catch up', 10_000, () => back.raft.store.dispatchedIndex >= leader.raft.store.dispatchedIndex && back.raft.metadata.consumerOffset('SnapGroup', 'SnapNew', 2) === 9);
    expect(back.raft.logStorage.firstIndex()).toBeGreaterThan(fLastIndex + 1);
    expect(back.raft.metadata.complete).toBe(true);
    expect(back.status()).toMatchObject({ metadataComplete: true, metadataSnapshot: { asOfIndex: expect.any(Number) } });
    expect(back.raft.metadata.topic('SnapNew')).toBeDefined();
    expect(back.raft.metadata.consumerOffset('SnapGroup', 'SnapNew', 0)).toBe(5);
    expect(back.raft.metadata.consumerOffset('SnapGroup', 'SnapNew', 1)).toBe(7);
    expect(back.raft.metadata.consumerOffset('SnapGroup', 'SnapOld', 0)).toBe(3);

    // The returning node numbers its queues as the others do, though it never saw the deleted
    // messages: SnapNew/2 holds offsets up to 200 everywhere, not 0..k on the reset node.
    const twin = g.brokers.find((x) => x !== back && x.raft.logStorage.firstIndex() === back.raft.logStorage.firstIndex());
    expect(twin, 'a node whose log starts where the returning node was reset to').toBeDefined();
    const [backDigest, twinDigest] = [await digestOf(g, back), await digestOf(g, twin!)];
    expect(backDigest.consumeQueues['SnapNew@2']?.maxOffset).toBe(200);
    expect(backDigest.consumeQueues['SnapNew@2']!.minOffset).toBeGreaterThan(0);
    expect(backDigest.consumeQueues).toEqual(twinDigest.consumeQueues);
    expect(backDigest.consumeQueuesSha256).toBe(twinDigest.consumeQueuesSha256);
    for (const other of g.brokers.filter((x) => x !== back)) {
      const d = await digestOf(g, other);
      expect(Object.fromEntries(Object.entries(d.consumeQueues).map(([k, v]) => [k, v.maxOffset])), other.raft.nodeId).toEqual(Object.fromEntries(Object.entries(backDigest.consumeQueues).map(([k, v]) => [k, v.maxOffset])));
      // The same queue offset reads the same message on every node that still holds it.
      const offset = Math.max(back.raft.store.getMinOffsetInQueue('SnapNew', 2), other.raft.store.getMinOffsetInQueue('SnapNew', 2));
      const mine = back.raft.store.getMessage('SnapNew', 2, offset, 1, 1 << 20);
      const theirs = other.raft.store.getMessage('SnapNew', 2, offset, 1, 1 << 20);
      expect(mine.status).toBe('FOUND');
      expect(mine.body.equals(theirs.body), `SnapNew/2@${offset} on ${other.raft.nodeId}`).toBe(true);
    }

    const current = await waitForReadyLeader(g);
    if (current !== back) await current.raft.transferLeadership(back.raft.nodeId);
    await until('the returned node to be the ready leader', 5000, () => back.raft.isLeader());
    for (const [topic, queueId, offset] of [['SnapNew', 1, '7'], ['SnapOld', 0, '3'], ['SnapNew', 2, '9']] as const) {
      const q = await request(g, back.brokerAddr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'SnapGroup', topic, queueId });
      expect(q.code, q.remark).toBe(ResponseCode.SUCCESS);
      expect(q.extFields['offset']).toBe(offset);
    }
  });

  it('never lets a node with incomplete metadata be a ready leader: elected, it hands leadership away and completes with the next snapshot', async () => {
    const leader = await waitForReadyLeader(g);
    const x = g.brokers.find((b) => b !== leader)!;
    await commitOffset(g, leader.brokerAddr, 'SnapSolo', 0, 11);
    await until('the node to know the offset', 5000, () => x.raft.metadata.consumerOffset('SnapGroup', 'SnapSolo', 0) === 11);
    let wasReady = false;
    const unsubscribe = x.raft.onRoleChange((s) => { wasReady ||= s.ready; });
    try {
      // As a reset does: the metadata misses the effect of the next entry.
      expect(x.raft.metadata.markIncomplete(x.raft.metadata.appliedIndex + 1)).toBe(true);
      // Its own tables cannot answer: it asks the leader instead (it would refuse with no leader).
      const q = await request(g, x.brokerAddr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'SnapGroup', topic: 'SnapSolo', queueId: 0 });
      expect(q.code, q.remark).toBe(ResponseCode.SUCCESS);
      expect(q.extFields['offset']).toBe('11');
      await leader.raft.transferLeadership(x.raft.nodeId);
      await until('another node to be the ready leader again', 10_000, () => g.brokers.some((b) => b !== x && b.raft.isLeader()));
      expect(wasReady).toBe(false);
      expect(x.raft.metadata.complete).toBe(false);
      const next = await waitForReadyLeader(g);
      expect(await next.raft.proposeMetadataSnapshot()).toBeDefined();
      await until('the node to install the snapshot', 5000, () => x.raft.metadata.complete);
      expect(x.raft.metadata.consumerOffset('SnapGroup', 'SnapSolo', 0)).toBe(11);
      const answered = await request(g, x.brokerAddr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'SnapGroup', topic: 'SnapSolo', queueId: 0 });
      expect(answered.extFields['offset']).toBe('11');
    } finally {
      unsubscribe();
    }
  });
});

describe('retention on a single node with metadata snapshots', () => {
  let g: TestGroup;

  beforeAll(async () => {
    // Snapshots only when the test asks, so "before the first snapshot" is a state it controls.
    g = await startTestGroup(await findFreeBlock(20), 1, SMALL_SEGMENTS, { snapshotCheckIntervalMs: 0 });
    await waitForReadyLeader(g);
  });

  afterAll(async () => {
    await g?.close();
  });

  it('deletes nothing before the first snapshot and never past its asOfIndex + 1', async () => {
    const leader = await waitForReadyLeader(g);
    await fill(g, leader.brokerAddr, 'Retained', 0, 180);
    expect(leader.raft.logStorage.segmentFiles().length).toBeGreaterThan(3);
    const before = leader.raft.retention.deleteOldestSegments(10);
    expect(before).toMatchObject({ deletedSegments: 0, stoppedBy: 'min-retain-index', firstIndex: 1 });

    const snap = await leader.raft.proposeMetadataSnapshot();
    expect(snap).toBeDefined();
    await fill(g, leader.brokerAddr, 'Retained', 0, 180);
    const after = leader.raft.retention.deleteOldestSegments(10);
    expect(after.deletedSegments).toBeGreaterThan(0);
    expect(after.stoppedBy).toBe('min-retain-index');
    expect(after.firstIndex).toBeLessThanOrEqual(snap!.asOfIndex + 1);
    expect(leader.raft.logStorage.segmentFiles().length).toBeGreaterThan(1);
  });

  it('stores a turn of concurrent sends larger than a log segment (each group-commit entry fits a segment)', async () => {
    const leader = await waitForReadyLeader(g);
    const answers = await Promise.all(Array.from({ length: 120 }, () => request(g, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('Burst', 0, ''), BODY)));
    for (const a of answers) expect(a.code, a.remark).toBe(ResponseCode.SUCCESS);
    expect(leader.raft.store.getMaxOffsetInQueue('Burst', 0)).toBe(120);
  });
});
