// Consumer offsets never go backwards and SUCCESS means committed. The replicated state keeps
// the highest offset per group/topic/queue (only an explicit reset entry lowers one); the leader
// answers UPDATE_CONSUMER_OFFSET once the entry carrying it is committed, and refuses updates it
// could not commit instead of dropping them; a node answers QUERY_CONSUMER_OFFSET only once its
// applied state holds every offset committed before the query (ReadIndex). Unit tests of the state
// machine and the committer (fake Raft), then a 3-node group over the wire.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerController } from '../src/broker/broker-controller.js';
import type { RaftFacade, RoleState } from '../src/broker/broker-context.js';
import { BrokerError } from '../src/broker/broker-errors.js';
import { decodeControlEntry, encodeControlEntry, type ControlCommand } from '../src/broker/control-entry.js';
import { OffsetCommitter } from '../src/broker/consumer-offset-service.js';
import { MetadataState } from '../src/broker/metadata-state.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { request, silent, startTestGroup, until, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

const offsets = (offset: number, kind: 'consumer-offsets' | 'consumer-offsets-reset' = 'consumer-offsets'): ControlCommand =>
  ({ kind, offsets: [{ group: 'G', topic: 'T', queueId: 0, offset }] });

describe('the replicated offset table', () => {
  it('keeps the highest offset: a later entry with a lower offset does not move it back', () => {
    const m = new MetadataState();
    m.apply(1, offsets(10));
    m.apply(2, offsets(7));
    expect(m.consumerOffset('G', 'T', 0)).toBe(10);
    m.apply(3, offsets(12));
    expect(m.consumerOffset('G', 'T', 0)).toBe(12);
  });

  it('lets an explicit reset entry move an offset back, and the reset travels as a control entry', () => {
    const m = new MetadataState();
    m.apply(1, offsets(10));
    const reset = decodeControlEntry(encodeControlEntry(offsets(3, 'consumer-offsets-reset')));
    expect(reset.kind).toBe('consumer-offsets-reset');
    m.apply(2, reset);
    expect(m.consumerOffset('G', 'T', 0)).toBe(3);
    m.apply(3, offsets(2));
    expect(m.consumerOffset('G', 'T', 0)).toBe(3);
  });
});

