// The gRPC endpoint with TLS and ACL on a real 3-node group (NameServer and brokers as OS
// processes; grpcTlsEnable with a test CA made by openssl, aclEnable with plain_acl.yml), driven
// by Apache's unmodified rocketmq-client-nodejs with its own options: `sslEnabled: true` and
// `sessionCredentials`. The right keys send and receive over TLS; a plaintext client gets
// nothing; a wrong secret is refused UNAUTHORIZED, a topic the account may not use FORBIDDEN,
// each naming what is missing, and the refusals are counted where remoting's are
// (rmq_acl_refusals_total).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { Admin } from '../src/client/index.js';
import { readClusterFile } from '../src/devkit/cluster-file.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { sampleSum, scrape } from './metrics-helpers.js';
import { makeTestCa } from './helpers/test-ca.js';

const dir = mkdtempSync(join(tmpdir(), 'grpc-security-'));
const ca = makeTestCa(dir, 'grpc');
// The client trusts the system's CAs only (createSsl() without roots): a private CA is added the
// way grpc-js reads it, before the client (and grpc-js) load. NODE_EXTRA_CA_CERTS at process start
// does the same for a real application.
process.env['GRPC_DEFAULT_SSL_ROOTS_FILE_PATH'] = ca.ca;
const v5 = await import('rocketmq-client-nodejs');
const grpc = await import('@grpc/grpc-js');
const { messagingServiceDefinition } = await import('../src/grpc/proto.js');

const TOPIC = 'GrpcAclTopic';
const ADMIN = { accessKey: 'opsKey', secretKey: 'opsSecret-0123' };
const APP = { accessKey: 'grpcApp', accessSecret: 'grpcSecret-0123' };
const READER = { accessKey: 'grpcReader', accessSecret: 'readerSecret-0123' };
const NO_GROUP = { accessKey: 'grpcNoGroup', accessSecret: 'noGroupSecret-0123' };
const RULES = `
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: ${APP.accessKey}
    secretKey: ${APP.accessSecret}
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - ${TOPIC}=PUB|SUB
  - accessKey: ${READER.accessKey}
    secretKey: ${READER.accessSecret}
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
  - accessKey: ${NO_GROUP.accessKey}
    secretKey: ${NO_GROUP.accessSecret}
    defaultTopicPerm: SUB
    defaultGroupPerm: DENY
  - accessKey: ${ADMIN.accessKey}
    secretKey: ${ADMIN.secretKey}
    admin: true
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: SUB
`;
const logger = { info() {}, debug() {}, warn() {}, error() {} };

let cluster: LocalCluster;
let endpoint = '';
let metricsAddr = '';
const clients: { shutdown(): Promise<unknown> }[] = [];

type Creds = { accessKey: string; accessSecret: string };
function producer(creds: Creds | undefined, sslEnabled = true): InstanceType<typeof v5.Producer> {
  const p = new v5.Producer({ endpoints: endpoint, namespace: '', sslEnabled, logger, requestTimeout: 3000, ...(creds !== undefined ? { sessionCredentials: creds } : {}) });
  clients.push(p);
  return p;
}

async function refusalsCounted(): Promise<number> {
  return sampleSum((await scrape(metricsAddr)).text, 'rmq_acl_refusals_total');
}

beforeAll(async () => {
  writeFileSync(join(dir, 'plain_acl.yml'), RULES);
  cluster = await startLocalCluster({
    dir: join(dir, 'cluster'),
    basePort: await findFreeBlock(30),
    grpc: true,
    logLevel: 'warn',
    credentials: ADMIN,
    extraConf: { aclEnable: 'true', aclFile: join(dir, 'plain_acl.yml'), grpcTlsEnable: 'true', tlsCertPath: ca.cert, tlsKeyPath: ca.key },
  });
  const leader = await cluster.waitForLeader(30_000);
  const node = cluster.nodes.find((n) => n.id === leader.id)!;
  endpoint = node.grpcAddr!;
  metricsAddr = readClusterFile(join(dir, 'cluster')).groups[0]!.nodes.find((n) => n.id === leader.id)!.metricsAddr!;
  const admin = new Admin({ namesrvAddr: cluster.namesrvAddr, credentials: ADMIN });
  await admin.start();
  try {
    await admin.createTopic(TOPIC, { writeQueueNums: 2, readQueueNums: 2 });
  } finally {
    await admin.shutdown();
  }
}, 90_000);

