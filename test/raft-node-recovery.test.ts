// RaftNode after a power loss under async flush (a restart whose log's `running` marker is from
// another boot): the node starts in the core's recovering state, catches up with the leader and
// clears the suspicion; a group whose majority restarts that way elects no leader and says so
// with ERR_RAFT_RECOVERY_BLOCKED, until an operator accepts a node's log by removing its marker.
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import type { RecoveryBlockedError } from '../raft/node/errors.js';
import { RaftNode } from '../raft/node/raft-node.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { readRunMarker, writeRunMarker } from '../raft/storage/state-files.js';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import type { PeerAddress } from '../raft/transport/tcp-transport.js';
import { until } from './helpers/poll.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const running: RaftNode[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.close().catch(() => {})));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const basePort = await findFreeBlock(3);
  const dir = mkdtempSync(join(tmpdir(), 'raft-node-recovery-'));
  dirs.push(dir);
  const peers: PeerAddress[] = [0, 1, 2].map((i) => ({ id: `n${i}`, host: '127.0.0.1', port: basePort + i }));
  const applied = new Map<string, string[]>();
  const nodes = new Map<string, RaftNode>();
  const blocked: RecoveryBlockedError[] = [];
  const startedRecovering = new Map<string, boolean>();
  const start = async (id: string): Promise<RaftNode> => {
    const seen: string[] = [];
    applied.set(id, seen);
    const node = new RaftNode({
      id, peers, logger, tickMs: 10, electionTicks: 10, heartbeatTicks: 2, flush: { mode: 'async', intervalMs: 50 },
      storage: MmapLogStorage.open(join(dir, id), { segmentBytes: 1024 * 1024, indexSegmentEntries: 1024 }),
      onApply: (entries) => {
        for (const e of entries) if (e.type === 0) seen.push(Buffer.from(e.payload).toString());
      },
    });
    node.on('recovery-blocked', (err: RecoveryBlockedError) => blocked.push(err));
    startedRecovering.set(id, node.status().recovering);
    running.push(node);
    nodes.set(id, node);
    await node.start();
    return node;
  };
  const stop = async (id: string): Promise<void> => {
    const node = nodes.get(id)!;
    await node.close();
    running.splice(running.indexOf(node), 1);
  };
  /** Makes the next start of the stopped `id` look like one after a power loss. */
  const markPowerLost = (id: string): void => writeRunMarker(realFileLayer, join(dir, id), { bootId: 'a-boot-before-the-power-loss', recovering: false });
  const leader = (): RaftNode | undefined => [...nodes.values()].find((n) => n.fatal === undefined && n.status().role === 'leader' && running.includes(n));
  return { dir, start, stop, markPowerLost, applied, nodes, blocked, startedRecovering, leader };
}

describe('RaftNode after a power loss under async flush', () => {
  it('starts recovering, catches up with the leader, then clears the suspicion and applies everything in order', async () => {
    const g = await setup();
    for (const id of ['n0', 'n1', 'n2']) await g.start(id);
    await until('g.leader() !== undefined', 8000, () => g.leader() !== undefined);
    for (let i = 0; i < 10; i++) await g.leader()!.propose(Buffer.from(`a${i}`));
    await g.stop('n2');
    g.markPowerLost('n2');
    const n2 = await g.start('n2');
    expect(g.startedRecovering.get('n2')).toBe(true);
    await until('!n2.status().recovering', 8000, () => !n2.status().recovering);
    expect(readRunMarker(realFileLayer, join(g.dir, 'n2'))).toMatchObject({ recovering: false });
    for (let i = 0; i < 5; i++) await g.leader()!.propose(Buffer.from(`b${i}`));
    const expected = [...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)];
    await until('g.applied.get(\'n2\')!.length === expected.length', 8000, () => g.applied.get('n2')!.length === expected.length);
    expect(g.applied.get('n2')).toEqual(expected);
  });

  it('elects no leader when a majority restarts after a power loss, reports ERR_RAFT_RECOVERY_BLOCKED, and elects once an operator accepts a log', async () => {
    const g = await setup();
    for (const id of ['n0', 'n1', 'n2']) await g.start(id);
    await until('g.leader() !== undefined', 8000, () => g.leader() !== undefined);
    await g.leader()!.propose(Buffer.from('x'));
    for (const id of ['n0', 'n1', 'n2']) await g.stop(id);
    g.markPowerLost('n1');
    g.markPowerLost('n2');
    for (const id of ['n0', 'n1', 'n2']) await g.start(id);
    // n1 and n2 (a majority) are recovering: they neither vote nor campaign.
    await until('g.blocked.length >= 2', 8000, () => g.blocked.length >= 2);
    expect(g.blocked[0]!.code).toBe('ERR_RAFT_RECOVERY_BLOCKED');
    expect(g.leader()).toBeUndefined();
    // The operator accepts n1's log as it is: its marker goes, and it votes again.
    await g.stop('n1');
    unlinkSync(join(g.dir, 'n1', 'running'));
    await g.start('n1');
    await until('g.leader() !== undefined', 8000, () => g.leader() !== undefined);
    await until('!g.nodes.get(\'n2\')!.status().recovering', 8000, () => !g.nodes.get('n2')!.status().recovering);
    await until('g.applied.get(\'n2\')!.length > 0', 8000, () => g.applied.get('n2')!.length > 0);
    expect(g.applied.get('n2')).toEqual(['x']);
  });
});
