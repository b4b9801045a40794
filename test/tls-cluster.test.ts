// `rmq cluster up --tls --front-doors`: a fully TLS cluster of processes in one command (a test CA
// made with openssl). The NameServer serves TLS only and the brokers register over TLS; rmq
// reaches it with --tls-ca; a plain-TCP client is refused cleanly and the NameServer keeps
// serving. Then hostile bytes on EVERY port the processes opened (NameServer, its metrics, client
// ports, Raft, front doors, metrics, gRPC): random bytes, TLS ClientHello records full of garbage
// and handshakes left half done; afterwards every port still answers a real request.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRequest, RemotingClient, RequestCode, ResponseCode } from '../src/protocol/index.js';
import { Abuser, DEFAULT_ABUSE_BOUNDS } from '../jepsen-like/net/abuse.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';
import { ensureBuilt, isAlive, killLiveRuns, killPids, rmq } from './cli-helpers.js';

interface ClusterJson {
  namesrv: { pid: number; addr: string; metricsAddr?: string };
  tlsCaPath?: string;
  groups: { brokerName: string; nodes: { id: string; pid: number; brokerAddr: string; raftAddr: string; grpcAddr?: string; metricsAddr?: string; confPath: string }[] }[];
}

const dir = mkdtempSync(join(tmpdir(), 'rmq-tls-cluster-'));
const clusterDir = join(dir, 'cluster');
let cluster: ClusterJson | undefined;
let ns = '';
let caArgs: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  const r = await rmq(['cluster', 'up', '--dir', clusterDir, '--tls', '--front-doors', '--json', '--timeout', '60'], 90_000);
  expect(r.status, r.stderr).toBe(0);
  cluster = JSON.parse(r.stdout) as ClusterJson;
  ns = cluster.namesrv.addr;
  caArgs = ['--tls-ca', cluster.tlsCaPath!];
}, 120_000);

