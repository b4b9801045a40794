// Fail-stop of RaftNode on a storage error: an ENOSPC or EIO from the log's append, sync or
// hard-state write stops the node with a typed error instead of an exception thrown out of a
// turn; pending proposals get that error; a restart on the same files (space freed) recovers
// everything that was acknowledged. The faults are injected into a real MmapLogStorage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { StorageFailedError } from '../raft/node/errors.js';
import { RaftNode } from '../raft/node/raft-node.js';
import { MmapLogStorage } from '../raft/storage/mmap-log-storage.js';
import { readRunMarker } from '../raft/storage/state-files.js';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import { LogStorageError } from '../raft/storage/storage-errors.js';
import { until } from './helpers/poll.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const running: RaftNode[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.close().catch(() => {})));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

/** A single-voter node on `dir`, whose storage fails as `fault` says once it is armed. */
async function singleNode(dir: string, port: number, fault: { append?: boolean; backgroundSync?: boolean; hardState?: boolean } = {}) {
  const storage = MmapLogStorage.open(dir, { segmentBytes: 1024 * 1024, indexSegmentEntries: 1024 });
  const armed = { on: false };
  const append = storage.append.bind(storage);
  storage.append = (entries) => {
    if (armed.on && fault.append) {
      const first = entries[0]!.index;
      throw new LogStorageError('ERR_LOG_IO', `append of entries ${first}..${first + entries.length - 1} failed: ENOSPC`, { cause: enospc() });
    }
    append(entries);
  };
  const setHardState = storage.setHardState.bind(storage);
  storage.setHardState = (s) => {
    if (armed.on && fault.hardState) throw enospc();
    setHardState(s);
  };
  const syncInBackground = storage.syncInBackground.bind(storage);
  storage.syncInBackground = (done) => {
    if (armed.on && fault.backgroundSync) {
      process.nextTick(() => done?.(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' })));
      return true;
    }
    return syncInBackground(done);
  };
  const applied: string[] = [];
  const node = new RaftNode({
    id: 'n0', peers: [{ id: 'n0', host: '127.0.0.1', port }], logger, storage, tickMs: 10, electionTicks: 10, heartbeatTicks: 2,
    flush: { mode: 'async', intervalMs: 20 },
    onApply: (entries) => {
      for (const e of entries) if (e.type === 0) applied.push(Buffer.from(e.payload).toString());
    },
  });
  running.push(node);
  const fatal: StorageFailedError[] = [];
  node.on('fatal', (err: StorageFailedError) => fatal.push(err));
  await node.start();
  return { node, armed, applied, fatal };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raft-fail-stop-'));
  dirs.push(d);
  return d;
}

describe('RaftNode fail-stop on storage errors', () => {
  it('stops with ERR_RAFT_STORAGE_FAILED when an append hits ENOSPC, rejects pending proposals with it, and a restart keeps every acknowledged entry', async () => {
    const dir = tempDir();
    const port = await findFreeBlock(1);
    const a = await singleNode(dir, port, { append: true });
    await until('a.node.status().role === \'leader\'', 5000, () => a.node.status().role === 'leader');
    await a.node.propose(Buffer.from('kept-1'));
    await a.node.propose(Buffer.from('kept-2'));
    a.armed.on = true;
    const results = await Promise.allSettled([a.node.propose(Buffer.from('lost-1')), a.node.propose(Buffer.from('lost-2'))]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as StorageFailedError;
      expect(err).toBeInstanceOf(StorageFailedError);
      expect(err.code).toBe('ERR_RAFT_STORAGE_FAILED');
      expect(err.during).toBe('append');
      expect(((err.cause as LogStorageError).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    expect(a.fatal).toHaveLength(1);
    expect(a.node.fatal).toBe(a.fatal[0]);
    await expect(a.node.propose(Buffer.from('after'))).rejects.toMatchObject({ code: 'ERR_RAFT_NODE_CLOSED' });

    const b = await singleNode(dir, port);
    await until('b.node.status().role === \'leader\'', 5000, () => b.node.status().role === 'leader');
    await b.node.propose(Buffer.from('kept-3'));
    expect(b.applied).toEqual(['kept-1', 'kept-2', 'kept-3']);
  });

  it('stops when a term or vote write hits ENOSPC instead of throwing out of the turn', async () => {
    const dir = tempDir();
    const port = await findFreeBlock(1);
    const a = await singleNode(dir, port, { hardState: true });
    a.armed.on = true;
    await until('a.fatal.length === 1', 5000, () => a.fatal.length === 1);
    expect(a.fatal[0]!.during).toBe('hard-state write');
    await expect(a.node.propose(Buffer.from('y'))).rejects.toMatchObject({ code: 'ERR_RAFT_NODE_CLOSED' });
  });

  it('stops when a background flush fails, since the pages it covered may be gone', async () => {
    const dir = tempDir();
    const port = await findFreeBlock(1);
    const a = await singleNode(dir, port, { backgroundSync: true });
    await until('a.node.status().role === \'leader\'', 5000, () => a.node.status().role === 'leader');
    await a.node.propose(Buffer.from('x'));
    a.armed.on = true;
    await until('a.fatal.length === 1', 5000, () => a.fatal.length === 1);
    expect(a.fatal[0]!.during).toBe('background flush');
    await expect(a.node.propose(Buffer.from('y'))).rejects.toMatchObject({ code: 'ERR_RAFT_NODE_CLOSED' });
    // The next start, even in this boot, treats the unsynced tail as possibly lost.
    expect(readRunMarker(realFileLayer, dir)).toMatchObject({ recovering: true });
  });
});
