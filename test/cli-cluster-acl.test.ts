// `rmq cluster up --acl <plain_acl.yml>`: a secured local cluster in one command. Every broker
// runs with aclEnable=true and the rules, each group has its Raft peer secret, the NameServer has
// the registration key the brokers sign with (a forged registration is refused), clients need
// keys (rmq's --access-key/--secret-key), and the admin ACL commands change the rules at run time.
// An impostor process on the Raft ports changes nothing, and the abuse nemesis (random bytes to
// every port, squatters, held connections) leaves every process serving.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclRequestCode, makeRequest, RemotingClient, RequestCode, ResponseCode } from '../src/protocol/index.js';
import { Abuser, DEFAULT_ABUSE_BOUNDS } from '../jepsen-like/net/abuse.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';
import { distPath, ensureBuilt, isAlive, killLiveRuns, killPids, rmq, run } from './cli-helpers.js';

interface ClusterJson {
  namesrv: { pid: number; addr: string; metricsAddr?: string };
  groups: { brokerName: string; nodes: { id: string; pid: number; brokerAddr: string; raftAddr: string; grpcAddr?: string; metricsAddr?: string; confPath: string }[] }[];
}

const RULES = `
accounts:
  - accessKey: opsKey
    secretKey: opsSecret-0123
    admin: true
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: SUB
  - accessKey: appKey
    secretKey: appSecret-0123
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - CliAcl=PUB|SUB
`;
const ADMIN = ['--access-key', 'opsKey', '--secret-key', 'opsSecret-0123'];
const APP = ['--access-key', 'appKey', '--secret-key', 'appSecret-0123'];

const dir = mkdtempSync(join(tmpdir(), 'rmq-cli-acl-'));
const clusterDir = join(dir, 'cluster');
let cluster: ClusterJson | undefined;
let ns = '';

beforeAll(async () => {
  ensureBuilt();
  writeFileSync(join(dir, 'rules.yml'), RULES);
  const r = await rmq(['cluster', 'up', '--dir', clusterDir, '--acl', join(dir, 'rules.yml'), '--json', '--timeout', '60'], 90_000);
  expect(r.status, r.stderr).toBe(0);
  cluster = JSON.parse(r.stdout) as ClusterJson;
  ns = cluster.namesrv.addr;
}, 120_000);

