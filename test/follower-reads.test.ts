// The lag rule that sends a consumer far behind the end of the log to a follower
// (src/broker/follower-reads.ts) and the broker.conf keys that control it.
import { describe, expect, it } from 'vitest';
import { DEFAULT_BROKER_CONFIG, parseBrokerConfig } from '../src/broker/broker-config.js';
import { FollowerReads, lagThresholdBytes, MAX_SUGGESTED_FOLLOWER_LAG_ENTRIES, type FollowerReadsConfig, type FollowerReadsRaft } from '../src/broker/follower-reads.js';

const GiB = 1024 ** 3;
const PEERS = ['n0', 'n1', 'n2'];
const BASE = 'dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913\ndLegerSelfId=n0\n';

interface Peer { match: number; state: string; active: boolean }

function raftOf(nodeId: string, leader: boolean, progress: Record<string, Peer> = {}, commit = 100): FollowerReadsRaft & { calls: number } {
  const r = {
    nodeId,
    peerIds: PEERS,
    calls: 0,
    isLeader: () => leader,
    replication: () => {
      r.calls++;
      return { commit, progress };
    },
  };
  return r;
}

const on: FollowerReadsConfig = { slaveReadEnable: true, accessMessageInMemoryMaxRatio: 40, slaveReadLagThresholdBytes: 1000, frontDoorEnable: false };
const fit: Peer = { match: 100, state: 'replicate', active: true };

describe('the follower-read lag rule', () => {
  it('derives the threshold from the RAM share unless a byte threshold is set', () => {
    expect(lagThresholdBytes({ ...on, slaveReadLagThresholdBytes: 0 }, 10 * GiB)).toBe(4 * GiB);
    expect(lagThresholdBytes({ ...on, slaveReadLagThresholdBytes: 0, accessMessageInMemoryMaxRatio: 10 }, 10 * GiB)).toBe(GiB);
    expect(lagThresholdBytes(on, 10 * GiB)).toBe(1000);
  });

  it('keeps a consumer within the threshold on the leader and sends one past it to a fit follower, spread by queue', () => {
    const reads = new FollowerReads(on, raftOf('n0', true, { n0: fit, n1: fit, n2: fit }), () => 10_000, () => 0);
    expect(reads.suggest(0, 9_000)).toBe(0);
    expect(reads.suggest(0, 8_999)).toBe(2);
    expect(reads.suggest(1, 0)).toBe(3);
    expect(reads.suggest(2, 0)).toBe(2);
  });

  it('never suggests a follower that is silent, probing or far behind the commit index; with none fit the leader serves', () => {
    const behind = { ...fit, match: 100 - MAX_SUGGESTED_FOLLOWER_LAG_ENTRIES - 1 };
    expect(new FollowerReads(on, raftOf('n1', true, { n0: { ...fit, active: false }, n2: fit }), () => 10_000, () => 0).suggest(0, 0)).toBe(3);
    expect(new FollowerReads(on, raftOf('n1', true, { n0: { ...fit, state: 'probe' }, n2: behind }), () => 10_000, () => 0).suggest(0, 0)).toBe(0);
  });

  it('on a follower keeps a lagging consumer there and sends it back to the leader once within half the threshold', () => {
    const reads = new FollowerReads(on, raftOf('n2', false), () => 10_000, () => 0);
    expect(reads.suggest(0, 9_000)).toBe(3);
    expect(reads.suggest(0, 9_499)).toBe(3);
    expect(reads.suggest(0, 9_500)).toBe(0);
  });

  it('suggests the leader when the answer returns nothing, when slaveReadEnable is off, and with front doors', () => {
    const raft = raftOf('n0', true, { n1: fit, n2: fit });
    expect(new FollowerReads(on, raft, () => 10_000, () => 0).suggest(0, undefined)).toBe(0);
    expect(new FollowerReads({ ...on, slaveReadEnable: false }, raft, () => 10_000, () => 0).suggest(0, 0)).toBe(0);
    expect(new FollowerReads({ ...on, frontDoorEnable: true }, raft, () => 10_000, () => 0).suggest(0, 0)).toBe(0);
    expect(new FollowerReads({ ...on, slaveReadEnable: false }, raftOf('n2', false), () => 10_000, () => 0).suggest(0, 0)).toBe(0);
  });

  it('asks Raft for the followers at most once a second', () => {
    let now = 0;
    const raft = raftOf('n0', true, { n1: fit, n2: fit });
    const reads = new FollowerReads(on, raft, () => 10_000, () => now);
    for (let i = 0; i < 10; i++) reads.suggest(i, 0);
    expect(raft.calls).toBe(1);
    now = 1000;
    reads.suggest(0, 0);
    expect(raft.calls).toBe(2);
  });
});

describe('the follower-read keys of broker.conf', () => {
  it('default to on, 40 % of RAM and no byte threshold', () => {
    const { config, warnings } = parseBrokerConfig(BASE);
    expect(warnings).toEqual([]);
    expect([config.slaveReadEnable, config.accessMessageInMemoryMaxRatio, config.slaveReadLagThresholdBytes]).toEqual([true, 40, 0]);
    expect(DEFAULT_BROKER_CONFIG.slaveReadEnable).toBe(true);
  });

  it('are read, and a bad value names the key', () => {
    const { config } = parseBrokerConfig(`${BASE}slaveReadEnable=false\naccessMessageInMemoryMaxRatio=25\nslaveReadLagThresholdBytes=1048576\n`);
    expect([config.slaveReadEnable, config.accessMessageInMemoryMaxRatio, config.slaveReadLagThresholdBytes]).toEqual([false, 25, 1048576]);
    expect(() => parseBrokerConfig(`${BASE}accessMessageInMemoryMaxRatio=0\n`)).toThrow(/accessMessageInMemoryMaxRatio=0 is invalid/);
    expect(() => parseBrokerConfig(`${BASE}slaveReadEnable=yes\n`)).toThrow(/slaveReadEnable=yes is invalid/);
  });
});
