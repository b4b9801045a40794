// A NameServer and a 3-node broker group as OS processes (from dist/; `npm test` builds first):
// a heartbeat whose consumer group breaks the naming rule, sent to every node as clients do, is
// refused everywhere and costs the group none of its routes: a topic created afterwards is routed
// with its own queues, which needs the leader's registrations to be accepted.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../src/devkit/local-cluster.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { decodeJsonBody, makeRequest, RemotingClient, RequestCode, ResponseCode, type TopicRouteData } from '../src/protocol/index.js';
import { silent } from './broker-helpers.js';

let dir: string;
let cluster: LocalCluster | undefined;
const client = new RemotingClient({ logger: silent });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmq-names-cluster-'));
  cluster = await startLocalCluster({ dir, basePort: await findFreeBlock(30), logLevel: 'warn' });
});

afterAll(async () => {
  await client.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function routeQueues(namesrvAddr: string, topic: string): Promise<number[]> {
  const resp = await client.invoke(namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 3000);
  if (resp.code !== ResponseCode.SUCCESS) return [];
  return decodeJsonBody<TopicRouteData>(resp.body, 'route').queueDatas.map((q) => q.readQueueNums);
}

describe('a bad group name against a local 3-node group', () => {
  it('is refused by every node and the group keeps registering its topics with the NameServer', async () => {
    const c = cluster!;
    const leader = await c.waitForLeader(30_000);
    // A quorum elects the leader; the third node may still be starting.
    await expect.poll(async () => (await Promise.all(c.nodes.map((n) => c.status(n.id)))).every((s) => s !== undefined), { timeout: 30_000 }).toBe(true);
    const body = Buffer.from(JSON.stringify({
      clientID: '10.0.0.7@hostile',
      producerDataSet: [],
      consumerDataSet: [{ groupName: 'bad group', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
        subscriptionDataSet: [{ topic: 'AnyTopic', subString: '*', tagsSet: [], codeSet: [], subVersion: 1 }] }],
    }));
    const answers = await Promise.all(c.nodes.map((n) => client.invoke(n.brokerAddr, makeRequest(RequestCode.HEART_BEAT, {}, { body }), 5000)));
    const created = await client.invoke(leader.brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'AfterBadGroup', readQueueNums: '3', writeQueueNums: '3', perm: '6' }), 5000);
    expect(created.code, created.remark).toBe(ResponseCode.SUCCESS);
    // Until the leader re-registers, the NameServer offers the auto-create route (8 queues).
    await expect.poll(() => routeQueues(c.namesrvAddr, 'AfterBadGroup'), { timeout: 15_000 }).toEqual([3]);
    expect(answers.map((a) => a.code)).toEqual([ResponseCode.SYSTEM_ERROR, ResponseCode.SYSTEM_ERROR, ResponseCode.SYSTEM_ERROR]);
    expect(answers[0]!.remark).toMatch(/invalid group name 'bad group'/);
  });
});
