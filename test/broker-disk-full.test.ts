// A 3-node broker group whose nodes n0 and n1 see their disks as full (diskSpaceWarningLevelRatio=1
// makes any real disk look full): n0 as leader refuses sends with 14 SERVICE_NOT_AVAILABLE and a
// remark naming the file system and its usage, keeps serving pulls and status, and hands
// leadership to n2, the follower that reports room (not n1), after which sends through n0 are
// stored again.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { RaftAdminCode } from '../src/broker/processors/raft-admin.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { decodeMessageRecord } from '../src/store/index.js';
import { props, request, sendV2, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 3, (i) => (i < 2 ? { diskSpaceWarningLevelRatio: '1' } : {}));
  await waitForReadyLeader(g);
});

afterAll(async () => {
  await g?.close();
});

function node(id: string): BrokerController {
  return g.brokers.find((b) => b.raft.nodeId === id)!;
}

async function makeLeader(id: string): Promise<void> {
  const current = await waitForReadyLeader(g);
  if (current.raft.nodeId !== id) await request(g, current.brokerAddr, RaftAdminCode.RAFT_TRANSFER_LEADER, { targetNodeId: id });
  await until(`${id} to lead`, 10_000, () => node(id).raft.isLeader());
}

function send(addr: string, body: string): ReturnType<typeof request> {
  return request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('DiskTopic', 0, props({ WAIT: 'true' })), Buffer.from(body));
}

describe('a broker group with two nodes whose disks are full', () => {
  it('refuses sends on the full leader with a remark naming the disk, still serves pulls, and hands leadership to the node with room', async () => {
    await makeLeader('n2');
    const stored = await send(node('n2').brokerAddr, 'before');
    expect(stored.code).toBe(ResponseCode.SUCCESS);
    const n0 = node('n0');
    await until('n0 to dispatch the first message', 5000, () => n0.raft.store.getMaxOffsetInQueue('DiskTopic', 0) === 1);

    await makeLeader('n0');
    const refused = await send(n0.brokerAddr, 'refused');
    expect(refused.code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
    expect(refused.remark).toMatch(/not stored on 127\.0\.0\.1:\d+: disk full: the file system of \S+ is \d+\.\d% used, at or above diskSpaceWarningLevelRatio 1%/);

    const pull = await request(g, n0.brokerAddr, RequestCode.PULL_MESSAGE, { consumerGroup: 'G', topic: 'DiskTopic', queueId: 0, queueOffset: 0, maxMsgNums: 32, sysFlag: 4, commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 1 });
    expect(pull.code).toBe(ResponseCode.SUCCESS);
    expect(Buffer.from(decodeMessageRecord(pull.body!, 0).body).toString()).toBe('before');
    const status = await request(g, n0.brokerAddr, RaftAdminCode.RAFT_STATUS);
    expect(JSON.parse(status.body!.toString())).toMatchObject({ diskWritable: false });

    await until('n2, the follower with room, to take over', 5000, () => node('n2').raft.isLeader());
    expect(node('n1').raft.isLeader()).toBe(false);
    const relayed = await send(n0.brokerAddr, 'after hand-off');
    expect(relayed.code).toBe(ResponseCode.SUCCESS);
  });
});
