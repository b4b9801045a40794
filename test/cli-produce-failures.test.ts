// `rmq produce` against a broker that refuses every write (its disk looks full:
// diskSpaceWarningLevelRatio=1): each failed send is told on stderr while the run goes on, with the
// broker's reason, instead of one line at the end.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { request, startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { ensureBuilt, killLiveRuns, rmq } from './cli-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

const BASE_PORT = await findFreeBlock(20);
let g: TestGroup;

beforeAll(async () => {
  ensureBuilt();
  g = await startTestGroup(BASE_PORT, 1, { diskSpaceWarningLevelRatio: '1' });
  const leader = await waitForReadyLeader(g);
  const created = await request(g, leader.brokerAddr, RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'FullTopic', defaultTopic: 'TBW102', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false });
  expect(created.code, created.remark).toBe(ResponseCode.SUCCESS);
});

afterAll(async () => {
  killLiveRuns();
  await g?.close();
});

describe('rmq produce against a full disk', () => {
  it('prints each failed send with the broker reason as it happens, then the summary', async () => {
    const chunks: string[] = [];
    const r = await rmq(['produce', '-n', g.namesrvAddr, '-t', 'FullTopic', '--count', '200', '--concurrency', '1', '--retries', '0', '--send-timeout', '5'], 60_000, (c) => chunks.push(c));
    expect(r.status).toBe(1);
    // The first failure reached stderr long before the run ended (the summary comes last).
    expect(chunks[0]).toMatch(/^send #0 failed \(ERR_CLIENT_SEND_FAILED\): .*disk full: the file system of .* diskSpaceWarningLevelRatio 1%/);
    expect(chunks[0]).not.toContain('send(s) failed');
    const failureLines = r.stderr.split('\n').filter((l) => /^send #\d+ failed/.test(l));
    expect(failureLines).toHaveLength(10);
    expect(r.stderr).toMatch(/^100 sends failed so far; last \(ERR_CLIENT_SEND_FAILED\)/m);
    expect(r.stderr).toMatch(/^200 sends failed so far/m);
    expect(r.stderr).toMatch(/error: 200 send\(s\) failed; first: .*disk full/);
  });
});
