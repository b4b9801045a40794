// broker.conf storePathConsumeQueue, storePathindex, storeCheckpoint and abortFile put the derived
// store files where the operator says (another disk), with storePathRootDir as the default base.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { parseBrokerConfig, storePathsOf } from '../src/broker/broker-config.js';
import { Producer } from '../src/client/index.js';
import { silent, startBroker, startTestGroup, waitForReadyLeader } from './broker-helpers.js';

const PEERS = 'dLegerPeers=n0-127.0.0.1:40911\ndLegerSelfId=n0\nstorePathRootDir=/data/rmq\n';
const other = mkdtempSync(join(tmpdir(), 'store-paths-other-disk-'));

afterAll(() => rmSync(other, { recursive: true, force: true }));

describe('broker.conf store paths', () => {
  it('reads the four keys without a warning, takes relative paths from storePathRootDir, and still warns about brokerId and brokerRole', () => {
    const { config, warnings } = parseBrokerConfig(`${PEERS}storePathConsumeQueue=/disk2/cq\nstorePathindex=idx\nstoreCheckpoint=/disk2/checkpoint\nabortFile=/disk2/abort\nbrokerId=0\nbrokerRole=SYNC_MASTER\n`);
    expect(storePathsOf(config)).toEqual({ consumeQueueDir: '/disk2/cq', indexDir: '/data/rmq/idx', checkpointFile: '/disk2/checkpoint', abortFile: '/disk2/abort' });
    expect(warnings.filter((w) => w.includes('unknown key'))).toEqual([]);
    expect(warnings.some((w) => w.includes('brokerId is ignored'))).toBe(true);
    expect(warnings.some((w) => w.includes('brokerRole is ignored'))).toBe(true);
    expect(storePathsOf(parseBrokerConfig(PEERS).config)).toEqual({});
    expect(parseBrokerConfig(`${PEERS}storePathIndex=/disk3/index\n`).config.storePathIndex).toBe('/disk3/index');
  });

  it('keeps ConsumeQueues, IndexFiles, the checkpoint and the abort file where they are told, and recovers from that checkpoint after a restart', async () => {
    const conf = {
      storePathConsumeQueue: join(other, 'cq'),
      storePathindex: join(other, 'index'),
      storeCheckpoint: join(other, 'meta', 'checkpoint'),
      abortFile: join(other, 'meta', 'abort'),
    };
    const g = await startTestGroup(await findFreeBlock(20), 1, conf);
    try {
      await waitForReadyLeader(g);
      const producer = new Producer({ namesrvAddr: g.namesrvAddr, producerGroup: 'PATHS_PG', logger: silent });
      await producer.start();
      try {
        for (let i = 0; i < 20; i++) expect((await producer.send({ topic: 'PathsTopic', body: `m-${i}`, keys: `k-${i}` })).status).toBe('SEND_OK');
      } finally {
        await producer.shutdown();
      }
      const root = join(g.dir, 'n0', 'store');
      expect(readdirSync(conf.storePathConsumeQueue)).toContain('PathsTopic');
      expect(readdirSync(conf.storePathindex).length).toBeGreaterThan(0);
      expect(existsSync(conf.abortFile)).toBe(true);
      for (const name of ['consumequeue', 'index', 'checkpoint', 'abort']) expect(existsSync(join(root, name))).toBe(false);

      const config = g.brokers[0]!.config;
      await g.brokers[0]!.close();
      expect(existsSync(conf.abortFile)).toBe(false);
      expect(existsSync(conf.storeCheckpoint)).toBe(true);
      const again = await startBroker(config);
      g.brokers[0] = again;
      expect(again.raft.store.recovery.source).toBe('checkpoint');
      let total = 0;
      for (let q = 0; q < 8; q++) total += again.raft.store.getMaxOffsetInQueue('PathsTopic', q);
      expect(total).toBe(20);
    } finally {
      await g.close();
    }
  }, 60_000);
});
