// The idempotent producer on a real 3-node group (processes from dist/): a send repeating the
// UNIQ_KEY of one stored within the window gets the first result (msgId, queue, offset) and is not
// stored again, also when the repeat reaches the leader elected after a SIGKILL of the one that
// stored it, and also when it arrives while the first is still in flight; retry topics are never
// de-duplicated; our SDK's retries with clientRetries on store each message once. Batches (320)
// too: a repeated batch gets its first answer, a batch repeating some ids stores only the others,
// our SDK's batch retry after a lost answer stores it once, and batches survive a leader SIGKILL.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { Admin, Producer } from '../src/client/index.js';
import { encodeBatch } from '../src/client/batch-encoder.js';
import { buildBatchRequest } from '../src/client/send-request.js';
import { makeRequest, RemotingClient, RemotingTimeoutError, RequestCode, ResponseCode, type RemotingCommand, type ResponseHandler } from '../src/protocol/index.js';
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

/** One SEND_BATCH_MESSAGE of one message per key (the body names the key, so copies are told apart). */
async function sendBatch(addr: string, topic: string, keys: readonly string[], queueId = 0): Promise<RemotingCommand> {
  const body = encodeBatch(keys.map((k) => ({ body: Buffer.from(`batch ${k}`), flag: 0, properties: props({ UNIQ_KEY: k, WAIT: 'true' }) })));
  return client.invoke(addr, buildBatchRequest('PG', { topic, brokerName: 'broker-a', queueId }, body, undefined), 10_000);
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

  it('answers a repeated batch with the first batch\'s result and stores it once, concurrent repeats included', async () => {
    const leader = await cluster.waitForLeader(10_000);
    await admin.createTopic('DedupBatchT', { writeQueueNums: 1 });
    const keys = [uniq(), uniq(), uniq()];
    const first = await sendBatch(leader.brokerAddr, 'DedupBatchT', keys);
    expect(first.code).toBe(ResponseCode.SUCCESS);
    expect(first.extFields['msgId']!.split(',')).toHaveLength(3);
    const again = await sendBatch(leader.brokerAddr, 'DedupBatchT', keys);
    expect(result(again)).toEqual(result(first));
    expect(again.remark).toMatch(/not stored again/);
    expect(await maxOffset(leader.brokerAddr, 'DedupBatchT')).toBe(3);
    // Four sends of one new batch at once: one copy, four equal answers.
    const keys2 = [uniq(), uniq()];
    const all = await Promise.all(Array.from({ length: 4 }, () => sendBatch(leader.brokerAddr, 'DedupBatchT', keys2)));
    expect(all.every((r) => r.code === ResponseCode.SUCCESS)).toBe(true);
    expect(new Set(all.map((r) => JSON.stringify(result(r)))).size).toBe(1);
    expect(await maxOffset(leader.brokerAddr, 'DedupBatchT')).toBe(5);
  }, 60_000);

  it('stores only the new messages of a batch that repeats some stored ids, and lists every stored copy', async () => {
    const leader = await cluster.waitForLeader(10_000);
    await admin.createTopic('DedupPartT', { writeQueueNums: 1 });
    const [k1, k2, k3] = [uniq(), uniq(), uniq()];
    const first = await sendBatch(leader.brokerAddr, 'DedupPartT', [k1, k2]);
    const [id1, id2] = first.extFields['msgId']!.split(',');
    const mixed = await sendBatch(leader.brokerAddr, 'DedupPartT', [k2, k3, k1]);
    expect(mixed.code).toBe(ResponseCode.SUCCESS);
    expect(mixed.remark).toMatch(/2 of the batch's 3 messages repeat ids/);
    const ids = mixed.extFields['msgId']!.split(',');
    expect([ids[0], ids[2]]).toEqual([id2, id1]);
    expect(ids[1]).not.toBe(id1);
    expect(mixed.extFields['queueOffset']).toBe('2');
    expect(await maxOffset(leader.brokerAddr, 'DedupPartT')).toBe(3);
  }, 60_000);

  it('stores a batch of our SDK once when its first answer is lost and the SDK retries it', async () => {
    await admin.createTopic('DedupSdkBatchT', { writeQueueNums: 1 });
    await expect.poll(async () => (await admin.topicRoute('DedupSdkBatchT')).queueDatas.map((q) => q.writeQueueNums), { timeout: 10_000 }).toEqual([1]);
    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'dedup-batch-pg', retryTimesWhenSendFailed: 2, sendMsgTimeoutMs: 10_000 });
    await producer.start();
    try {
      // The first stored attempt's answer is turned into a timeout, as if the connection died.
      const remoting = (producer as unknown as { instance: { remoting: { request: (addr: string, cmd: RemotingCommand, timeoutMs: number, h: ResponseHandler) => Error | undefined } } }).instance.remoting;
      const original = remoting.request.bind(remoting);
      let lost = 0;
      remoting.request = (addr, cmd, timeoutMs, h) => {
        if (cmd.code !== RequestCode.SEND_BATCH_MESSAGE || lost > 0) return original(addr, cmd, timeoutMs, h);
        const losing: ResponseHandler = {
          onResponse: (r) => {
            if (r.code !== ResponseCode.SUCCESS) return h.onResponse(r);
            lost++;
            h.onFailure(new RemotingTimeoutError(addr, cmd.code, timeoutMs));
          },
          onFailure: (e) => h.onFailure(e),
        };
        return original(addr, cmd, timeoutMs, losing);
      };
      const r = await producer.sendBatch(['a', 'b', 'c', 'd'].map((b) => ({ topic: 'DedupSdkBatchT', body: b })));
      expect(lost).toBe(1);
      expect(r.status).toBe('SEND_OK');
      expect(r.queueOffset).toBe(0);
      expect(r.offsetMsgId.split(',')).toHaveLength(4);
      const leader = await cluster.waitForLeader(10_000);
      expect(await maxOffset(leader.brokerAddr, 'DedupSdkBatchT')).toBe(4);
    } finally {
      await producer.shutdown();
    }
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
    await admin.createTopic('DedupFailBatchT', { writeQueueNums: 1 });
    const batches = Array.from({ length: 5 }, () => [uniq(), uniq(), uniq()]);
    const batchFirsts = [];
    for (const b of batches) batchFirsts.push(await sendBatch(leader.brokerAddr, 'DedupFailBatchT', b));
    expect(batchFirsts.every((r) => r.code === ResponseCode.SUCCESS)).toBe(true);
    await cluster.killNode(leader.id, 'SIGKILL');
    const next = await cluster.waitForLeader(30_000);
    expect(next.id).not.toBe(leader.id);
    for (let i = 0; i < keys.length; i++) expect(result(await send(next.brokerAddr, 'DedupFailT', keys[i]!))).toEqual(result(firsts[i]!));
    expect(await maxOffset(next.brokerAddr, 'DedupFailT')).toBe(20);
    for (let i = 0; i < batches.length; i++) expect(result(await sendBatch(next.brokerAddr, 'DedupFailBatchT', batches[i]!))).toEqual(result(batchFirsts[i]!));
    expect(await maxOffset(next.brokerAddr, 'DedupFailBatchT')).toBe(15);
    await cluster.restartNode(leader.id);
  }, 90_000);
});
