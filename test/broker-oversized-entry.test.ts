// A write whose stored records would not fit one log entry (a data segment) is refused alone,
// with 13 MESSAGE_ILLEGAL "not stored", before anything is proposed; the leader keeps serving.
// It used to become an entry alone, fail its append inside the Raft turn and stop the process,
// and every next leader inherited the same proposal (seen with the delay service on small segments).
import { afterEach, describe, expect, it } from 'vitest';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { request, sendV2, startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

/** The smallest segment broker.conf allows for a 1 KiB maxMessageSize (1024 + 64 KiB, in pages). */
const SEGMENT_BYTES = 69632;

let g: TestGroup | undefined;

afterEach(async () => {
  await g?.close();
  g = undefined;
});

describe('an entry larger than a log segment', () => {
  it('is refused with MESSAGE_ILLEGAL and the leader goes on storing sends', async () => {
    g = await startTestGroup(await findFreeBlock(13), 1, { mappedFileSizeCommitLog: String(SEGMENT_BYTES), maxMessageSize: '1024' });
    const leader = await waitForReadyLeader(g);
    const send = (): Promise<{ code: number; remark?: string }> => request(g!, leader.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('BigEntryTopic', 0, ''), Buffer.from('small'));
    expect((await send()).code).toBe(ResponseCode.SUCCESS);
    // Records as a delay or retry path might hand over: more than one segment holds.
    const tooLarge = leader.raft.putRecords(Buffer.alloc(SEGMENT_BYTES), 1);
    await expect(tooLarge).rejects.toMatchObject({ code: 'ERR_BROKER_MESSAGE_ILLEGAL', responseCode: ResponseCode.MESSAGE_ILLEGAL, message: expect.stringContaining('not stored') });
    const after = await send();
    expect(after.code, after.remark).toBe(ResponseCode.SUCCESS);
    expect(leader.raft.isLeader()).toBe(true);
  });
});