afterAll(async () => {
  for (const c of clients) await c.shutdown().catch(() => undefined);
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('the gRPC endpoint with TLS and ACL', () => {
  it('serves the unmodified client over TLS with the right keys: it sends, and a SimpleConsumer receives', async () => {
    const p = producer(APP);
    await p.startup();
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await p.send({ topic: TOPIC, body: Buffer.from(`secure-${i}`) })).messageId);
    const c = new v5.SimpleConsumer({ endpoints: endpoint, namespace: '', sslEnabled: true, sessionCredentials: APP, consumerGroup: 'grpc-acl-group', subscriptions: new Map([[TOPIC, '*']]), logger, awaitDuration: 2000 });
    clients.push(c);
    await c.startup();
    const got = new Map<string, string>();
    const deadline = Date.now() + 30_000;
    while (got.size < ids.size && Date.now() < deadline) {
      for (const m of await c.receive(16, 15_000)) {
        got.set(m.messageId, m.body.toString());
        await c.ack(m);
      }
    }
    expect(new Set(got.keys())).toEqual(ids);
    expect([...got.values()].sort()).toEqual(['secure-0', 'secure-1', 'secure-2']);
  }, 60_000);

  it('gives a plaintext client nothing: the port speaks TLS only', async () => {
    const Ctor = grpc.makeGenericClientConstructor(messagingServiceDefinition(), 'MessagingService');
    const raw = new Ctor(endpoint, grpc.credentials.createInsecure());
    try {
      const outcome = await new Promise<string>((resolve) => {
        (raw as unknown as Record<string, (req: unknown, opts: unknown, cb: (err: unknown) => void) => void>)['QueryRoute']!.call(raw, { topic: { name: TOPIC } }, { deadline: Date.now() + 3000 }, (err) => resolve(err ? 'refused' : 'answered'));
      });
      expect(outcome).toBe('refused');
    } finally {
      raw.close();
    }
  }, 30_000);

  it('refuses a wrong secret key UNAUTHORIZED, saying the signature does not match, and counts it', async () => {
    const before = await refusalsCounted();
    const p = producer({ accessKey: APP.accessKey, accessSecret: 'not-the-secret' });
    await p.startup();
    const err = await p.send({ topic: TOPIC, body: Buffer.from('x') }).then(() => undefined, (e: unknown) => e as Error & { code?: number });
    expect(err).toBeDefined();
    expect(String(err?.message) + String((err?.cause as Error | undefined)?.message ?? '')).toMatch(/signature of gRPC QueryRoute does not match AccessKey grpcApp/);
    expect(err?.code ?? (err?.cause as { code?: number } | undefined)?.code).toBe(40100);
    expect(await refusalsCounted()).toBeGreaterThan(before);
  }, 60_000);

  it('refuses a client without keys UNAUTHORIZED', async () => {
    const p = producer(undefined);
    await p.startup();
    const err = await p.send({ topic: TOPIC, body: Buffer.from('x') }).then(() => undefined, (e: unknown) => e as Error);
    expect(String(err?.message)).toMatch(/carries no AccessKey/);
  }, 60_000);

  it('refuses a topic the account may not use FORBIDDEN, and a send from a SUB-only account, naming the permission', async () => {
    const p = producer(APP);
    await p.startup();
    const other = await p.send({ topic: 'GrpcOtherTopic', body: Buffer.from('x') }).then(() => undefined, (e: unknown) => e as Error & { code?: number });
    expect(String(other?.message)).toMatch(/AccessKey grpcApp has no PUB or SUB permission on topic GrpcOtherTopic \(it has DENY\)/);
    expect(other?.code).toBe(40300);
    const r = producer(READER);
    await r.startup();
    const send = await r.send({ topic: TOPIC, body: Buffer.from('x') }).then(() => undefined, (e: unknown) => e as Error & { code?: number });
    expect(String(send?.message)).toMatch(/AccessKey grpcReader has no PUB permission on topic GrpcAclTopic \(it has SUB\)/);
    expect(send?.code).toBe(40300);
  }, 60_000);

  it('fails the startup of a consumer whose group the account may not use, with the reason', async () => {
    // The route query passes (SUB on the topic); the Telemetry settings name a group it may not use.
    const denied = new v5.SimpleConsumer({ endpoints: endpoint, namespace: '', sslEnabled: true, sessionCredentials: NO_GROUP, consumerGroup: 'grpc-acl-group', subscriptions: new Map([[TOPIC, '*']]), logger });
    clients.push(denied);
    const err = await denied.startup().then(() => undefined, (e: unknown) => e as Error);
    expect(String(err?.message)).toMatch(/response-code=40300\] AccessKey grpcNoGroup has no SUB permission on group grpc-acl-group \(it has DENY\)/);
  }, 60_000);
});
