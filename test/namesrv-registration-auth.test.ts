// The NameServer's registration key (src/namesrv/registration-guard.ts) with a real 3-node broker
// group that signs its registrations: a forged REGISTER_BROKER (brokerId 0, a huge raftTerm, a
// made-up address), unsigned or signed with another key, and a forged UNREGISTER_BROKER are
// refused NO_PERMISSION (16) and change no route; route reads stay open; a broker with the wrong
// key never appears.
import { afterEach, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { signRequest } from '../src/protocol/acl-signature.js';
import { makeRequest, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { ResponseCode } from '../src/protocol/response-code.js';
import { encodeJsonBody, type ClusterInfo, type TopicRouteData } from '../src/protocol/route-data.js';
import { startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

const KEY = 'registration-key-0123456789abcdef';
let g: TestGroup | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

const FAKE_ADDR = '10.66.66.66:10911';

function forgedRegistration(sign?: string): RemotingCommand {
  const req = makeRequest(RequestCode.REGISTER_BROKER, {
    clusterName: 'DefaultCluster', brokerName: 'broker-t', brokerAddr: FAKE_ADDR, haServerAddr: FAKE_ADDR,
    brokerId: '0', raftTerm: String(2 ** 40), compressed: 'false',
  }, { body: encodeJsonBody({ topicConfigTable: { Orders: { topicName: 'Orders', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 } } }) });
  if (sign !== undefined) signRequest(req, { accessKey: 'broker:DefaultCluster/broker-t', secretKey: sign });
  return req;
}

async function clusterInfo(group: TestGroup): Promise<ClusterInfo> {
  const resp = await group.client.invoke(group.namesrvAddr, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO, {}), 3000);
  expect(resp.code).toBe(ResponseCode.SUCCESS);
  return JSON.parse(resp.body!.toString()) as ClusterInfo;
}

describe('NameServer registration key', () => {
  it('refuses forged registrations and unregistrations while the signed group stays routed', async () => {
    g = await startTestGroup(await findFreeBlock(20), 3, { namesrvRegistrationKey: KEY }, {}, { registrationKeys: [KEY] });
    const group = g;
    const leader = await waitForReadyLeader(group);
    await until('the leader registered as master', 10_000, async () => (await clusterInfo(group)).brokerAddrTable['broker-t']?.brokerAddrs['0'] === leader.brokerAddr);

    for (const req of [forgedRegistration(), forgedRegistration('another-key-0123456789abcdef')]) {
      const resp = await group.client.invoke(group.namesrvAddr, req, 3000);
      expect(resp.code).toBe(ResponseCode.NO_PERMISSION);
      expect(resp.remark).toMatch(/registration key/);
    }
    const unregister = makeRequest(RequestCode.UNREGISTER_BROKER, { clusterName: 'DefaultCluster', brokerName: 'broker-t', brokerAddr: leader.brokerAddr, brokerId: '0' });
    const unresp = await group.client.invoke(group.namesrvAddr, unregister, 3000);
    expect(unresp.code).toBe(ResponseCode.NO_PERMISSION);

    // Reads need no signature, and still name the real leader as master.
    const info = await clusterInfo(group);
    expect(info.brokerAddrTable['broker-t']!.brokerAddrs['0']).toBe(leader.brokerAddr);
    expect(Object.values(info.brokerAddrTable['broker-t']!.brokerAddrs)).not.toContain(FAKE_ADDR);
    const route = await group.client.invoke(group.namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'Orders' }), 3000);
    // (Served through the group's auto-create default: never by the stranger's address.)
    expect(route.code).toBe(ResponseCode.SUCCESS);
    expect(route.body!.toString()).not.toContain(FAKE_ADDR);
    expect(group.namesrv.stats().refusedRegistrations).toBe(3);
  });

  it('keeps out a broker that signs with another key', async () => {
    g = await startTestGroup(await findFreeBlock(20), 1, { namesrvRegistrationKey: 'another-key-0123456789abcdef' }, {}, { registrationKeys: [KEY] });
    const group = g;
    await waitForReadyLeader(group);
    await until('a refused registration', 10_000, () => group.namesrv.stats().refusedRegistrations >= 1);
    expect((await clusterInfo(group)).brokerAddrTable['broker-t']).toBeUndefined();
  });

  it('accepts a route read and a registration from anyone when no key is configured (as before)', async () => {
    g = await startTestGroup(await findFreeBlock(20), 1);
    const group = g;
    await waitForReadyLeader(group);
    const resp = await group.client.invoke(group.namesrvAddr, forgedRegistration(), 3000);
    expect(resp.code).toBe(ResponseCode.SUCCESS);
    const route = await group.client.invoke(group.namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'Orders' }), 3000);
    expect((JSON.parse(route.body!.toString()) as TopicRouteData).brokerDatas[0]!.brokerAddrs['0']).toBe(FAKE_ADDR);
  });
});
