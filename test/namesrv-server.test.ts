// The NameServer over TCP (ports: a random free block): registration with the raftTerm extension, route and
// cluster queries, expiry with an injected clock, and a real ali-ons Producer (a devDependency)
// that gets a route from us and sends to a stand-in broker built on our RemotingServer.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NameServer } from '../src/namesrv/namesrv.js';
import type { RouteQueryEvent } from '../src/namesrv/namesrv-processors.js';
import { RemotingClient } from '../src/protocol/remoting-client.js';
import { makeRequest, makeResponse, type ExtFields } from '../src/protocol/remoting-command.js';
import { RemotingServer } from '../src/protocol/remoting-server.js';
import { parseSendMessageHeader, type SendMessageRequestHeader } from '../src/protocol/send-message-header.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { ResponseCode } from '../src/protocol/response-code.js';
import { encodeJsonBody, type ClusterInfo, type TopicRouteData } from '../src/protocol/route-data.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { namesrvScript } from '../src/devkit/processes.js';

/** This file's ports: a block the kit's port finder found free. */
const PORTS = await findFreeBlock(100);

const HOST = '127.0.0.1';
const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
let nextPort = PORTS;

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startNamesrv(nowMs?: () => number): Promise<{ namesrv: NameServer; addr: string; client: RemotingClient }> {
  const namesrv = new NameServer({ logger: silent, ...(nowMs ? { nowMs } : {}) });
  const port = nextPort++;
  await namesrv.start({ port, host: HOST });
  cleanups.push(() => namesrv.close());
  const client = new RemotingClient({ logger: silent });
  cleanups.push(() => client.close());
  return { namesrv, addr: `${HOST}:${port}`, client };
}

function registerRequest(header: ExtFields, body?: unknown): ReturnType<typeof makeRequest> {
  return makeRequest(RequestCode.REGISTER_BROKER, { clusterName: 'DefaultCluster', brokerName: 'broker-a', haServerAddr: '', ...header }, {
    body: body === undefined ? undefined : encodeJsonBody(body),
  });
}

const topicTable = { topicConfigTable: { TopicA: { topicName: 'TopicA', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 } } };

