// A group that lost its quorum while its old leader still runs: a send to that leader must be
// refused at once ("not stored", ERR_BROKER_NO_QUORUM), so a client moves on to another broker,
// instead of being answered only after the proposal or the leader wait times out (2-3 s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { request, sendV2, startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;

beforeAll(async () => {
  g = await startTestGroup(BASE_PORT, 3);
  await waitForReadyLeader(g);
});

afterAll(async () => {
  await g?.close();
});

describe('a broker group without quorum', () => {
  it('refuses a send to its old leader within a few hundred ms once the leader hears no follower', async () => {
    const leader = await waitForReadyLeader(g);
    const ok = await request(g, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('QuorumTopic', 0, ''), Buffer.from('before'));
    expect(ok.code).toBe(ResponseCode.SUCCESS);
    for (const b of g.brokers.filter((x) => x !== leader)) await b.close({ transferLeadership: false });
    // Bounded: sends until one is refused fast, or 10 s. Each send is timed; none may be stored.
    const tookMs: number[] = [];
    const deadline = Date.now() + 10_000;
    let fast: { code: number; remark: string | undefined } | undefined;
    while (Date.now() < deadline && fast === undefined) {
      const started = Date.now();
      const r = await request(g, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('QuorumTopic', 0, ''), Buffer.from('no quorum'), 8000).catch(() => undefined);
      const ms = Date.now() - started;
      tookMs.push(ms);
      expect(r?.code).not.toBe(ResponseCode.SUCCESS);
      if (r !== undefined && ms < 300) fast = { code: r.code, remark: r.remark };
    }
    expect(fast, `send durations ${tookMs.join(', ')} ms`).toBeDefined();
    expect(fast!.code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
    expect(fast!.remark).toMatch(/not stored.*no quorum/);
  });
});
