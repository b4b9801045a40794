// A broker whose Raft log fails (ENOSPC on append) stops replicating through the fail-stop path:
// the waiting producer gets SERVICE_NOT_AVAILABLE with "outcome unknown" (never an uncaught
// exception), and the owner is told through onFatal with ERR_RAFT_STORAGE_FAILED (the broker process
// then exits 3: src/broker/main.ts).
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/core/types.js';
import { LogStorageError } from '../raft/storage/storage-errors.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { props, request, sendV2, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

let g: TestGroup | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

describe('a broker whose Raft log fails', () => {
  it('answers the waiting send with outcome unknown and reports ERR_RAFT_STORAGE_FAILED through onFatal', async () => {
    const fatal: Error[] = [];
    g = await startTestGroup(await findFreeBlock(20), 1, {}, { onFatal: (err) => fatal.push(err) });
    const b = await waitForReadyLeader(g);
    const ok = await request(g, b.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('DiskTopic', 0, props({})), Buffer.from('before'));
    expect(ok.code).toBe(ResponseCode.SUCCESS);
    const storage = (b.raft as unknown as { storage: { append: (entries: readonly Entry[]) => void } }).storage;
    storage.append = (entries) => {
      const first = entries[0]!.index;
      throw new LogStorageError('ERR_LOG_IO', `append of entries ${first}..${first} failed: ENOSPC`, { cause: Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', syscall: 'write' }) });
    };
    const r = await request(g, b.brokerAddr, RequestCode.SEND_MESSAGE_V2, sendV2('DiskTopic', 0, props({})), Buffer.from('after'));
    expect(r.code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
    expect(r.remark).toContain('outcome unknown');
    await until('onFatal', 3000, () => fatal.length === 1);
    expect((fatal[0] as Error & { code?: string }).code).toBe('ERR_RAFT_STORAGE_FAILED');
  });
});
