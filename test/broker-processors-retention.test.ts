// DELETE_EXPIRED_COMMITLOG (329): the remark and the answer of the processor against a fake
// context, then the Admin SDK against an in-process 3-node group with 128 KiB log segments: every
// node deletes its own expired segments (their mtimes moved back past fileReservedTime), queues'
// min offsets move forward and what stays still reads; and a leader keeps what a stopped follower
// still needs, as the scheduled rule does.

import { utimesSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerContext } from '../src/broker/broker-context.js';
import { deleteExpiredCommitLogProcessor, describeDeletion } from '../src/broker/processors/delete-expired-commitlog.js';
import type { DeleteExpiredBody } from '../src/protocol/route-data.js';
import { Admin } from '../src/client/index.js';
import { decodeJsonBody, makeRequest, RequestCode, ResponseCode, type RemotingCommand } from '../src/protocol/index.js';
import type { CleanReport } from '../src/store/index.js';
import { request, sendV2, silent, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

const BASE_PORT = await findFreeBlock(20);
const TOPIC = 'RetentionTopic';
const HOUR_MS = 3_600_000;
/** Messages of 2 KiB per round: about 5 segments of 128 KiB. */
const PER_ROUND = 300;

function fakeContext(deleteExpiredCommitLog: () => CleanReport): BrokerContext {
  return {
    config: { brokerName: 'broker-x', fileReservedTime: 48 },
    brokerAddr: '127.0.0.1:10911',
    raft: { nodeId: 'n1' },
    log: silent,
    admin: { deleteExpiredCommitLog },
  } as unknown as BrokerContext;
}

async function handle(ctx: BrokerContext): Promise<RemotingCommand> {
  const resp = await deleteExpiredCommitLogProcessor.handle(ctx, makeRequest(RequestCode.DELETE_EXPIRED_COMMITLOG), undefined as never);
  return resp as RemotingCommand;
}

describe('the DELETE_EXPIRED_COMMITLOG processor', () => {
  it('serves request code 329, the number apache/rocketmq gives DELETE_EXPIRED_COMMITLOG', () => {
    expect(RequestCode.DELETE_EXPIRED_COMMITLOG).toBe(329);
    expect(deleteExpiredCommitLogProcessor.codes).toEqual([329]);
  });

  it('answers SUCCESS with a remark saying what it deleted and why the next segment stayed, and the report as JSON', async () => {
    const report: CleanReport = { reason: 'manual-expired', usedRatio: 0.4, deletedSegments: 3, deletedStoreFiles: 2, firstIndex: 1201, stoppedBy: 'unexpired' };
    const resp = await handle(fakeContext(() => report));
    expect(resp.code).toBe(ResponseCode.SUCCESS);
    expect(resp.remark).toBe('n1: deleted 3 expired log segments and 2 ConsumeQueue/IndexFile files; kept the rest: the next segment was written less than fileReservedTime=48 h ago; the log starts at index 1201');
    expect(decodeJsonBody<DeleteExpiredBody>(resp.body, 'body')).toEqual({
      nodeId: 'n1', brokerName: 'broker-x', brokerAddr: '127.0.0.1:10911', deletedSegments: 3, deletedStoreFiles: 2, firstIndex: 1201, stoppedBy: 'unexpired', usedRatio: 0.4, fileReservedTimeHours: 48,
    });
  });

  it('answers SYSTEM_ERROR naming the node and the cause when retention throws', async () => {
    const resp = await handle(fakeContext(() => { throw new Error('EACCES: permission denied'); }));
    expect(resp.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(resp.remark).toBe('deleting expired CommitLog segments on n1 failed: EACCES: permission denied');
  });

  it.each([
    ['undispatched', /not yet dispatched/],
    ['min-retain-index', /a follower still needs/],
    ['last-segment', /holds the newest entry/],
    ['run-limit', /run the command again/],
  ] as const)('explains a run stopped by %s', (stoppedBy, why) => {
    const line = describeDeletion({ deletedSegments: 0, deletedStoreFiles: 0, firstIndex: 1, stoppedBy }, 72);
    expect(line).toMatch(/^deleted nothing; kept the rest: /);
    expect(line).toMatch(why);
  });

  it('counts one segment and one file in the singular', () => {
    expect(describeDeletion({ deletedSegments: 1, deletedStoreFiles: 1, firstIndex: 90 }, 72)).toBe('deleted 1 expired log segment and 1 ConsumeQueue/IndexFile file; the log starts at index 90');
  });
});

describe('Admin.deleteExpiredCommitLog against a 3-node group', () => {
  let g: TestGroup;
  let leader: BrokerController;
  let admin: Admin;
  let sent = 0;

  /** Sends `count` 2 KiB messages to queues 0 and 1 of TOPIC in turn, 16 at a time. */
  async function produce(count: number): Promise<void> {
    for (let i = 0; i < count; i += 16) {
      const n = Math.min(16, count - i);
      const answers = await Promise.all(Array.from({ length: n }, () => request(g, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2(TOPIC, sent++ % 2, ''), Buffer.alloc(2048, 0x61))));
      for (const a of answers) expect(a.code, a.remark).toBe(ResponseCode.SUCCESS);
    }
  }

  /** Moves every segment of a node's log but the last one back past fileReservedTime (1 h). */
  function ageSegments(b: BrokerController): number {
    const segments = b.raft.logStorage.segmentFiles();
    const past = (Date.now() - 2 * HOUR_MS) / 1000;
    for (const s of segments.slice(0, -1)) utimesSync(s.path, past, past);
    return segments.length;
  }

  beforeAll(async () => {
    // deleteWhen far from now and a high disk ratio, so the brokers' own timers delete nothing.
    const hour = String((new Date().getHours() + 12) % 24).padStart(2, '0');
    g = await startTestGroup(BASE_PORT, 3, {
      mappedFileSizeCommitLog: String(128 * 1024), maxMessageSize: '16384', fileReservedTime: '1', deleteWhen: hour, diskMaxUsedSpaceRatio: '95',
    });
    leader = await waitForReadyLeader(g);
    admin = new Admin({ namesrvAddr: g.namesrvAddr });
    await admin.start();
    await until('every node registered with the NameServer', 10_000, async () => Object.keys((await admin.clusterInfo()).brokerAddrTable['broker-t']?.brokerAddrs ?? {}).length === 3);
  }, 60_000);

  afterAll(async () => {
    await admin?.shutdown();
    await g?.close();
  });

  it('deletes nothing while every segment is younger than fileReservedTime, and every node says so', async () => {
    await produce(PER_ROUND);
    const firstIndex = leader.raft.logStorage.firstIndex();
    const nodes = await admin.deleteExpiredCommitLog();
    expect(nodes.map((n) => n.addr).sort()).toEqual(g.brokers.map((b) => b.brokerAddr).sort());
    for (const n of nodes) {
      expect(n.error).toBeUndefined();
      expect(n.result).toMatchObject({ deletedSegments: 0, stoppedBy: 'unexpired', firstIndex, fileReservedTimeHours: 1 });
      expect(n.result!.remark).toMatch(/deleted nothing; kept the rest: the next segment was written less than fileReservedTime=1 h ago/);
    }
  }, 60_000);

  it('deletes the expired segments on every node, moves each queue min offset forward and keeps the rest readable', async () => {
    // Retention never deletes past the latest metadata snapshot: have one cover everything sent.
    const mark = await leader.raft.proposeMetadataSnapshot();
    expect(mark).toBeDefined();
    await until('every node applied the last send and the snapshot', 10_000, () => g.brokers.every((b) => b.raft.store.dispatchedIndex >= leader.raft.store.dispatchedIndex));
    for (const b of g.brokers) expect(ageSegments(b)).toBeGreaterThanOrEqual(3);
    const nodes = await admin.deleteExpiredCommitLog({ clusterName: 'DefaultCluster' });
    expect(nodes).toHaveLength(3);
    for (const n of nodes) {
      expect(n.error).toBeUndefined();
      expect(n.result!.deletedSegments, n.result!.remark).toBeGreaterThan(0);
      expect(n.result!.firstIndex).toBeGreaterThan(2);
      expect(n.result!.remark).toMatch(/^n\d: deleted \d+ expired log segments? and \d+ ConsumeQueue\/IndexFile files?; kept the rest: /);
    }
    for (const b of g.brokers) {
      const min = await request(g, b.brokerAddr, RequestCode.GET_MIN_OFFSET, { topic: TOPIC, queueId: 0 });
      const max = await request(g, b.brokerAddr, RequestCode.GET_MAX_OFFSET, { topic: TOPIC, queueId: 0 });
      const minOffset = Number(min.extFields['offset']);
      expect(minOffset).toBeGreaterThan(0);
      expect(Number(max.extFields['offset'])).toBe(PER_ROUND / 2);
      const read = b.raft.store.getMessage(TOPIC, 0, minOffset, 1000, 64 * 1024 * 1024);
      expect(read.messages).toHaveLength(PER_ROUND / 2 - minOffset);
    }
  }, 60_000);

  it('keeps on the leader every entry a stopped follower still needs, and says so', async () => {
    const follower = g.brokers.find((b) => b !== leader)!;
    const followerLast = follower.raft.node.status().lastIndex;
    await follower.close({ transferLeadership: false });
    await produce(PER_ROUND);
    expect(ageSegments(leader)).toBeGreaterThanOrEqual(3);
    const [node] = await admin.deleteExpiredCommitLog({ brokerAddr: leader.brokerAddr });
    expect(node!.error).toBeUndefined();
    expect(node!.result!.stoppedBy).toBe('min-retain-index');
    expect(node!.result!.firstIndex).toBeLessThanOrEqual(followerLast + 1);
    expect(node!.result!.remark).toMatch(/a follower still needs/);
  }, 60_000);

  it('reports a node that does not answer with its error instead of failing the others', async () => {
    const nodes = await admin.deleteExpiredCommitLog({ brokerAddr: '127.0.0.1:1' });
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ addr: '127.0.0.1:1', brokerId: -1 });
    expect(nodes[0]!.result).toBeUndefined();
    expect(nodes[0]!.error).toMatch(/127\.0\.0\.1:1/);
  }, 30_000);
});
