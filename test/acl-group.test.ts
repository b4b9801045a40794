// ACL on a real 3-node group (aclEnable=true, plain_acl.yml beside broker.conf) with the real,
// unmodified ali-ons client given accessKeyId/accessKeySecret: the right keys produce and
// consume; a wrong secret, a topic the account may not publish to, a SUB-only account sending
// and a non-admin administration request are each refused with NO_PERMISSION (16) and a remark;
// an account's white-listed address passes without a signature; and after a SIGKILL of the
// leader the new leader enforces the same rules (no window without ACL), including the accounts
// created and deleted at run time with codes 50-52 (replicated through the Raft log).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { Admin, Producer } from '../src/client/index.js';
import { makeRequest, RemotingClient, RequestCode, ResponseCode } from '../src/protocol/index.js';
import { until } from './helpers/poll.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ons = require('ali-ons') as { Producer: any; Consumer: any; Message: any };
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const clientOptions = { httpclient: {}, pollNameServerInteval: 1000, heartbeatBrokerInterval: 2000, rebalanceInterval: 2000, logger: quiet };

const ADMIN = { accessKey: 'opsKey', secretKey: 'opsSecret-0123' };
const RULES = `
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: appKey
    secretKey: appSecret-0123
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - AclOrders=PUB|SUB
  - accessKey: readKey
    secretKey: readSecret-0123
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
  - accessKey: ${ADMIN.accessKey}
    secretKey: ${ADMIN.secretKey}
    admin: true
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: SUB
  - accessKey: localKey
    secretKey: unused-secret
    whiteRemoteAddress: 127.0.0.1
    defaultTopicPerm: SUB
`;

let dir: string;
let cluster: LocalCluster;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'acl-group-'));
  writeFileSync(join(dir, 'plain_acl.yml'), RULES);
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(20), logLevel: 'warn', extraConf: { aclEnable: 'true' }, credentials: ADMIN });
  await cluster.waitForLeader(30_000);
  const admin = new Admin({ namesrvAddr: cluster.namesrvAddr, credentials: ADMIN });
  await admin.start();
  try {
    await until('topic AclOrders created', 20_000, async () => {
      try {
        await admin.createTopic('AclOrders', { readQueueNums: 2, writeQueueNums: 2 });
        return (await admin.topicStatus('AclOrders')).length === 2;
      } catch {
        return false;
      }
    });
  } finally {
    await admin.shutdown();
  }
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function onsProducer(accessKeyId: string, accessKeySecret: string): any {
  const p = new ons.Producer({ ...clientOptions, nameSrv: [cluster.namesrvAddr], producerGroup: 'AclProducers', accessKeyId, accessKeySecret });
  p.on('error', () => undefined);
  return p;
}

async function sendError(producer: any, topic: string): Promise<string> {
  const msg = new ons.Message(topic, 'tag', 'body');
  try {
    const r = await producer.send(msg);
    return `sent: ${r.sendStatus}`;
  } catch (err) {
    return String((err as Error).message);
  }
}

/** ali-ons with these keys fails to send, and the broker answers a raw signed send 16 with `remark`. */
async function expectRefused(accessKey: string, secretKey: string, topic: string, remark: RegExp): Promise<void> {
  const producer = onsProducer(accessKey, secretKey);
  const outcome = await sendError(producer, topic);
  expect(outcome, `${accessKey} sending to ${topic}`).not.toMatch(/^sent/);
  // Its unregistration is refused too when the secret is wrong.
  await producer.close().catch(() => undefined);
  const leader = await cluster.waitForLeader(20_000);
  const raw = new RemotingClient({ credentials: { accessKey, secretKey } });
  try {
    const fields = { a: 'AclProducers', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: '', j: '0', k: 'false', m: 'false' };
    const r = await raw.invoke(leader.brokerAddr, makeRequest(RequestCode.SEND_MESSAGE_V2, fields, { body: Buffer.from('x') }), 5000);
    expect(r.code).toBe(ResponseCode.NO_PERMISSION);
    expect(r.remark).toMatch(remark);
  } finally {
    await raw.close();
  }
}

