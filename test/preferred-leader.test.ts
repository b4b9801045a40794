// dLegerPreferredLeaderId on real processes: the group hands leadership to the preferred node,
// and back to it after it was SIGKILLed and restarted, once it has caught up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { BrokerConfigError, parseBrokerConfig } from '../src/broker/broker-config.js';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { Producer } from '../src/client/index.js';
import { ensureBuilt } from './cli-helpers.js';
import { silent } from './broker-helpers.js';
import { until } from './helpers/poll.js';

let dir: string;
let cluster: LocalCluster;

/** How long it took until the group's ready leader is `id`; throws after `timeoutMs`. */
async function leaderBecomes(id: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  await until(`${id} to become the leader`, timeoutMs, async () => (await cluster.waitForLeader(timeoutMs).catch(() => undefined))?.id === id, 100);
  return Date.now() - start;
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'preferred-leader-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), logLevel: 'warn', extraConf: { dLegerPreferredLeaderId: 'n2' } });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dLegerPreferredLeaderId', () => {
  it('must name a node of dLegerPeers', () => {
    expect(() => parseBrokerConfig('dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912\ndLegerSelfId=n0\ndLegerPreferredLeaderId=n7\n')).toThrow(BrokerConfigError);
    expect(() => parseBrokerConfig('dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912\ndLegerSelfId=n0\ndLegerPreferredLeaderId=n7\n')).toThrow(/dLegerPreferredLeaderId=n7 is not one of the ids/);
  });

  it('gives leadership to the preferred node, and back to it after a SIGKILL and restart once it has caught up', async () => {
    const first = await leaderBecomes('n2', 30_000);
    await cluster.killNode('n2', 'SIGKILL');
    const interim = await cluster.waitForLeader(20_000);
    expect(interim.id).not.toBe('n2');
    // Writes while the preferred node is down: it must catch up before it gets leadership back.
    const producer = new Producer({ namesrvAddr: cluster.namesrvAddr, producerGroup: 'PREF_PG', logger: silent });
    await producer.start();
    try {
      for (let i = 0; i < 50; i++) expect((await producer.send({ topic: 'PrefTopic', body: `m-${i}` })).status).toBe('SEND_OK');
    } finally {
      await producer.shutdown();
    }
    await cluster.restartNode('n2');
    const back = await leaderBecomes('n2', 30_000);
    const s = await cluster.status('n2');
    expect(s?.['role']).toBe('LEADER');
    console.log(`preferred leader: n2 led ${first} ms after start; after its restart it led again ${back} ms later`);
  }, 120_000);
});
