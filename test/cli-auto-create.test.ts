// The CLI against a cluster as `rmq cluster up` makes it by default (autoCreateTopicEnable on,
// metrics on): the NameServer offers a route for any topic name, so a misspelled topic must be
// refused with the known names rather than shown as an empty real topic; updateTopic warns about
// unread write queues; produce and consume draw progress on a terminal; `rmq dashboard` serves.
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../src/client/index.js';
import { silent } from './broker-helpers.js';
import { killLiveRuns, rmq, rmqMain } from './cli-helpers.js';
import { startCluster, type TestCluster } from './metrics-helpers.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster('rmq-cli-auto-create-');
  const producer = new Producer({ namesrvAddr: c.file.namesrv.addr, producerGroup: 'AUTO_PG', logger: silent });
  await producer.start();
  try {
    await producer.send({ topic: 'RealTopic', body: 'x' });
  } finally {
    await producer.shutdown();
  }
}, 90_000);

afterAll(async () => {
  killLiveRuns();
  await c?.close();
});

describe('admin commands with auto-create on', () => {
  it('refuse a misspelled topic in topicRoute, topicStatus and consumerProgress, naming the known ones', async () => {
    const ns = c.file.namesrv.addr;
    for (const args of [['topicRoute', '-t', 'RealTopik'], ['topicStatus', '-t', 'RealTopik'], ['consumerProgress', '-g', 'g1', '-t', 'RealTopik']]) {
      const r = await rmq(['admin', ...args, '-n', ns]);
      expect(r.status, r.stdout).toBe(1);
      expect(r.stderr).toMatch(/topic 'RealTopik' does not exist: no broker has created it.*known topics: RealTopic/);
    }
    const real = await rmq(['admin', 'topicStatus', '-n', ns, '-t', 'RealTopic', '--json']);
    expect(real.status, real.stderr).toBe(0);
  });

  it('warns that write queues past the read queues are never consumed', async () => {
    const r = await rmq(['admin', 'updateTopic', '-n', c.file.namesrv.addr, '-t', 'Shrunk', '-r', '2', '-w', '4']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: write queues 2\.\.3 are not readable \(-r 2 < -w 4\): consumers never see/);
  });

  it('shows progress (count, rate, errors) on a terminal for produce, and for consume --json', () => {
    const ns = c.file.namesrv.addr;
    // `script` runs the command on a pseudo-terminal, as a person's shell would.
    const onTerminal = (args: string): string => {
      const r = spawnSync('script', ['-qec', `${process.execPath} ${rmqMain} ${args}`, '/dev/null'], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, RMQ_LOG_LEVEL: 'silent' } });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      return r.stdout;
    };
    expect(onTerminal(`produce -n ${ns} -t RealTopic --count 200`)).toMatch(/producing to RealTopic\s+\[#+\] 200\/200 \d+ msgs\/s/);
    expect(onTerminal(`consume -n ${ns} -t RealTopic -g progress-group --count 50 --json`)).toMatch(/consuming RealTopic\s+\[#+\] 50\/50 \d+ msgs\/s/);
  });

  it('rmq dashboard prints its URL and serves the page until stopped', async () => {
    const child = spawn(process.execPath, [rmqMain, 'dashboard', '-n', c.file.namesrv.addr, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RMQ_LOG_LEVEL: 'silent' } });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no URL within 20 s; printed: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString('utf8');
          const m = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>rmq dashboard</title>');
      const overview = (await (await fetch(`${url}api/overview`)).json()) as { groups: { brokerName: string; leader: string | null }[] };
      expect(overview.groups.map((g) => g.brokerName)).toEqual(['broker-a']);
    } finally {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }
  });
});