afterAll(async () => {
  killLiveRuns();
  if (cluster !== undefined) {
    await rmq(['cluster', 'down', '--dir', clusterDir], 60_000);
    killPids([cluster.namesrv.pid, ...cluster.groups.flatMap((g) => g.nodes.map((n) => n.pid))]);
  }
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

/**
 * An impostor process (ES module; CODEC is replaced by the compiled codec's path): connects to
 * argv[2] claiming to be argv[3], says the bare hello and sends a Heartbeat and a Vote request
 * with a huge term to argv[4], then prints whether the node closed the connection.
 */
const IMPOSTOR = `
import net from 'node:net';
import { encodeHello, encodeMessage } from CODEC;
const [host, port] = process.argv[2].split(':');
const [claimed, target] = [process.argv[3], process.argv[4]];
const huge = 2 ** 40;
const m = (type, extra) => ({ type, from: claimed, to: target, term: huge, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [], ...extra });
const s = net.connect({ host, port: Number(port) }, () => s.write(Buffer.concat([
  encodeHello({ version: 1, from: claimed, to: target }), encodeMessage(m(7, {})), encodeMessage(m(3, { index: 1e6, logTerm: huge - 1 })),
])));
s.on('error', () => {});
s.on('close', () => { console.log('closed'); process.exit(0); });
setTimeout(() => { console.log('still open'); process.exit(0); }, 5000);
`;

describe('rmq cluster up --acl', () => {
  it('keeps an impostor process off the Raft ports: no node changes term, the leader stays, refusals are counted', async () => {
    const nodes = cluster!.groups[0]!.nodes;
    const client = new RemotingClient({ credentials: { accessKey: 'opsKey', secretKey: 'opsSecret-0123' } });
    const status = async (addr: string) => JSON.parse((await client.invoke(addr, makeRequest(1501), 5000)).body!.toString()) as { nodeId: string; role: string; term: number; raftAuthFailures: number; peerAuthentication: boolean };
    try {
      // Right after start a follower may not have heard the leader's term yet: wait until all agree.
      let before = await Promise.all(nodes.map((n) => status(n.brokerAddr)));
      for (let round = 0; round < 100 && !(before.some((x) => x.role === 'LEADER') && new Set(before.map((x) => x.term)).size === 1); round++) {
        await new Promise((r) => setTimeout(r, 100));
        before = await Promise.all(nodes.map((n) => status(n.brokerAddr)));
      }
      expect(new Set(before.map((x) => x.term)).size).toBe(1);
      expect(before.every((x) => x.peerAuthentication)).toBe(true);
      const leader = before.find((x) => x.role === 'LEADER')!;
      const script = join(dir, 'impostor.mjs');
      writeFileSync(script, IMPOSTOR.replace('CODEC', JSON.stringify(distPath('raft', 'transport', 'frame-codec.js'))));
      for (const target of nodes) {
        const claimed = nodes.find((n) => n.id !== target.id)!.id;
        const r = await run(script, [target.raftAddr, claimed, target.id], 15_000);
        expect(r.stdout.trim(), r.stderr).toBe('closed');
      }
      const after = await Promise.all(nodes.map((n) => status(n.brokerAddr)));
      expect(after.map((x) => x.term)).toEqual(before.map((x) => x.term));
      expect(after.find((x) => x.role === 'LEADER')?.nodeId).toBe(leader.nodeId);
      for (const [i, x] of after.entries()) expect(x.raftAuthFailures, nodes[i]!.id).toBeGreaterThan(before[i]!.raftAuthFailures);
    } finally {
      await client.close();
    }
  });

  it('starts every broker with ACL, a peer secret and the registration key, and the NameServer refuses a forged registration', async () => {
    for (const n of cluster!.groups[0]!.nodes) {
      const conf = readFileSync(n.confPath, 'utf8');
      expect(conf).toContain('aclEnable=true');
      expect(conf).toContain(`aclFile=${join(clusterDir, 'plain_acl.yml')}`);
      expect(conf).toMatch(/^namesrvRegistrationKey=[0-9a-f]{64}$/m);
      expect(conf).toContain('dLegerPeerSecretFile=');
    }
    expect(statSync(join(clusterDir, 'namesrv.registration-key')).mode & 0o077).toBe(0);
    for (const n of cluster!.groups[0]!.nodes) expect(statSync(n.confPath).mode & 0o077).toBe(0);
    const client = new RemotingClient();
    try {
      const forged = makeRequest(RequestCode.REGISTER_BROKER, { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerAddr: '10.9.9.9:1', haServerAddr: '', brokerId: '0', raftTerm: String(2 ** 40) });
      const r = await client.invoke(ns, forged, 5000);
      expect(r.code).toBe(ResponseCode.NO_PERMISSION);
    } finally {
      await client.close();
    }
  });

  it('lets clients with the right keys through, refuses the rest, and changes the rules with the admin ACL commands', async () => {
    const created = await rmq(['admin', 'updateTopic', '-n', ns, '-t', 'CliAcl', '-w', '2', ...ADMIN]);
    expect(created.status, created.stderr).toBe(0);
    const anonymous = await rmq(['produce', '-n', ns, '-t', 'CliAcl', '--count', '1', '--retries', '0']);
    expect(anonymous.status).toBe(1);
    const sent = await rmq(['produce', '-n', ns, '-t', 'CliAcl', '--count', '3', '--json', ...APP]);
    expect(sent.status, sent.stderr).toBe(0);
    const got = await rmq(['consume', '-n', ns, '-t', 'CliAcl', '-g', 'cli-acl-group', '--count', '3', '--timeout', '30', '--json', ...APP]);
    expect(got.status, got.stderr).toBe(0);

    const notAdmin = await rmq(['admin', 'updateAclConfig', '-n', ns, '-a', 'x', '-s', 'x-secret', ...APP]);
    expect(notAdmin.status).toBe(1);
    expect(notAdmin.stderr).toMatch(/not an admin account/);
    const update = await rmq(['admin', 'updateAclConfig', '-n', ns, '-a', 'lateKey', '-s', 'lateSecret-0123', '--topic-perms', 'CliAcl=PUB', ...ADMIN]);
    expect(update.status, update.stderr).toBe(0);
    const shown = await rmq(['admin', 'getAclConfig', '-n', ns, '--json', ...ADMIN]);
    expect(shown.status, shown.stderr).toBe(0);
    const groups = (JSON.parse(shown.stdout) as { groups: { accounts: { accessKey: string; source: string; topicPerms: string[] }[] }[] }).groups;
    expect(groups[0]!.accounts.find((a) => a.accessKey === 'lateKey')).toMatchObject({ source: 'replicated', topicPerms: ['CliAcl=PUB'] });
    expect(shown.stdout).not.toMatch(/lateSecret|opsSecret|appSecret/);
    const late = await rmq(['produce', '-n', ns, '-t', 'CliAcl', '--count', '1', '--access-key', 'lateKey', '--secret-key', 'lateSecret-0123']);
    expect(late.status, late.stderr).toBe(0);
    const deleted = await rmq(['admin', 'deleteAclConfig', '-n', ns, '-a', 'lateKey', ...ADMIN]);
    expect(deleted.status, deleted.stderr).toBe(0);
    const lateAgain = await rmq(['produce', '-n', ns, '-t', 'CliAcl', '--count', '1', '--retries', '0', '--access-key', 'lateKey', '--secret-key', 'lateSecret-0123']);
    expect(lateAgain.status).toBe(1);
  }, 120_000);

  it('refuses RocketMQ\'s UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53): 16 for a non-admin, and for an admin a remark saying what to do instead', async () => {
    const leader = cluster!.groups[0]!.nodes.map((n) => n.brokerAddr);
    const req = () => makeRequest(AclRequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, { globalWhiteAddrs: '10.0.0.*' });
    const app = new RemotingClient({ credentials: { accessKey: 'appKey', secretKey: 'appSecret-0123' } });
    const ops = new RemotingClient({ credentials: { accessKey: 'opsKey', secretKey: 'opsSecret-0123' } });
    try {
      expect((await app.invoke(leader[0]!, req(), 5000)).code).toBe(ResponseCode.NO_PERMISSION);
      const r = await ops.invoke(leader[0]!, req(), 5000);
      expect(r.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
      expect(r.remark).toMatch(/plain_acl\.yml.*whiteRemoteAddress/);
    } finally {
      await app.close();
      await ops.close();
    }
  });

  it('leaves every process serving after the abuse nemesis hits every port (metrics and gRPC too) with ACL, peer secrets and the registration key on', async () => {
    const c = cluster!;
    const others = [c.namesrv.metricsAddr, ...c.groups[0]!.nodes.flatMap((n) => [n.metricsAddr, n.grpcAddr])].filter((a): a is string => a !== undefined);
    expect(others.length).toBeGreaterThanOrEqual(4);
    const abuser = new Abuser(
      { namesrvAddr: ns, nodes: c.groups[0]!.nodes.map((n) => ({ id: n.id, brokerAddr: n.brokerAddr, raftAddr: n.raftAddr })), otherAddrs: others },
      new SeededRandom(13),
      { ...DEFAULT_ABUSE_BOUNDS, randomConnectionsPerPort: 4, tlsGarbagePerPort: 2, stalledHandshakesPerPort: 3, idleConnectionsPerBroker: 20, heldPullsPerConnection: 50, hugeNameBytes: 4096 },
    );
    try {
      await abuser.start();
    } finally {
      await abuser.close();
    }
    for (const pid of [c.namesrv.pid, ...c.groups[0]!.nodes.map((n) => n.pid)]) expect(isAlive(pid), `pid ${pid}`).toBe(true);
    const sent = await rmq(['produce', '-n', ns, '-t', 'CliAcl', '--count', '3', ...APP]);
    expect(sent.status, sent.stderr).toBe(0);
    const listed = await rmq(['admin', 'clusterList', '-n', ns, '--json', ...ADMIN]);
    expect(listed.status, listed.stderr).toBe(0);
    const groups = (JSON.parse(listed.stdout) as { groups: { nodes: { role: string }[] }[] }).groups;
    expect(groups[0]!.nodes.map((n) => n.role).sort()).toEqual(['FOLLOWER', 'FOLLOWER', 'LEADER']);
    for (const addr of [c.namesrv.metricsAddr, ...c.groups[0]!.nodes.map((n) => n.metricsAddr)].filter((a): a is string => a !== undefined)) {
      expect((await fetch(`http://${addr}/metrics`)).status, addr).toBe(200);
    }
  }, 180_000);

  it('restarts the secured cluster one node at a time: the kit signs its status and hand-over requests with the admin account', async () => {
    const r = await rmq(['cluster', 'restart', '--dir', clusterDir, '--rolling', '--json', '--timeout', '60'], 240_000);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: { nodeId: string; wasLeader: boolean; pid: number }[] };
    // Followers first; the node leading at its turn hands over (leadership may also have moved to
    // a restarted node meanwhile, on a loaded machine, and then nobody needs to).
    expect(out.steps.map((s) => s.nodeId).sort()).toEqual(['n0', 'n1', 'n2']);
    expect(out.steps.slice(0, -1).map((s) => s.wasLeader)).toEqual([false, false]);
    // cluster down (afterAll) stops the restarted processes; their pids are killed too if it cannot.
    cluster!.groups[0]!.nodes.forEach((n) => { n.pid = out.steps.find((s) => s.nodeId === n.id)!.pid; });
    const sent = await rmq(['produce', '-n', ns, '-t', 'CliAcl', '--count', '3', ...APP]);
    expect(sent.status, sent.stderr).toBe(0);
  }, 300_000);
});
