// Test helpers for the broker tests: an in-process NameServer and broker nodes (a 1-node Raft
// group commits alone), a remoting client, temp folders removed afterwards, and polling.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseBrokerConfig, type BrokerConfig } from '../src/broker/broker-config.js';
import { BrokerController, type BrokerControllerOptions } from '../src/broker/broker-controller.js';
import { brokerConfEntries, renderBrokerConf } from '../src/devkit/broker-conf.js';
import { NameServer, type NameServerOptions } from '../src/namesrv/namesrv.js';
import { makeRequest, RemotingClient, type ExtFields, type RemotingCommand } from '../src/protocol/index.js';
import { pollFor } from './helpers/poll.js';

export const silent = pino({ level: 'silent' });

export interface TestGroup {
  dir: string;
  namesrv: NameServer;
  namesrvAddr: string;
  brokers: BrokerController[];
  client: RemotingClient;
  close(): Promise<void>;
}

/**
 * Starts a NameServer on basePort and `size` broker nodes (clients basePort+1+i, Raft basePort+11+i).
 * `extraConf` is added to every node's broker.conf, or to node i's when it is a function of i.
 */
export async function startTestGroup(basePort: number, size = 1, extraConf: Record<string, string> | ((node: number) => Record<string, string>) = {}, options: BrokerControllerOptions = {}, namesrvOptions: NameServerOptions = {}): Promise<TestGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'broker-test-'));
  const namesrv = new NameServer({ logger: silent, ...namesrvOptions });
  try {
    await namesrv.start({ port: basePort, host: '127.0.0.1' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const peers = Array.from({ length: size }, (_, i) => `n${i}-127.0.0.1:${basePort + 11 + i}`).join(';');
  // Rendered by the kit's one broker.conf template, with the broker's defaults where it asks.
  const configs: BrokerConfig[] = Array.from({ length: size }, (_, i) => parseBrokerConfig(renderBrokerConf(brokerConfEntries({
    clusterName: 'DefaultCluster',
    brokerName: 'broker-t',
    namesrvAddr: `127.0.0.1:${basePort}`,
    listenPort: basePort + 1 + i,
    storePathRootDir: join(dir, `n${i}`),
    flushDiskType: 'ASYNC_FLUSH',
    autoCreateTopicEnable: true,
    segmentSizeBytes: 8 * 1024 * 1024,
    peers,
    selfId: `n${i}`,
    extra: typeof extraConf === 'function' ? extraConf(i) : extraConf,
  }))).config);
  const brokers: BrokerController[] = [];
  const client = new RemotingClient({ logger: silent });
  const group: TestGroup = {
    dir, namesrv, namesrvAddr: `127.0.0.1:${basePort}`, brokers, client,
    async close() {
      await client.close();
      for (const b of brokers) await b.close({ transferLeadership: false }).catch(() => undefined);
      await namesrv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // Started together so every node binds its ports before any connects to a peer (an outgoing
    // connection takes an ephemeral port, and the assigned ports lie in the ephemeral range).
    brokers.push(...await Promise.all(configs.map((c) => startBroker(c, options))));
  } catch (err) {
    await group.close();
    throw err;
  }
  return group;
}

/** Starts a node, retrying a few times when a port is briefly taken by someone's outgoing connection. */
export async function startBroker(config: BrokerConfig, options: BrokerControllerOptions = {}): Promise<BrokerController> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await BrokerController.start(config, { logger: silent, tickMs: 10, electionTicks: 20, ...options });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
      await sleep(300);
    }
  }
}

export { until } from './helpers/poll.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


export async function waitForReadyLeader(g: TestGroup, timeoutMs = 10_000): Promise<BrokerController> {
  return pollFor('a ready leader', timeoutMs, () => g.brokers.find((b) => b.raft.isLeader()));
}

export function request(g: TestGroup, addr: string, code: number, ext: Record<string, string | number | boolean> = {}, body?: Buffer, timeoutMs = 5000): Promise<RemotingCommand> {
  const extFields: ExtFields = {};
  for (const [k, v] of Object.entries(ext)) extFields[k] = String(v);
  return g.client.invoke(addr, makeRequest(code, extFields, { body }), timeoutMs);
}

/** SEND_MESSAGE_V2 extFields as ali-ons sends them. */
export function sendV2(topic: string, queueId: number, properties: string, extra: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  return { a: 'PG', b: topic, c: 'TBW102', d: 4, e: queueId, f: 0, g: Date.now(), h: 0, i: properties, j: 0, k: false, ...extra };
}

export function props(map: Record<string, string>): string {
  return Object.entries(map).map(([k, v]) => `${k}\x01${v}\x02`).join('');
}
