// The CLI's answers to flags that cannot go together, and the codes its errors carry: each clash
// is refused before anything runs, with one line naming both flags and ending in the stable
// code (ERR_CLI_USAGE); our own errors end in theirs (ERR_DEVKIT_NO_CLUSTER, ...). Also
// `--log-pretty`, which turns a server's JSON log lines into pino-pretty's human layout.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { until } from './broker-helpers.js';
import { ensureBuilt, killLiveRuns, rmq, rmqMain, type RunResult } from './cli-helpers.js';

ensureBuilt();
const dir = mkdtempSync(join(tmpdir(), 'rmq-flags-test-'));

afterAll(() => {
  killLiveRuns();
  rmSync(dir, { recursive: true, force: true });
});

/** Exit 1, one line (plus commander's usage hint), naming `what`, ending with `code`. */
function expectRefused(r: RunResult, what: RegExp, code: string): void {
  expect(r.status, r.stderr).toBe(1);
  const [first] = r.stderr.trim().split('\n');
  expect(first).toMatch(what);
  expect(first!.endsWith(`[${code}]`), first).toBe(true);
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  expect(r.stdout).toBe('');
}

describe('clashing flags', () => {
  // Port 1 is never a NameServer: a command that ran would fail there, with another message.
  const ns = '127.0.0.1:1';

  it.each([
    [['consume', '-n', ns, '-t', 'T', '-g', 'G', '--tags', '*', '--sql', 'a > 1'], /option '--sql <expr>' cannot be used with option '--tags <expr>'/],
    [['produce', '-n', ns, '-t', 'T', '--body', 'x', '--size', '10'], /option '--size <bytes>' cannot be used with option '--body <text>'/],
    [['admin', 'deleteExpiredCommitLog', '-n', ns, '-b', '127.0.0.1:2', '-c', 'C'], /option '-b, --broker-addr <addr>' cannot be used with option '-c, --cluster-name <name>'/],
    [['admin', 'brokerStatus', '-n', ns, '-b', '127.0.0.1:2', '-c', 'C'], /option '-b, --broker-addr <addr>' cannot be used with option '-c, --cluster-name <name>'/],
    [['bench', 'e2e', '--local', '-n', ns], /option '--local' cannot be used with option '-n, --namesrv-addr <addr>'/],
    [['bench', 'e2e', '-n', ns, '--json', '--json-lines'], /option '--json' cannot be used with option '--json-lines'/],
    [['start', '--no-dashboard', '--dashboard-port', '9999'], /option '--no-dashboard' cannot be used with option '--dashboard-port <port>'|option '--dashboard-port <port>' cannot be used with option '--no-dashboard'/],
  ])('refuses %j naming both flags', async (args, what) => {
    expectRefused(await rmq(args, 30_000), what, 'ERR_CLI_USAGE');
  });

  it.each([
    [['produce', '-n', ns, '-t', 'T', '--check-answer', 'rollback'], /--check-answer needs --transaction/],
    [['produce', '-n', ns, '-t', 'T', '--check-wait', '5'], /--check-wait needs --transaction/],
    [['admin', 'changeMembers', '-n', ns, '--promote', 'n1', '--address', '127.0.0.1:2'], /--address needs --add-learner/],
  ])('refuses %j: a flag that means nothing without another', async (args, what) => {
    expectRefused(await rmq(args, 30_000), what, 'ERR_CLI_USAGE');
  });

  it('still takes a clashing flag at its default: --tags is not given by --sql alone', async () => {
    const r = await rmq(['consume', '-n', ns, '-t', 'T', '-g', 'G', '--sql', 'a > 1', '--timeout', '2'], 30_000);
    expect(r.stderr).not.toMatch(/cannot be used with/);
  });
});

describe('error codes in CLI output', () => {
  it('ends our own errors with their code', async () => {
    expectRefused(await rmq(['cluster', 'status', '--dir', join(dir, 'none')]), /^error: no cluster\.json in .*; pass the --dir given to 'rmq cluster up'/, 'ERR_DEVKIT_NO_CLUSTER');
    expectRefused(await rmq(['cluster', 'restart', '--dir', dir]), /^error: only a rolling restart is offered/, 'ERR_CLI_USAGE');
  });

  it("ends commander's own refusals with ERR_CLI_USAGE", async () => {
    expectRefused(await rmq(['admin', 'topicList', '--no-such-flag']), /^error: unknown option '--no-such-flag'/, 'ERR_CLI_USAGE');
    expectRefused(await rmq(['produce', '-n', '127.0.0.1:1', '-t', 'T', '--count', 'x']), /^error: option '--count <n>' argument 'x' is invalid/, 'ERR_CLI_USAGE');
  });
});

describe('--log-pretty', () => {
  it('makes rmq namesrv log human-readable lines instead of JSON', async () => {
    const port = await findFreeBlock(1);
    const env: NodeJS.ProcessEnv = { ...process.env, RMQ_LOG_LEVEL: 'info' };
    delete env['RMQ_LOG_PRETTY'];
    const child = spawn(process.execPath, [rmqMain, 'namesrv', '-p', String(port), '--log-pretty'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    try {
      await until('the NameServer to log that it started', 15_000, () => out.includes('name server started'), 50);
    } finally {
      child.kill('SIGKILL');
    }
    const line = out.split('\n').find((l) => l.includes('name server started'))!;
    expect(line.trimStart().startsWith('{')).toBe(false);
    expect(line).toMatch(/INFO/);
  });
});
