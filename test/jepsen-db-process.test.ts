// ProcessControl kills, restarts, pauses and resumes real child processes (a stand-in echo
// server), and no process it started outlives the run: not after stopAll, not after the harness
// exits or is signalled, not even after the harness is SIGKILLed (the pid file). Ports: a random free block (PORTS).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killStaleProcesses, PID_FILE_NAME } from '../raft/tools/process/pid-file.js';
import { ProcessControl } from '../raft/tools/process/process-control.js';
import { waitForPort } from '../jepsen-like/net/wait-for-port.js';
import { assertBuilt, DIST_DB, ECHO_SERVER, tempRunDir } from './jepsen-db-helpers.js';
import { isAlive, processState } from '../raft/tools/process/process-identity.js';
import { dial, eventually } from './jepsen-net-helpers.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

/** This file's ports: a block the kit's port finder found free. */
const PORTS = await findFreeBlock(10);

const controls: ProcessControl[] = [];
const dirs: string[] = [];
const strayPids: number[] = [];
beforeAll(assertBuilt);
afterEach(async () => {
  for (const pc of controls.splice(0)) await pc.close();
  for (const pid of strayPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function control(): ProcessControl {
  const dir = tempRunDir('db');
  dirs.push(dir);
  const pc = new ProcessControl(dir);
  controls.push(pc);
  return pc;
}

const echo = (name: string, port: number) => ({ name, command: process.execPath, args: [ECHO_SERVER, '--port', String(port)] });

async function echoes(port: number, text: string, timeoutMs: number): Promise<boolean> {
  const c = await dial(port);
  try {
    c.socket.write(text);
    return await eventually(() => c.received() === text, timeoutMs);
  } finally {
    c.socket.resetAndDestroy();
  }
}

describe('ProcessControl', () => {
  it('reports a process that exits on its own as unexpected, and one it killed as expected', async () => {
    const pc = control();
    await pc.start({ name: 'crasher', command: process.execPath, args: ['-e', 'console.error("boom: the crash"); process.exit(3)'] });
    const exit = await pc.exited('crasher');
    expect(exit.code).toBe(3);
    await pc.start({ name: 'victim', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] });
    await pc.kill('victim');
    const unexpected = pc.unexpectedExits();
    expect(unexpected.map((e) => [e.name, e.code])).toEqual([['crasher', 3]]);
    expect(unexpected[0]!.logTail).toContain('boom: the crash');
  });

  it('SIGKILLs a process and restarts it with the same command line and a new pid', async () => {
    const pc = control();
    const pid1 = await pc.start(echo('n0', PORTS));
    await waitForPort(PORTS, 10_000);
    expect(await echoes(PORTS, 'one', 2000)).toBe(true);

    const exit = await pc.kill('n0');
    expect(exit.signal).toBe('SIGKILL');
    expect(isAlive(pid1)).toBe(false);
    expect(pc.status('n0')).toBe('exited');
    await expect(dial(PORTS)).rejects.toThrow();

    const pid2 = await pc.restart('n0');
    expect(pid2).not.toBe(pid1);
    await waitForPort(PORTS, 10_000);
    expect(await echoes(PORTS, 'two', 2000)).toBe(true);
    expect(pc.list()[0]!.starts).toBe(2);
    const log = readFileSync(pc.logPath('n0'), 'utf8');
    expect(log.match(/--- start #\d/g)).toEqual(['--- start #1', '--- start #2']);
    expect(log).toContain(`echo server ${pid1} listening`);
    expect(log).toContain(`echo server ${pid2} listening`);
  });

  it('pauses a process with SIGSTOP so it answers nothing, and SIGCONT lets it answer again', async () => {
    const pc = control();
    const pid = await pc.start(echo('n1', PORTS + 1));
    await waitForPort(PORTS + 1, 10_000);
    expect(pc.pause('n1')).toBe(true);
    expect(await eventually(() => processState(pid) === 'T')).toBe(true);
    const c = await dial(PORTS + 1);
    c.socket.write('ping');
    await sleep(300);
    expect(c.received()).toBe('');

    expect(pc.resume('n1')).toBe(true);
    expect(await eventually(() => c.received() === 'ping')).toBe(true);
    c.socket.resetAndDestroy();
  });

  it('leaves no process alive after stopAll, paused ones included', async () => {
    const pc = control();
    const pids = [await pc.start(echo('a', PORTS + 2)), await pc.start(echo('b', PORTS + 3)), await pc.start(echo('c', PORTS + 4))];
    await waitForPort(PORTS + 4, 10_000);
    pc.pause('b');
    await pc.stopAll();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(pc.list().every((p) => p.status === 'exited')).toBe(true);
  });

  it('reports a missing executable as ERR_PROCESS_SPAWN', async () => {
    const pc = control();
    await expect(pc.start({ name: 'ghost', command: '/nonexistent/program', args: [] })).rejects.toMatchObject({ code: 'ERR_PROCESS_SPAWN' });
  });

  // A harness in its own process: starts a stand-in, prints its pid, then ends as `how` says.
  async function harness(how: 'exit' | 'throw' | 'wait', port: number): Promise<{ child: ReturnType<typeof spawn>; pid: number; dir: string }> {
    const dir = tempRunDir('harness');
    dirs.push(dir);
    const script = `
      import { ProcessControl } from ${JSON.stringify(DIST_DB)};
      const pc = new ProcessControl(${JSON.stringify(dir)});
      const pid = await pc.start({ name: 's', command: process.execPath, args: [${JSON.stringify(ECHO_SERVER)}, '--port', '${port}'] });
      console.log('PID ' + pid);
      if (${JSON.stringify(how)} === 'exit') process.exit(0);
      if (${JSON.stringify(how)} === 'throw') setTimeout(() => { throw new Error('harness bug'); }, 10);
      if (${JSON.stringify(how)} === 'wait') setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await eventually(() => /PID \d+/.test(out), 10_000)).toBe(true);
    const pid = Number(/PID (\d+)/.exec(out)![1]);
    strayPids.push(pid);
    return { child, pid, dir };
  }

  it('kills its processes when the harness exits, throws, or is sent SIGTERM', async () => {
    const exited = await harness('exit', PORTS + 5);
    expect(await eventually(() => !isAlive(exited.pid), 5000)).toBe(true);

    const threw = await harness('throw', PORTS + 6);
    expect(await eventually(() => !isAlive(threw.pid), 5000)).toBe(true);

    const signalled = await harness('wait', PORTS + 7);
    expect(isAlive(signalled.pid)).toBe(true);
    signalled.child.kill('SIGTERM');
    expect(await eventually(() => !isAlive(signalled.pid), 5000)).toBe(true);
    expect(await eventually(() => signalled.child.exitCode !== null || signalled.child.signalCode !== null, 5000)).toBe(true);
  });

  it('lets a later run kill what a SIGKILLed harness left behind, using the pid file', async () => {
    const h = await harness('wait', PORTS + 8);
    h.child.kill('SIGKILL');
    await eventually(() => h.child.signalCode !== null, 5000);
    // SIGKILL runs no exit hooks: the stand-in survives its harness.
    await sleep(100);
    expect(isAlive(h.pid)).toBe(true);

    const pidFile = join(h.dir, PID_FILE_NAME);
    expect(existsSync(pidFile)).toBe(true);
    const found = killStaleProcesses(pidFile);
    expect(found).toEqual([{ name: 's', pid: h.pid, killed: true }]);
    expect(await eventually(() => !isAlive(h.pid), 5000)).toBe(true);
  });

  it('does not kill a recycled pid whose start time differs from the recorded one', async () => {
    const dir = tempRunDir('stale');
    dirs.push(dir);
    const pidFile = join(dir, PID_FILE_NAME);
    // Our own pid with a made-up start time: a stale entry whose pid now belongs to someone else.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(pidFile, JSON.stringify({ event: 'start', name: 'x', pid: process.pid, startTicks: '1' }) + '\n');
    expect(killStaleProcesses(pidFile)).toEqual([{ name: 'x', pid: process.pid, killed: false }]);
    expect(isAlive(process.pid)).toBe(true);
  });
});
