// The web dashboard in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
// puppeteer-core against `rmq dashboard` over a real NameServer and 3-node group. The page must
// load without console errors, name the leader, show rates and a chart that move while a producer
// runs, name the new leader within seconds of a leader SIGKILL, and show a message looked up by
// key and by time with its body, show which member of a consumer group holds which queue, and run
// a leader transfer and a topic creation only once confirmed. A screenshot is left in the test's
// temp folder.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer, PushConsumer } from '../src/client/index.js';
import { killNode } from '../src/devkit/cluster-launcher.js';
import { Dashboard } from '../src/dashboard/dashboard-server.js';
import { silent, until } from './broker-helpers.js';
import { sample, scrape, startCluster, type TestCluster } from './metrics-helpers.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const TOPIC = 'DashTopic';
/** Sends of the background producer at most (it stops earlier when the test says so). */
const MAX_SENDS = 20_000;

let c: TestCluster;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does it)`);
  c = await startCluster('rmq-dashboard-test-');
  dashboard = await Dashboard.start({ namesrvAddr: c.file.namesrv.addr, port: 0, sampleIntervalMs: 500 });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1400 });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
}, 120_000);

afterAll(async () => {
  const pid = browser?.process()?.pid;
  await browser?.close().catch(() => undefined);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await dashboard?.close().catch(() => undefined);
  // The cluster's data goes; the screenshot stays in the temp folder for a person to look at.
  await c?.close();
});

/** The node a ready leader is on, by its metrics. */
async function leaderId(exclude?: string): Promise<string | undefined> {
  for (const n of c.file.groups[0]!.nodes) {
    if (n.id === exclude) continue;
    const r = await scrape(n.metricsAddr!).catch(() => undefined);
    if (r !== undefined && sample(r.text, 'rmq_broker_leader_ready') === 1) return n.id;
  }
  return undefined;
}

const shownLeader = (): Promise<string> => page.$eval('#leader-broker-a', (e) => e.textContent ?? '').catch(() => '');
const chartPath = (): Promise<string> => page.$$eval('#chart svg path', (ps) => ps.map((p) => p.getAttribute('d') ?? '').join('|')).catch(() => '');

describe('the dashboard in headless Chromium', () => {
  it('shows the leader, moving rates and chart, a new leader after a kill, which member holds which queue, a message by key and by time, and runs confirmed admin actions', async () => {
    await page.goto(dashboard.url, { waitUntil: 'load' });
    const leader = (await leaderId())!;
    await until('the page naming the leader', 15_000, async () => (await shownLeader()) === leader);
    expect(await page.$$eval('#groups tr[data-node]', (rows) => rows.length)).toBe(3);

    // A producer runs in the background until told to stop (bounded by MAX_SENDS).
    const producer = new Producer({ namesrvAddr: c.file.namesrv.addr, producerGroup: 'DASH_PG', logger: silent, sendMsgTimeoutMs: 3000 });
    await producer.start();
    const consumer = new PushConsumer({ namesrvAddr: c.file.namesrv.addr, consumerGroup: 'DASH_CG', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silent, handler: () => undefined });
    consumer.subscribe(TOPIC, '*');
    let stop = false;
    let sent = 0;
    // Nothing of the topic was stored before this moment: a lookup by it starts at message 0.
    const sendingFromMs = Date.now();
    const sending = (async () => {
      for (let i = 0; i < MAX_SENDS && !stop; i++) {
        await producer.send({ topic: TOPIC, body: `dashboard body ${i}`, keys: `dash-key-${i}` }).then(() => sent++, () => undefined);
      }
    })();
    try {
      await consumer.start();
      await until('the page showing a produce rate', 20_000, async () => Number(await page.$eval('#produce-rate', (e) => e.textContent)) > 0);
      const pathBefore = await chartPath();
      const pointsBefore = await page.evaluate(() => (window as unknown as { __dashboard: { chartPoints: number } }).__dashboard.chartPoints);
      await until('the chart redrawn with more points', 10_000, async () => (await chartPath()) !== pathBefore && (await page.evaluate(() => (window as unknown as { __dashboard: { chartPoints: number } }).__dashboard.chartPoints)) > pointsBefore);
      expect(await chartPath()).not.toBe('');
      // The consumer group: its member (from the masters' heartbeats) and its lag rows (from the leader's metrics).
      await until('the page listing the consumer group with its member and lag', 30_000, async () =>
        (await page.$eval('#members tr[data-group="DASH_CG"] td:nth-child(2)', (e) => e.textContent).catch(() => '')) === '1'
        && (await page.$$eval('#consumers tr[data-group="DASH_CG"]', (rows) => rows.length)) > 0);
      // Its rebalance state: the one member holds the topic's queues.
      await until('the page showing which queues the member holds', 30_000, async () =>
        (await page.$eval('#assignments tr[data-group="DASH_CG"] td:nth-child(3)', (e) => e.textContent ?? '').catch(() => '')).includes(`${TOPIC} broker-a/0`));

      await killNode(c.file, 'broker-a', leader, 'SIGKILL');
      const killedAt = Date.now();
      await until('the page naming a new leader', 20_000, async () => {
        const shown = await shownLeader();
        return shown !== leader && shown !== 'none' && shown !== '';
      });
      const tookMs = Date.now() - killedAt;
      expect(tookMs).toBeLessThan(15_000);
      expect(await shownLeader()).toBe(await leaderId(leader));
      await until('the killed node shown as down', 10_000, async () => (await page.$eval(`#groups tr[data-node="${leader}"]`, (e) => e.getAttribute('data-role')).catch(() => '')) === 'DOWN');
    } finally {
      stop = true;
      await sending;
      await producer.shutdown();
      await consumer.shutdown();
    }
    expect(sent).toBeGreaterThan(0);

    await page.type('#lookup-topic', TOPIC);
    await page.type('#lookup-key', 'dash-key-0');
    await page.click('#lookup-go');
    await until('the message body shown', 15_000, async () => (await page.$eval('#lookup-results', (e) => e.textContent ?? '')).includes('dashboard body 0'));
    expect(await page.$eval('#lookup-results .body-preview', (e) => e.textContent)).toBe('dashboard body 0');
    // By time: the messages stored from the moment the producer started, earliest first.
    await page.$eval('#lookup-key', (e) => { (e as HTMLInputElement).value = ''; });
    await page.$eval('#lookup-results', (e) => { e.textContent = ''; });
    await page.type('#lookup-time', new Date(sendingFromMs).toISOString());
    await page.click('#lookup-go');
    await until('the messages stored from that time shown', 15_000, async () => (await page.$$eval('#lookup-results .body-preview', (es) => es.length)) > 0);
    expect(await page.$eval('#lookup-results .body-preview', (e) => e.textContent)).toBe('dashboard body 0');

    // The admin actions wait for a confirmation: nothing moves until it is given.
    const before = await shownLeader();
    const target = (await page.$$eval('#groups tr[data-role="FOLLOWER"]', (rows) => rows.map((r) => r.getAttribute('data-node') ?? '')))[0]!;
    await page.click(`#groups tr[data-node="${target}"] button`);
    expect(await page.$eval('#confirm', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await page.$eval('#confirm-text', (e) => e.textContent)).toContain(`to ${target}`);
    expect(await shownLeader()).toBe(before);
    await page.click('#confirm-yes');
    await until('the page naming the transfer target as leader', 20_000, async () => (await shownLeader()) === target);
    await page.type('#new-topic', 'MadeInDashboard');
    await page.click('#create-topic');
    await page.click('#confirm-yes');
    await until('the new topic listed', 20_000, async () => (await page.$$eval('#topics tr[data-topic="MadeInDashboard"]', (rows) => rows.length)) === 1);

    const shot = join(c.root, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(consoleErrors).toEqual([]);
  }, 240_000);
});