describe('NameServer', () => {
  it('registers a broker group and answers its topic route as standard JSON with quoted ids', async () => {
    const { addr, client } = await startNamesrv();
    const r1 = await client.invoke(addr, registerRequest({ brokerAddr: '127.0.0.1:10911', brokerId: '0', raftTerm: '3' }, topicTable), 2000);
    expect(r1.code).toBe(ResponseCode.SUCCESS);
    expect(r1.extFields).toMatchObject({ accepted: 'true', masterAddr: '127.0.0.1:10911', masterRaftTerm: '3' });
    await client.invoke(addr, registerRequest({ brokerAddr: '127.0.0.1:10921', brokerId: '1', raftTerm: '3' }, topicTable), 2000);
    const resp = await client.invoke(addr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' }), 2000);
    expect(resp.code).toBe(ResponseCode.SUCCESS);
    const text = resp.body!.toString();
    expect(text).toContain('"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"}');
    const route = JSON.parse(text) as TopicRouteData;
    expect(route.queueDatas).toEqual([{ brokerName: 'broker-a', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }]);
  });

  it('answers a lower-term claim of brokerId 0 with accepted=false and keeps the master', async () => {
    const { addr, client } = await startNamesrv();
    await client.invoke(addr, registerRequest({ brokerAddr: '127.0.0.1:10921', brokerId: '0', raftTerm: '7' }, topicTable), 2000);
    const stale = await client.invoke(addr, registerRequest({ brokerAddr: '127.0.0.1:10911', brokerId: '0', raftTerm: '6' }, topicTable), 2000);
    expect(stale.code).toBe(ResponseCode.SUCCESS);
    expect(stale.extFields).toMatchObject({ accepted: 'false', masterAddr: '127.0.0.1:10921', masterRaftTerm: '7' });
    const info = await client.invoke(addr, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 2000);
    const cluster = JSON.parse(info.body!.toString()) as ClusterInfo;
    expect(cluster).toEqual({
      brokerAddrTable: { 'broker-a': { cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { '0': '127.0.0.1:10921' } } },
      clusterAddrTable: { DefaultCluster: ['broker-a'] },
    });
  });

  it('answers 17 TOPIC_NOT_EXIST with a remark for an unknown topic and 1 naming the rule for an invalid one', async () => {
    const { namesrv, addr, client } = await startNamesrv();
    const events: RouteQueryEvent[] = [];
    namesrv.onRouteQuery((e) => events.push(e));
    const unknown = await client.invoke(addr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'Nope' }), 2000);
    expect(unknown.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
    expect(unknown.remark).toMatch(/no route for topic Nope/);
    const invalid = await client.invoke(addr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'bad topic!' }), 2000);
    expect(invalid.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(invalid.remark).toMatch(/\[%\|a-zA-Z0-9_-\]/);
    const missing = await client.invoke(addr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, {}), 2000);
    expect([missing.code, missing.remark]).toEqual([ResponseCode.SYSTEM_ERROR, "header field 'topic' is missing"]);
    expect(events.map((e) => [e.topic, e.responseCode])).toEqual([['Nope', 17], ['bad topic!', 1]]);
  });

  it('rejects a register body with a bad topic table and names the field', async () => {
    const { addr, client } = await startNamesrv();
    const bad = { topicConfigTable: { T: { topicName: 'T', readQueueNums: -1, writeQueueNums: 4 } } };
    const resp = await client.invoke(addr, registerRequest({ brokerAddr: '127.0.0.1:10911', brokerId: '0' }, bad), 2000);
    expect(resp.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(resp.remark).toMatch(/T\.readQueueNums must be an integer/);
  });

  it('keeps a broker after its connection closes and removes it only after the expiry', async () => {
    let clockMs = 1_000_000;
    const { namesrv, addr, client } = await startNamesrv(() => clockMs);
    await client.invoke(addr, registerRequest({ brokerAddr: '127.0.0.1:10911', brokerId: '0', raftTerm: '1' }, topicTable), 2000);
    client.closeConnection(addr);
    await new Promise((r) => setTimeout(r, 50));
    expect(namesrv.routes.getRoute('TopicA')).toBeDefined();
    clockMs += 120_000;
    expect(namesrv.scanNotActiveBrokers()).toEqual([]);
    clockMs += 1;
    expect(namesrv.scanNotActiveBrokers()).toEqual(['127.0.0.1:10911']);
    const resp = await client.invoke(addr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' }), 2000);
    expect(resp.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });

  it('runs as a process that prints its address, answers, and exits on SIGTERM', async () => {
    const port = PORTS + 60;
    const child = spawn(process.execPath, [namesrvScript(), '--port', String(port)], {
      env: { ...process.env, RMQ_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(async () => void child.kill('SIGKILL'));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(`name server listening on ${HOST}:${port}`)) resolve();
      });
      child.once('exit', () => reject(new Error(`namesrv exited early: ${out}`)));
    });
    const client = new RemotingClient({ logger: silent });
    cleanups.push(() => client.close());
    const resp = await client.invoke(`${HOST}:${port}`, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 3000);
    expect(JSON.parse(resp.body!.toString())).toEqual({ brokerAddrTable: {}, clusterAddrTable: {} });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('forgets an unregistered broker', async () => {
    const { addr, client } = await startNamesrv();
    await client.invoke(addr, registerRequest({ brokerAddr: '127.0.0.1:10911', brokerId: '0' }, topicTable), 2000);
    const un = await client.invoke(addr, makeRequest(RequestCode.UNREGISTER_BROKER, { brokerName: 'broker-a', brokerAddr: '127.0.0.1:10911', clusterName: 'DefaultCluster', brokerId: '0' }), 2000);
    expect(un.code).toBe(ResponseCode.SUCCESS);
    const resp = await client.invoke(addr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' }), 2000);
    expect(resp.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });
});

const require = createRequire(import.meta.url);

describe('NameServer with the real ali-ons client', () => {
  it('routes an ali-ons Producer to an auto-create broker whose remoting server takes the send', async () => {
    const { namesrv, addr, client } = await startNamesrv();
    // A stand-in broker built on our RemotingServer: it answers heartbeats and records the send.
    const brokerPort = PORTS + 99;
    const brokerAddr = `${HOST}:${brokerPort}`;
    const sends: SendMessageRequestHeader[] = [];
    const broker = new RemotingServer({ logger: silent });
    broker.registerHandler(RequestCode.HEART_BEAT, (req) => makeResponse(req, 0));
    broker.registerHandler(RequestCode.UNREGISTER_CLIENT, (req) => makeResponse(req, 0));
    broker.registerHandler(RequestCode.SEND_MESSAGE_V2, (req) => {
      const header = parseSendMessageHeader(req.extFields, true);
      sends.push(header);
      return makeResponse(req, 0, undefined, { msgId: '7F000001000051AF0000000000000000', queueId: String(header.queueId), queueOffset: '0' });
    });
    await broker.listen(brokerPort, HOST);
    cleanups.push(() => broker.close());

    const reg = await client.invoke(addr, registerRequest({ brokerAddr, brokerId: '0', raftTerm: '1' }, { topicConfigTable: {}, autoCreateTopicEnable: true }), 2000);
    expect(reg.code).toBe(0);
    const events: RouteQueryEvent[] = [];
    namesrv.onRouteQuery((e) => events.push(e));

    const { Producer, Message } = require('ali-ons') as {
      Producer: new (options: Record<string, unknown>) => {
        ready(): Promise<void>;
        send(msg: unknown): Promise<{ sendStatus: string; msgId: string }>;
        close(): Promise<void>;
        on(event: string, listener: (err: Error) => void): void;
      };
      Message: new (topic: string, tags: string, body: string) => unknown;
    };
    const quiet = { info() {}, warn() {}, error() {}, debug() {} };
    const producer = new Producer({
      httpclient: {},
      nameSrv: [addr],
      producerGroup: 'GID_namesrv_test',
      instanceName: `namesrv-test-${process.pid}`,
      logger: quiet,
    });
    producer.on('error', () => {});
    cleanups.push(() => producer.close().catch(() => undefined));
    await producer.ready();
    const result = await producer.send(new Message('AutoTopic', 'tagA', 'hello'));
    expect(result).toMatchObject({ sendStatus: 'SEND_OK', msgId: '7F000001000051AF0000000000000000' });
    expect(events[0]).toMatchObject({ topic: 'AutoTopic', responseCode: 0 });
    expect(events[0]!.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ producerGroup: 'GID_namesrv_test', topic: 'AutoTopic', defaultTopic: 'TBW102', unitMode: false });
    expect(sends[0]!.queueId).toBeGreaterThanOrEqual(0);
    expect(sends[0]!.queueId).toBeLessThan(8);
    expect(sends[0]!.properties).toContain('TAGS\u0001tagA\u0002');
  });
});