describe('ACL on a real group with ali-ons', () => {
  it('lets the right keys produce and consume, and refuses a wrong secret, an unlisted topic and a SUB-only sender with 16', async () => {
    const producer = onsProducer('appKey', 'appSecret-0123');
    await producer.ready();
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await producer.send(new ons.Message('AclOrders', 'tag', `m${i}`));
      expect(r.sendStatus).toBe('SEND_OK');
      sent.push(`m${i}`);
    }
    const got = new Set<string>();
    const consumer = new ons.Consumer({ ...clientOptions, nameSrv: [cluster.namesrvAddr], consumerGroup: 'AclReaders', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', accessKeyId: 'appKey', accessKeySecret: 'appSecret-0123' });
    consumer.on('error', () => undefined);
    consumer.subscribe('AclOrders', '*', async (msg: any) => void got.add(msg.body.toString()));
    await until('every message consumed', 30_000, async () => sent.every((b) => got.has(b)));
    await consumer.close();

    await producer.close();
    // ali-ons reports a refused send only as a failed send after its retries; the same request
    // signed with the same keys shows the broker's answer.
    await expectRefused('appKey', 'appSecret-0123', 'AclOther', /no PUB permission on topic AclOther/);
    await expectRefused('appKey', 'not-the-secret', 'AclOrders', /signature .* does not match AccessKey appKey/);
    await expectRefused('readKey', 'readSecret-0123', 'AclOrders', /no PUB permission on topic AclOrders \(it has SUB\)/);
  }, 120_000);

  it('refuses administration from a non-admin account and lets an account pass unsigned from its white-listed address', async () => {
    const leader = await cluster.waitForLeader(20_000);
    const signed = new RemotingClient({ credentials: { accessKey: 'appKey', secretKey: 'appSecret-0123' } });
    const plain = new RemotingClient();
    const admin = new RemotingClient({ credentials: ADMIN });
    try {
      const r = await signed.invoke(leader.brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'AclSneaky', readQueueNums: '1', writeQueueNums: '1', perm: '6' }), 5000);
      expect(r.code).toBe(ResponseCode.NO_PERMISSION);
      expect(r.remark).toMatch(/administration: AccessKey appKey is not an admin account/);
      // Retention deletion and our Raft codes (transfer, status, digest) too.
      for (const code of [RequestCode.DELETE_EXPIRED_COMMITLOG, 1500, 1501, 1502]) {
        const refused = await signed.invoke(leader.brokerAddr, makeRequest(code), 5000);
        expect(refused.code, `request ${code}`).toBe(ResponseCode.NO_PERMISSION);
        expect(refused.remark).toMatch(/is administration/);
      }
      const status = await admin.invoke(leader.brokerAddr, makeRequest(1501), 5000);
      expect(status.code).toBe(ResponseCode.SUCCESS);
      // The kit gives every group a Raft peer secret: RAFT_STATUS says so, with the refusal counters.
      expect(JSON.parse(status.body!.toString())).toMatchObject({ peerAuthentication: true, raftAuthFailures: 0 });
      const anonymous = await plain.invoke(leader.brokerAddr, makeRequest(RequestCode.GET_MAX_OFFSET, { topic: 'AclOrders', queueId: '0' }), 5000);
      expect(anonymous.code).toBe(ResponseCode.NO_PERMISSION);
      expect(anonymous.remark).toMatch(/carries no AccessKey/);
      const white = await plain.invoke(leader.brokerAddr, makeRequest(RequestCode.GET_MAX_OFFSET, { topic: 'AclOrders', queueId: '0', AccessKey: 'localKey' }), 5000);
      expect(white.code).toBe(ResponseCode.SUCCESS);
    } finally {
      await signed.close();
      await plain.close();
      await admin.close();
    }
  }, 60_000);

  it('replicates ACL changes made with codes 50-52 to every node, and only an admin may make them', async () => {
    const notAdmin = new Admin({ namesrvAddr: cluster.namesrvAddr, credentials: { accessKey: 'appKey', secretKey: 'appSecret-0123' } });
    const admin = new Admin({ namesrvAddr: cluster.namesrvAddr, credentials: ADMIN });
    await notAdmin.start();
    await admin.start();
    try {
      const refused = await notAdmin.updateAclConfig({ accessKey: 'sneakyKey', secretKey: 'sneaky-0123', admin: true }).then(() => undefined, (e: unknown) => e as Error);
      expect(refused?.message).toMatch(/16|not an admin account/);
      await admin.updateAclConfig({ accessKey: 'lateKey', secretKey: 'lateSecret-0123', defaultTopicPerm: 'DENY', topicPerms: ['AclOrders=PUB'] });
      await admin.updateAclConfig({ accessKey: 'tempKey', secretKey: 'tempSecret-0123', defaultTopicPerm: 'PUB' });
      await admin.deleteAclConfig('tempKey');
      // A bad account is refused before anything is replicated, naming the field.
      const bad = await admin.updateAclConfig({ accessKey: 'badKey', secretKey: 'bad-0123', defaultTopicPerm: 'WRITE' }).then(() => undefined, (e: unknown) => e as Error);
      expect(bad?.message).toMatch(/defaultTopicPerm/);
      // Every node (followers too) enforces the same rules: equal versions, lateKey replicated, tempKey gone.
      const raw = new RemotingClient({ credentials: ADMIN });
      try {
        await until('every node holding the change', 20_000, async () => {
          const answers = await Promise.all(cluster.nodes.map((n) => raw.invoke(n.brokerAddr, makeRequest(52), 3000).catch(() => undefined)));
          if (answers.some((a) => a?.code !== ResponseCode.SUCCESS)) return false;
          const bodies = answers.map((a) => JSON.parse(a!.body!.toString()) as { accounts: { accessKey: string; source: string }[] });
          return new Set(answers.map((a) => a!.extFields['version'])).size === 1
            && bodies.every((b) => b.accounts.some((x) => x.accessKey === 'lateKey' && x.source === 'replicated') && !b.accounts.some((x) => x.accessKey === 'tempKey'));
        });
        const info = await raw.invoke(cluster.nodes[0]!.brokerAddr, makeRequest(52), 3000);
        expect(info.body!.toString()).not.toMatch(/Secret-0123|secretKey/);
      } finally {
        await raw.close();
      }
      const groups = await admin.getAclConfig();
      expect(groups).toHaveLength(1);
      expect(groups[0]!.accounts.find((a) => a.accessKey === 'lateKey')).toMatchObject({ topicPerms: ['AclOrders=PUB'], source: 'replicated' });
    } finally {
      await notAdmin.shutdown();
      await admin.shutdown();
    }
    const late = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'AclLate', credentials: { accessKey: 'lateKey', secretKey: 'lateSecret-0123' } });
    await late.start();
    try {
      expect((await late.send({ topic: 'AclOrders', body: 'late' })).status).toBe('SEND_OK');
    } finally {
      await late.shutdown();
    }
  }, 90_000);

  it('keeps enforcing the rules on the new leader after a SIGKILL of the old one', async () => {
    const old = await cluster.waitForLeader(20_000);
    await cluster.killNode(old.id);
    const next = await cluster.waitForLeader(30_000);
    expect(next.id).not.toBe(old.id);
    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'AclSdk', credentials: { accessKey: 'readKey', secretKey: 'readSecret-0123' }, retryTimesWhenSendFailed: 0 });
    await producer.start();
    try {
      const err = await producer.send({ topic: 'AclOrders', body: 'x' }).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.message).toMatch(/16|no PUB permission/);
    } finally {
      await producer.shutdown();
    }
    const ok = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'AclSdk', credentials: { accessKey: 'appKey', secretKey: 'appSecret-0123' } });
    await ok.start();
    try {
      expect((await ok.send({ topic: 'AclOrders', body: 'after failover' })).status).toBe('SEND_OK');
    } finally {
      await ok.shutdown();
    }
    // The changes made at run time survive the failover: lateKey may send, tempKey stays deleted.
    const late = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'AclLate', credentials: { accessKey: 'lateKey', secretKey: 'lateSecret-0123' } });
    await late.start();
    try {
      expect((await late.send({ topic: 'AclOrders', body: 'late after failover' })).status).toBe('SEND_OK');
    } finally {
      await late.shutdown();
    }
    const raw = new RemotingClient({ credentials: { accessKey: 'tempKey', secretKey: 'tempSecret-0123' } });
    try {
      const r = await raw.invoke(next.brokerAddr, makeRequest(RequestCode.GET_MAX_OFFSET, { topic: 'AclOrders', queueId: '0' }), 5000);
      expect(r.code).toBe(ResponseCode.NO_PERMISSION);
      expect(r.remark).toMatch(/tempKey is not an account/);
    } finally {
      await raw.close();
    }
    await cluster.restartNode(old.id);
  }, 120_000);
});