afterAll(async () => {
  killLiveRuns();
  if (cluster !== undefined) {
    await rmq(['cluster', 'down', '--dir', clusterDir], 60_000);
    killPids([cluster.namesrv.pid, ...cluster.groups.flatMap((g) => g.nodes.map((n) => n.pid))]);
  }
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

const nodes = () => cluster!.groups[0]!.nodes;
const ca = () => readFileSync(cluster!.tlsCaPath!);

/** Every front-door address of the cluster, from the nodes' broker.conf (frontDoorPorts). */
function doorAddrs(): string[] {
  return nodes().flatMap((n) => {
    const line = /^frontDoorPorts=(.*)$/m.exec(readFileSync(n.confPath, 'utf8'))?.[1] ?? '';
    return line.split(';').filter((x) => x !== '').map((x) => `127.0.0.1:${x.split(':')[1]}`);
  });
}

/**
 * Whether a gRPC endpoint answers a call (any grpc-status; this one names no real method): over
 * plain HTTP/2, else over TLS with the cluster's CA.
 */
async function grpcAnswers(addr: string): Promise<boolean> {
  const once = (url: string, options: http2.SecureClientSessionOptions): Promise<boolean> => new Promise((resolve) => {
    const session = http2.connect(url, options);
    const timer = setTimeout(() => done(false), 3000);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      session.destroy();
      resolve(ok);
    };
    session.on('error', () => done(false));
    const req = session.request({ ':method': 'POST', ':path': '/rmq.test.Nothing/Call', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('response', (headers) => done(headers['grpc-status'] !== undefined || headers[':status'] === 200));
    req.on('error', () => done(false));
    req.end(Buffer.alloc(5));
  });
  return (await once(`http://${addr}`, {})) || once(`https://${addr}`, { ca: ca() });
}

describe('rmq cluster up --tls', () => {
  it('starts every broker with TLS on its client port, front doors, Raft and registrations, and rmq produces and consumes with --tls-ca', async () => {
    for (const n of nodes()) {
      const conf = readFileSync(n.confPath, 'utf8');
      for (const key of ['tlsEnable=true', 'raftTlsEnable=true', 'namesrvTlsEnable=true', 'frontDoorEnable=true']) expect(conf).toContain(key);
    }
    const created = await rmq(['admin', 'updateTopic', '-n', ns, '-t', 'TlsAll', '-w', '3', ...caArgs]);
    expect(created.status, created.stderr).toBe(0);
    const sent = await rmq(['produce', '-n', ns, '-t', 'TlsAll', '--count', '3', ...caArgs]);
    expect(sent.status, sent.stderr).toBe(0);
    const got = await rmq(['consume', '-n', ns, '-t', 'TlsAll', '-g', 'tls-all-group', '--count', '3', '--timeout', '30', '--json', ...caArgs]);
    expect(got.status, got.stderr).toBe(0);
    const plain = await rmq(['produce', '-n', ns, '-t', 'TlsAll', '--count', '1', '--retries', '0']);
    expect(plain.status).toBe(1);
  }, 120_000);

  it('refuses a plain-TCP client at the TLS NameServer cleanly, and keeps answering TLS clients with the brokers registered over TLS', async () => {
    const plain = new RemotingClient({ connectTimeoutMs: 2000 });
    const secure = new RemotingClient({ tls: { ca: ca() } });
    try {
      const outcome = await plain.invoke(ns, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 3000).then(() => 'answered', () => 'refused');
      expect(outcome).toBe('refused');
      expect(isAlive(cluster!.namesrv.pid)).toBe(true);
      const info = await secure.invoke(ns, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 5000);
      expect(info.code).toBe(ResponseCode.SUCCESS);
      const table = (JSON.parse(info.body!.toString()) as { brokerAddrTable: Record<string, unknown> }).brokerAddrTable;
      expect(Object.keys(table).sort()).toEqual(nodes().map((n) => `broker-a-${n.id}`).sort());
    } finally {
      await plain.close();
      await secure.close();
    }
  });

  it('leaves every port of every process serving after random bytes, TLS garbage and stalled handshakes on each of them', async () => {
    const c = cluster!;
    const metrics = [c.namesrv.metricsAddr, ...nodes().map((n) => n.metricsAddr)].filter((a): a is string => a !== undefined);
    const grpc = nodes().map((n) => n.grpcAddr).filter((a): a is string => a !== undefined);
    const doors = doorAddrs();
    expect(doors).toHaveLength(9);
    expect(metrics).toHaveLength(4);
    const abuser = new Abuser(
      { namesrvAddr: ns, nodes: nodes().map((n) => ({ id: n.id, brokerAddr: n.brokerAddr, raftAddr: n.raftAddr })), otherAddrs: [...doors, ...metrics, ...grpc], tls: { ca: ca() } },
      new SeededRandom(1313),
      { ...DEFAULT_ABUSE_BOUNDS, randomConnectionsPerPort: 2, tlsGarbagePerPort: 2, stalledHandshakesPerPort: 3, idleConnectionsPerBroker: 20, heldPullsPerConnection: 50, hugeNameBytes: 4096 },
    );
    try {
      await abuser.start();
    } finally {
      await abuser.close();
    }
    expect(abuser.report.answers['tls-garbage']).toBeDefined();
    for (const pid of [c.namesrv.pid, ...nodes().map((n) => n.pid)]) expect(isAlive(pid), `pid ${pid}`).toBe(true);

    // The NameServer, client ports and Raft: a produce goes through the leader's quorum.
    const sent = await rmq(['produce', '-n', ns, '-t', 'TlsAll', '--count', '3', ...caArgs]);
    expect(sent.status, sent.stderr).toBe(0);
    // Every client port and every front door answers RAFT_STATUS over TLS; the group agrees on one leader.
    const client = new RemotingClient({ tls: { ca: ca() } });
    try {
      const views: { term: number; leader: string }[] = [];
      for (const addr of [...nodes().map((n) => n.brokerAddr), ...doors]) {
        const r = await client.invoke(addr, makeRequest(1501), 5000);
        expect(r.code, addr).toBe(ResponseCode.SUCCESS);
        views.push(JSON.parse(r.body!.toString()) as { term: number; leader: string });
      }
      expect(new Set(views.map((v) => `${v.term}/${v.leader}`)).size).toBe(1);
    } finally {
      await client.close();
    }
    for (const addr of metrics) expect((await fetch(`http://${addr}/metrics`)).status, addr).toBe(200);
    for (const addr of grpc) expect(await grpcAnswers(addr), addr).toBe(true);
  }, 240_000);
});
