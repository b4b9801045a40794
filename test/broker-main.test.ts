// The broker's entry point: a bad broker.conf, or a port another process holds, stops startup
// with a message naming the key.

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { brokerScript } from '../src/devkit/processes.js';
import { ensureBuilt } from './cli-helpers.js';

const main = brokerScript();
const dir = mkdtempSync(join(tmpdir(), 'broker-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(conf: string): { status: number | null; stderr: string } {
  ensureBuilt(main);
  const path = join(dir, 'broker.conf');
  writeFileSync(path, conf);
  const r = spawnSync(process.execPath, [main, '-c', path], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, RMQ_LOG_LEVEL: 'silent' } });
  return { status: r.status, stderr: r.stderr };
}

describe('broker main', () => {
  it('exits 1 naming the key when a value is bad', () => {
    const r = run('listenPort=notaport\ndLegerPeers=n0-127.0.0.1:25990\ndLegerSelfId=n0\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('listenPort=notaport is invalid');
  });

  it('exits 1 naming dLegerPeerSecretFile when that file is missing or holds a secret too short', () => {
    const missing = run('dLegerPeers=n0-127.0.0.1:25990\ndLegerSelfId=n0\ndLegerPeerSecretFile=no-such.secret\n');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/dLegerPeerSecretFile=.*no-such\.secret cannot be read/);
    writeFileSync(join(dir, 'short.secret'), 'tooshort\n');
    const short = run('dLegerPeers=n0-127.0.0.1:25990\ndLegerSelfId=n0\ndLegerPeerSecretFile=short.secret\n');
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/dLegerPeerSecretFile.*at least 16 characters/);
    expect(short.stderr).not.toContain('tooshort');
  });

  it('exits 1 naming tlsCertPath when tlsEnable is on without a certificate', () => {
    const r = run('dLegerPeers=n0-127.0.0.1:25990\ndLegerSelfId=n0\ntlsEnable=true\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('tlsEnable=true needs tlsCertPath');
  });

  it('exits 1 naming dLegerSelfId when it is not one of the peers', () => {
    const r = run('dLegerPeers=n0-127.0.0.1:25990\ndLegerSelfId=n5\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('dLegerSelfId=n5');
  });

  it('exits 1 with one line naming dLegerPeers, and no stack trace, when the peer list does not parse', () => {
    const r = run(`dLegerPeers=garbage\ndLegerSelfId=garbage\nstorePathRootDir=${join(dir, 'store-peers')}\nlistenPort=25991\nnamesrvAddr=127.0.0.1:25992\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('broker.conf: dLegerPeers=garbage is invalid: peer "garbage" has no id; expected "<id>-<host>:<port>"\n');
  });

  it('exits 1 naming listenPort when another process holds it', async () => {
    const base = await findFreeBlock(3);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(base, '127.0.0.1', resolve));
    try {
      const r = run(`storePathRootDir=${join(dir, 'store-port')}\ndLegerPeers=n0-127.0.0.1:${base + 1}\ndLegerSelfId=n0\nlistenPort=${base}\nnamesrvAddr=127.0.0.1:${base + 2}\n`);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('EADDRINUSE');
      expect(r.stderr).toContain(`listenPort=${base} is already in use by another process`);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('exits 1 when the CommitLog segment cannot hold the largest message', () => {
    const r = run(`storePathRootDir=${join(dir, 'store')}\nmappedFileSizeCommitLog=1048576\nmaxMessageSize=2097152\ndLegerPeers=n0-127.0.0.1:25990\ndLegerSelfId=n0\nlistenPort=25991\nnamesrvAddr=127.0.0.1:25992\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('mappedFileSizeCommitLog');
  });
});