/** A Raft facade whose control proposals the test settles by hand. */
class FakeRaft {
  leads = true;
  roleName: RoleState['role'] = 'leader';
  readonly proposals: { command: ControlCommand; resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly facade = {
    nodeId: 'n0',
    peerIds: ['n0'],
    isLeader: () => this.leads,
    role: (): RoleState => ({ role: this.roleName, leaderId: 'n0', term: 1, ready: this.leads }),
    proposeControl: (command: ControlCommand) => new Promise<{ index: number }>((resolve, reject) => {
      this.proposals.push({ command, resolve: () => resolve({ index: this.proposals.length }), reject });
    }),
  } as unknown as RaftFacade;
}

function committer(raft: FakeRaft, metadata = new MetadataState()): OffsetCommitter {
  return new OffsetCommitter({ raft: raft.facade, metadata, log: silent, readIndex: async () => metadata.appliedIndex });
}

/** Whether `p` has settled after the pending microtasks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => { done = true; }, () => { done = true; });
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('the leader\'s offset committer', () => {
  it('answers an update only once the entry carrying it is committed', async () => {
    const raft = new FakeRaft();
    const c = committer(raft);
    const update = c.commit('G', 'T', 0, 5);
    expect(await settled(update)).toBe(false);
    void c.flush();
    expect(raft.proposals).toHaveLength(1);
    expect(await settled(update)).toBe(false);
    raft.proposals[0]!.resolve();
    await expect(update).resolves.toBeUndefined();
  });

  it('refuses, instead of dropping, the updates it holds when it stops leading before proposing them', async () => {
    const raft = new FakeRaft();
    const c = committer(raft);
    const update = c.commit('G', 'T', 0, 5);
    raft.leads = false;
    raft.roleName = 'follower';
    void c.flush();
    await expect(update).rejects.toMatchObject({ code: 'ERR_BROKER_NOT_LEADER' });
    expect(c.pendingCount).toBe(0);
  });

  it('refuses the updates of an entry that failed and proposes them again while it leads', async () => {
    const raft = new FakeRaft();
    const c = committer(raft);
    const update = c.commit('G', 'T', 0, 5);
    const flushed = c.flush();
    raft.proposals[0]!.reject(new BrokerError('ERR_BROKER_OUTCOME_UNKNOWN', ResponseCode.SERVICE_NOT_AVAILABLE, 'timed out'));
    await flushed;
    await expect(update).rejects.toMatchObject({ code: 'ERR_BROKER_NOT_COMMITTED' });
    void c.flush();
    expect(raft.proposals[1]!.command).toEqual(offsets(5));
  });

  it('never lowers a pending offset, and answers a query with the highest of pending and replicated', async () => {
    const raft = new FakeRaft();
    const metadata = new MetadataState();
    metadata.apply(1, offsets(8));
    const c = committer(raft, metadata);
    void c.commit('G', 'T', 0, 9);
    void c.commit('G', 'T', 0, 4);
    expect(c.query('G', 'T', 0)).toBe(9);
    void c.flush();
    expect(raft.proposals[0]!.command).toEqual(offsets(9));
    void c.commit('G', 'T', 0, 2);
    expect(c.query('G', 'T', 0)).toBe(8);
  });
});

describe('offsets on a 3-node group', () => {
  let g: TestGroup;
  let leader: BrokerController;
  let followers: BrokerController[];

  beforeAll(async () => {
    g = await startTestGroup(await findFreeBlock(20), 3);
    leader = await waitForReadyLeader(g);
    followers = g.brokers.filter((b) => b !== leader);
    await until('the followers to know the leader', 5000, () => followers.every((f) => f.raft.leaderAddr() === leader.brokerAddr));
  });

  afterAll(async () => {
    await g?.close();
  });

  const update = (addr: string, queueId: number, commitOffset: number) =>
    request(g, addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'OffG', topic: 'OffT', queueId, commitOffset });
  const query = async (addr: string, queueId: number): Promise<string | undefined> => {
    const r = await request(g, addr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'OffG', topic: 'OffT', queueId });
    expect(r.code, r.remark).toBe(ResponseCode.SUCCESS);
    return r.extFields['offset'];
  };

  it('answers, on any follower right after SUCCESS, an offset not behind the acknowledged one', async () => {
    const [f1, f2] = followers as [BrokerController, BrokerController];
    for (let round = 1; round <= 5; round++) {
      const ack = await update(f1.brokerAddr, 1, round * 10);
      expect(ack.code, ack.remark).toBe(ResponseCode.SUCCESS);
      expect(await query(f2.brokerAddr, 1)).toBe(String(round * 10));
    }
  });

  it('does not move an offset back when a late update with a lower offset arrives', async () => {
    expect((await update(leader.brokerAddr, 2, 40)).code).toBe(ResponseCode.SUCCESS);
    expect((await update(followers[0]!.brokerAddr, 2, 25)).code).toBe(ResponseCode.SUCCESS);
    for (const b of g.brokers) expect(await query(b.brokerAddr, 2), b.raft.nodeId).toBe('40');
  });

  it('keeps an acknowledged offset when leadership moves right after the SUCCESS', async () => {
    const from = await waitForReadyLeader(g);
    const ack = await update(from.brokerAddr, 3, 77);
    expect(ack.code, ack.remark).toBe(ResponseCode.SUCCESS);
    const to = g.brokers.find((b) => b !== from)!;
    await from.raft.transferLeadership(to.raft.nodeId);
    const next = await waitForReadyLeader(g);
    expect(next).not.toBe(from);
    expect(await query(next.brokerAddr, 3)).toBe('77');
  });
});
