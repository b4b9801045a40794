// A pull held on a follower must be answered as soon as a reset renumbers its queue, not when its
// hold time runs out. A follower stopped while the leader's log head moves past everything it
// has is started again alone (no quorum, so no reset yet); a consumer's pull waits there at its
// queue's end; once a leader is back the follower is reset to the leader's log start, where that
// queue begins past the pull's offset, and the pull answers PULL_OFFSET_MOVED at once with the
// new offset. No new message reaches that queue, so only the reset can wake the pull.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { request, sendV2, startBroker, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

const SMALL_SEGMENTS = { mappedFileSizeCommitLog: String(128 * 1024), maxMessageSize: '4096' };
const BODY = Buffer.alloc(3000, 'm');
/** Far above the bound the test allows for the answer: only a wake-up can answer in time. */
const SUSPEND_MS = 30_000;
const PROMPT_MS = 8_000;

async function send(g: TestGroup, addr: string, topic: string, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 8) {
    const n = Math.min(8, count - sent);
    const answers = await Promise.all(Array.from({ length: n }, () => request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2(topic, 0, ''), BODY)));
    for (const a of answers) expect(a.code, a.remark).toBe(ResponseCode.SUCCESS);
  }
}

describe('a follower reset while a pull is held', () => {
  let g: TestGroup;

  beforeAll(async () => {
    g = await startTestGroup(await findFreeBlock(20), 3, SMALL_SEGMENTS);
  });

  afterAll(async () => {
    await g?.close();
  });

  it('answers the held pull with the queue\'s new offsets as soon as the reset moves them', async () => {
    const a = await waitForReadyLeader(g);
    const [b, f] = g.brokers.filter((x) => x !== a) as [BrokerController, BrokerController];
    await send(g, a.brokerAddr, 'ResetQ', 1);
    await until('the follower to hold the first message', 5000, () => f.raft.store.getMaxOffsetInQueue('ResetQ', 0) === 1);
    const fLastIndex = f.raft.logStorage.lastIndex();
    await f.close({ transferLeadership: false });

    // While it is down: one more message in the watched queue, then enough elsewhere that the
    // part of the log holding it is deleted on the node that will lead.
    await send(g, a.brokerAddr, 'ResetQ', 1);
    await send(g, a.brokerAddr, 'ResetFill', 200);
    const snap = await a.raft.proposeMetadataSnapshot();
    expect(snap).toBeDefined();
    await until('the other follower to apply the snapshot', 5000, () => (b.raft.metadata.latestSnapshot?.index ?? 0) >= snap!.index);
    expect(b.raft.retention.deleteOldestSegments(10).deletedSegments).toBeGreaterThan(0);
    expect(b.raft.logStorage.firstIndex()).toBeGreaterThan(fLastIndex + 1);

    // Everyone down; the follower comes back alone and cannot be reset yet.
    const [aAt, bAt, fAt] = [a, b, f].map((x) => g.brokers.indexOf(x)) as [number, number, number];
    await a.close({ transferLeadership: false });
    await b.close({ transferLeadership: false });
    const back = await startBroker(f.config);
    g.brokers[fAt] = back;
    expect(back.raft.store.getMaxOffsetInQueue('ResetQ', 0)).toBe(1);
    const pull = request(g, back.brokerAddr, RequestCode.PULL_MESSAGE, {
      consumerGroup: 'ResetGroup', topic: 'ResetQ', queueId: 0, queueOffset: 1, maxMsgNums: 32, sysFlag: 2, commitOffset: 0,
      suspendTimeoutMillis: SUSPEND_MS, subscription: '*', subVersion: 1,
    }, undefined, SUSPEND_MS + 5000);
    await until('the pull to be held', 5000, () => back.status()['heldPulls'] === 1);

    // A leader again (b holds the newer log, so it wins): the returning node is reset.
    const started = Date.now();
    g.brokers[bAt] = await startBroker(b.config);
    const answered = await Promise.race([pull, new Promise<undefined>((r) => setTimeout(() => r(undefined), PROMPT_MS).unref())]);
    expect(answered, `the held pull was not answered within ${PROMPT_MS} ms of the reset`).toBeDefined();
    expect(back.raft.logStorage.firstIndex()).toBeGreaterThan(fLastIndex + 1);
    expect(answered!.code, answered!.remark).toBe(ResponseCode.PULL_OFFSET_MOVED);
    expect(answered!.extFields['nextBeginOffset']).toBe('2');
    expect(Date.now() - started).toBeLessThan(PROMPT_MS);
    g.brokers[aAt] = await startBroker(a.config);
  });
});

