// The log line an operator alerts on when a follower is reset (`event: raft-log-reset`), on a
// real 3-node group: a follower is stopped while the log head moves past everything it has (the
// other follower deletes its head after a metadata snapshot: that run logs `retention-run`), then
// comes back to a leader that no longer holds what it lacks. Every node starts again, so no leader
// can still hold the deleted entries in memory: the reset is certain. Lines are read from the
// pino stream the brokers log to, as JSON objects.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerController } from '../src/broker/broker-controller.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { request, sendV2, startBroker, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

const SMALL_SEGMENTS = { mappedFileSizeCommitLog: String(128 * 1024), maxMessageSize: '4096' };
const BODY = Buffer.alloc(3000, 'm');

const lines: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
const events = (event: string, nodeId: string): Record<string, unknown>[] => lines.filter((l) => l['event'] === event && l['nodeId'] === nodeId);

async function send(g: TestGroup, addr: string, topic: string, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 8) {
    const n = Math.min(8, count - sent);
    const answers = await Promise.all(Array.from({ length: n }, () => request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2(topic, 0, ''), BODY)));
    for (const a of answers) expect(a.code, a.remark).toBe(ResponseCode.SUCCESS);
  }
}

describe('the log line of a follower reset', () => {
  let g: TestGroup;

  beforeAll(async () => {
    g = await startTestGroup(await findFreeBlock(20), 3, SMALL_SEGMENTS, { logger });
  });

  afterAll(async () => {
    await g?.close();
  });

  it('is one raft-log-reset line on the follower, with the new head and its leader, after a retention-run line on the node that deleted it', async () => {
    const a = await waitForReadyLeader(g);
    const [b, f] = g.brokers.filter((x) => x !== a) as [BrokerController, BrokerController];
    const fId = f.config.dLegerSelfId;
    const bId = b.config.dLegerSelfId;
    await send(g, a.brokerAddr, 'ResetLogQ', 1);
    await until('the follower to hold the first message', 5000, () => f.raft.store.getMaxOffsetInQueue('ResetLogQ', 0) === 1);
    const fLastIndex = f.raft.logStorage.lastIndex();
    await f.close({ transferLeadership: false });

    await send(g, a.brokerAddr, 'ResetLogFill', 200);
    const snap = await a.raft.proposeMetadataSnapshot();
    expect(snap).toBeDefined();
    await until('the other follower to apply the snapshot', 5000, () => (b.raft.metadata.latestSnapshot?.index ?? 0) >= snap!.index);
    expect(b.raft.retention.deleteOldestSegments(10).deletedSegments).toBeGreaterThan(0);
    const run = events('retention-run', bId).at(-1);
    expect(run).toMatchObject({ component: 'retention', reason: 'manual-oldest', level: 30 });
    expect(Number(run!['deletedSegments'])).toBeGreaterThan(0);
    expect(events('raft-log-reset', fId)).toEqual([]);

    const [aAt, bAt, fAt] = [a, b, f].map((x) => g.brokers.indexOf(x)) as [number, number, number];
    await a.close({ transferLeadership: false });
    await b.close({ transferLeadership: false });
    g.brokers[fAt] = await startBroker(f.config, { logger });
    g.brokers[bAt] = await startBroker(b.config, { logger });
    await until('the returning follower to log its reset', 20_000, () => events('raft-log-reset', fId).length > 0);
    const [reset, ...more] = events('raft-log-reset', fId);
    expect(more).toEqual([]);
    expect(reset).toMatchObject({ component: 'raft', group: f.config.dLegerGroup, leader: bId, level: 40, msg: 'log reset to the leader head' });
    expect(Number(reset!['index'])).toBeGreaterThan(fLastIndex);
    g.brokers[aAt] = await startBroker(a.config, { logger });
  });
});
