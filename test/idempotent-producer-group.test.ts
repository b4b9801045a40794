// The idempotent producer on a real 3-node group (processes from dist/): a send repeating the
// UNIQ_KEY of one stored within the window gets the first result (msgId, queue, offset) and is not
// stored again, also when the repeat reaches the leader elected after a SIGKILL of the one that
// stored it, and also when it arrives while the first is still in flight; retry topics are never
// de-duplicated; our SDK's retries with clientRetries on store each message once.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { Admin } from '../src/client/index.js';
import { makeRequest, RemotingClient, RequestCode, ResponseCode, type RemotingCommand } from '../src/protocol/index.js';
import { props, sendV2 } from './broker-helpers.js';

process.env['RMQ_LOG_LEVEL'] ??= 'silent';

let dir: string;
let cluster: LocalCluster;
let admin: Admin;
const client = new RemotingClient();

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmq-idempotent-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), logLevel: 'warn' });
  await cluster.waitForLeader(30_000);
  admin = new Admin({ namesrvAddr: cluster.namesrvAddr });
  await admin.start();
}, 60_000);

afterAll(async () => {
  await client.close();
  await admin?.shutdown();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const body = Buffer.from('payload');
let counter = 0;
const uniq = (): string => `0A0000010000${String(Date.now()).slice(-8)}${String(counter++).padStart(12, '0')}`;

async function send(addr: string, topic: string, key: string, queueId = 0): Promise<RemotingCommand> {
  return client.invoke(addr, makeRequest(RequestCode.SEND_MESSAGE_V2, sendV2(topic, queueId, props({ UNIQ_KEY: key, WAIT: 'true' })), { body }), 10_000);
}

async function maxOffset(addr: string, topic: string, queueId = 0): Promise<number> {
  const resp = await client.invoke(addr, makeRequest(RequestCode.GET_MAX_OFFSET, { topic, queueId }), 5000);
  return Number(resp.extFields['offset']);
}

const result = (r: RemotingCommand): [number, string, string, string] => [r.code, r.extFields['msgId']!, r.extFields['queueId']!, r.extFields['queueOffset']!];

describe('idempotent producer on a real 3-node group', () => {
  it('answers a repeated send with the first result and stores it once, concurrent repeats included', async () => {
    const leader = await cluster.waitForLeader(10_000);
    await admin.createTopic('DedupT', { writeQueueNums: 1 });
    const key = uniq();
    const first = await send(leader.brokerAddr, 'DedupT', key);
    expect(first.code).toBe(ResponseCode.SUCCESS);
    const again = await send(leader.brokerAddr, 'DedupT', key);
    expect(result(again)).toEqual(result(first));
    expect(again.remark).toMatch(/not stored again/);
    expect(await maxOffset(leader.brokerAddr, 'DedupT')).toBe(1);
    // Five sends of one new id at once: one copy, five equal answers.
    const key2 = uniq();
    const all = await Promise.all(Array.from({ length: 5 }, () => send(leader.brokerAddr, 'DedupT', key2)));
    expect(new Set(all.map((r) => JSON.stringify(result(r)))).size).toBe(1);
    expect(all[0]!.code).toBe(ResponseCode.SUCCESS);
    expect(await maxOffset(leader.brokerAddr, 'DedupT')).toBe(2);
    // A different id is a different message.
    expect((await send(leader.brokerAddr, 'DedupT', uniq())).extFields['queueOffset']).toBe('2');
  }, 60_000);

  it('never de-duplicates a retry topic: a message sent back twice keeps its UNIQ_KEY', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const key = uniq();
    const retryTopic = '%RETRY%dedup-g';
    const a = await send(leader.brokerAddr, retryTopic, key);
    const b = await send(leader.brokerAddr, retryTopic, key);
    expect([a.code, b.code]).toEqual([ResponseCode.SUCCESS, ResponseCode.SUCCESS]);
    expect(Number(b.extFields['queueOffset'])).toBe(Number(a.extFields['queueOffset']) + 1);
  }, 30_000);

  it('does not store a committed send twice when its retry reaches the leader elected after a SIGKILL', async () => {
    const leader = await cluster.waitForLeader(10_000);
    await admin.createTopic('DedupFailT', { writeQueueNums: 1 });
    const keys = Array.from({ length: 20 }, () => uniq());
    const firsts = [];
    for (const k of keys) firsts.push(await send(leader.brokerAddr, 'DedupFailT', k));
    expect(firsts.every((r) => r.code === ResponseCode.SUCCESS)).toBe(true);
    await cluster.killNode(leader.id, 'SIGKILL');
    const next = await cluster.waitForLeader(30_000);
    expect(next.id).not.toBe(leader.id);
    for (let i = 0; i < keys.length; i++) expect(result(await send(next.brokerAddr, 'DedupFailT', keys[i]!))).toEqual(result(firsts[i]!));
    expect(await maxOffset(next.brokerAddr, 'DedupFailT')).toBe(20);
    await cluster.restartNode(leader.id);
  }, 90_000);
});
