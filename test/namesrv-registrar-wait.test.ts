// A topic change answers only after the NameServers heard the tables that hold it: the wait skips
// a registration already in flight (built from older tables) and ends with the queued one.
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../src/broker/broker-config.js';
import type { RaftFacade } from '../src/broker/broker-context.js';
import type { MetadataState } from '../src/broker/metadata-state.js';
import { NamesrvRegistrar } from '../src/broker/namesrv-registrar.js';
import { makeResponse, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { RemotingServer } from '../src/protocol/remoting-server.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { ResponseCode } from '../src/protocol/response-code.js';
import { decodeJsonBody, type TopicConfig } from '../src/protocol/route-data.js';
import { silent } from './broker-helpers.js';
import { until } from './helpers/poll.js';

interface Held { topics: string[]; release: () => void }

let server: RemotingServer | undefined;
let registrar: NamesrvRegistrar | undefined;
afterEach(async () => {
  await registrar?.stop();
  await server?.close();
});

describe('NamesrvRegistrar.registerAllAndWait', () => {
  it('resolves after the registration that carries the new topic, not the older one in flight', async () => {
    const held: Held[] = [];
    server = new RemotingServer({ logger: silent });
    server.registerHandler(RequestCode.REGISTER_BROKER, (req: RemotingCommand) => new Promise((resolve) => {
      const body = decodeJsonBody<{ topicConfigTable: Record<string, TopicConfig> }>(req.body, 'registration');
      held.push({ topics: Object.keys(body.topicConfigTable), release: () => resolve(makeResponse(req, ResponseCode.SUCCESS)) });
    }));
    server.registerHandler(RequestCode.UNREGISTER_BROKER, (req: RemotingCommand) => makeResponse(req, ResponseCode.SUCCESS));
    const { port } = await server.listen(0);
    const topics: TopicConfig[] = [];
    const metadata = { onApplied: () => undefined, topics: () => topics.values() } as unknown as MetadataState;
    const raft = { nodeId: 'n0', peerIds: ['n0'], isLeader: () => true, role: () => ({ role: 'leader', leaderId: 'n0', term: 1, ready: true }), onRoleChange: () => () => undefined } as unknown as RaftFacade;
    const config = { namesrvAddr: [`127.0.0.1:${port}`], brokerName: 'broker-a', brokerClusterName: 'c', autoCreateTopicEnable: true, defaultTopicQueueNums: 4, namesrvRegistrationKey: '' } as unknown as BrokerConfig;
    registrar = new NamesrvRegistrar(config, '127.0.0.1:1', raft, metadata, silent);

    registrar.start();
    await until('the start registration arrives', 5_000, () => held.length === 1);
    topics.push({ topicName: 'NewTopic', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 });
    let done = false;
    const waited = registrar.registerAllAndWait('topic update').then(() => { done = true; });

    held[0]!.release();
    await until('the queued registration arrives', 5_000, () => held.length === 2);
    expect(done).toBe(false);
    expect(held[0]!.topics).toEqual([]);
    expect(held[1]!.topics).toEqual(['NewTopic']);
    held[1]!.release();
    await waited;
    expect(done).toBe(true);
  });
});
