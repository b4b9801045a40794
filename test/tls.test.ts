// Optional TLS with a test CA made by openssl in a temp folder (the commands docs/security.md
// gives): Raft peers with mutual TLS elect and commit while a plain-TCP impostor and a client
// with a certificate from another CA are refused; a broker group and its NameServer serving TLS
// answer our SDK and `rmq produce --tls-ca`, and a plain-TCP client gets nothing from either;
// brokers serving TLS behind a plain NameServer serve an SDK told `namesrvTls: false`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RaftNode } from '../raft/node/raft-node.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { encodeHello, PROTOCOL_VERSION } from '../raft/transport/frame-codec.js';
import type { PeerAddress } from '../raft/transport/tcp-transport.js';
import { Admin, Producer } from '../src/client/index.js';
import { writeClusterTls } from '../src/devkit/cluster-tls.js';
import { makeRequest, RemotingClient, RequestCode } from '../src/protocol/index.js';
import { startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';
import { ensureBuilt, rmq } from './cli-helpers.js';
import { leaderOf, until } from './helpers/poll.js';

const dir = mkdtempSync(join(tmpdir(), 'rmq-tls-'));
const logger = pino({ level: 'silent' });
const running: RaftNode[] = [];
const sockets: Socket[] = [];
let g: TestGroup | undefined;

/** A CA and a certificate for 127.0.0.1 signed by it, with openssl (the one maker, cluster-tls.ts). */
function makeCa(name: string): { ca: string; cert: string; key: string } {
  const f = writeClusterTls(join(dir, name));
  return { ca: f.caPath, cert: f.certPath, key: f.keyPath };
}

let good: ReturnType<typeof makeCa>;
let rogue: ReturnType<typeof makeCa>;
beforeAll(() => {
  good = makeCa('good');
  rogue = makeCa('rogue');
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((n) => n.close().catch(() => {})));
  await g?.close();
  g = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


describe('TLS', () => {
  it('lets raft peers with mutual TLS elect and commit, and refuses plain TCP and certificates of another CA', async () => {
    const base = await findFreeBlock(3);
    const peers: PeerAddress[] = [0, 1, 2].map((i) => ({ id: `n${i}`, host: '127.0.0.1', port: base + i }));
    const tls = { cert: readFileSync(good.cert), key: readFileSync(good.key), ca: readFileSync(good.ca) };
    const nodes = await Promise.all(peers.map(async (p) => {
      const node = new RaftNode({
        id: p.id, peers, logger, tickMs: 10, electionTicks: 10, heartbeatTicks: 2, tls,
        storage: MmapLogStorage.open(join(dir, `raft-${p.id}`), { segmentBytes: 4 * 1024 * 1024, indexSegmentEntries: 64 * 1024 }),
        onApply: () => undefined,
      });
      running.push(node);
      await node.start();
      return node;
    }));
    const leader = await leaderOf(nodes, 8000);
    const r = await leader.propose(Buffer.from('over TLS'));
    await until('commit on all three', 5000, () => nodes.every((n) => n.applied >= r.index));

    const rejectedBefore = leader.status().transport.rejectedConnections;
    const port = peers.find((p) => p.id === leader.id)!.port;
    const plain = connectTcp({ host: '127.0.0.1', port });
    sockets.push(plain);
    plain.on('error', () => {});
    const plainClosed = new Promise<void>((resolve) => plain.on('close', () => resolve()));
    plain.on('connect', () => plain.write(encodeHello({ version: PROTOCOL_VERSION, from: 'n1', to: leader.id })));
    const stranger = connectTls({ host: '127.0.0.1', port, cert: readFileSync(rogue.cert), key: readFileSync(rogue.key), ca: readFileSync(good.ca) });
    sockets.push(stranger);
    stranger.on('error', () => {});
    const strangerClosed = new Promise<void>((resolve) => stranger.on('close', () => resolve()));
    await Promise.all([plainClosed, strangerClosed]);
    await until('both refusals counted', 5000, () => leader.status().transport.rejectedConnections >= rejectedBefore + 2);
    expect(leader.status().role).toBe('leader');
  });

  it('serves a broker group and its NameServer over TLS to the SDK and rmq, and gives a plain-TCP client nothing from either', async () => {
    ensureBuilt();
    g = await startTestGroup(await findFreeBlock(20), 3, { tlsEnable: 'true', raftTlsEnable: 'true', namesrvTlsEnable: 'true', tlsCertPath: good.cert, tlsKeyPath: good.key, tlsCaPath: good.ca }, {}, { tls: { cert: readFileSync(good.cert), key: readFileSync(good.key) } });
    const group = g;
    await waitForReadyLeader(group);
    const tls = { ca: readFileSync(good.ca) };
    const admin = new Admin({ namesrvAddr: group.namesrvAddr, tls });
    await admin.start();
    const producer = new Producer({ namesrvAddr: group.namesrvAddr, producerGroup: 'TlsProducers', tls });
    await producer.start();
    try {
      await admin.createTopic('TlsTopic', { writeQueueNums: 1 });
      expect((await producer.send({ topic: 'TlsTopic', body: 'over TLS' })).status).toBe('SEND_OK');
      const sent = await rmq(['produce', '-n', group.namesrvAddr, '-t', 'TlsTopic', '--count', '2', '--tls-ca', good.ca]);
      expect(sent.status, sent.stderr).toBe(0);
      expect((await admin.topicStatus('TlsTopic'))[0]!.maxOffset).toBe(3);
    } finally {
      await producer.shutdown();
      await admin.shutdown();
    }
    const plain = new RemotingClient({ connectTimeoutMs: 2000 });
    try {
      const outcome = await plain.invoke(group.brokers[0]!.brokerAddr, makeRequest(RequestCode.GET_MAX_OFFSET, { topic: 'TlsTopic', queueId: '0' }), 2000).then(() => 'answered', () => 'refused');
      expect(outcome).toBe('refused');
      const atNamesrv = await plain.invoke(group.namesrvAddr, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 2000).then(() => 'answered', () => 'refused');
      expect(atNamesrv).toBe('refused');
    } finally {
      await plain.close();
    }
    // The NameServer still serves after the refusal.
    const again = new Admin({ namesrvAddr: group.namesrvAddr, tls });
    await again.start();
    try {
      expect(Object.keys((await again.clusterInfo()).brokerAddrTable)).toEqual(['broker-t']);
    } finally {
      await again.shutdown();
    }
  }, 90_000);

  it('serves an SDK told namesrvTls: false when only the brokers serve TLS', async () => {
    g = await startTestGroup(await findFreeBlock(20), 1, { tlsEnable: 'true', tlsCertPath: good.cert, tlsKeyPath: good.key, tlsCaPath: good.ca });
    const group = g;
    await waitForReadyLeader(group);
    const options = { namesrvAddr: group.namesrvAddr, tls: { ca: readFileSync(good.ca) }, namesrvTls: false };
    const admin = new Admin(options);
    await admin.start();
    const producer = new Producer({ ...options, producerGroup: 'MixedTlsProducers' });
    await producer.start();
    try {
      await admin.createTopic('MixedTls', { writeQueueNums: 1 });
      expect((await producer.send({ topic: 'MixedTls', body: 'plain routes, TLS data' })).status).toBe('SEND_OK');
    } finally {
      await producer.shutdown();
      await admin.shutdown();
    }
  }, 60_000);
});
