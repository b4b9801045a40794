// The report and the check-run entry: an HTML page with inline SVG plots and the verdict table,
// escaped, self-contained; check-run writes results.json and report.html and exits 0 only when
// the history is valid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkRun } from '../jepsen-like/check-run.js';
import { checkAll } from '../jepsen-like/checker/check-all.js';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import type { HistoryRecorder } from '../jepsen-like/history/recorder.js';
import { HistoryWriter } from '../jepsen-like/history/writer.js';
import { chartData, MAX_LATENCY_POINTS } from '../jepsen-like/report/chart-data.js';
import { escapeHtml } from '../jepsen-like/report/escape-html.js';
import { writeReport } from '../jepsen-like/report/write-report.js';

const root = new URL('..', import.meta.url).pathname;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jepsen-report-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A 6-second run: sends every 100 ms, a partition from 2 s to 4 s during which sends time out. */
function record(r: HistoryRecorder, at: (ms: number) => void, options: { loseValue?: number; faultName?: string } = {}): void {
  const faultName = options.faultName ?? 'partition-halves';
  let offset = 0;
  const readBack: { queue: string; offset: number; value: number }[] = [];
  for (let value = 0; value < 60; value++) {
    const t = value * 100;
    if (t === 2000) {
      at(t);
      r.nemesis('start', faultName, { minority: ['n2'] });
    }
    if (t === 4000) {
      at(t);
      r.nemesis('stop', faultName);
    }
    at(t + 1);
    r.invokeSend(0, { value, queue: 'jepsen/0' });
    const faulted = t >= 2000 && t < 4000;
    at(t + (faulted ? 90 : 3 + (value % 7)));
    if (faulted) r.completeSend(0, 'info', { value, queue: 'jepsen/0' }, { error: 'timeout <3000 ms>' });
    else {
      r.completeSend(0, 'ok', { value, queue: 'jepsen/0', offset });
      if (value !== options.loseValue) readBack.push({ queue: 'jepsen/0', offset, value });
      offset++;
    }
  }
  at(6100);
  r.invokeRead(9, 'drain');
  at(6200);
  r.completeRead(9, 'drain', 'ok', readBack);
  const replica = (node: string) => ({ node, commitIndex: offset, logHash: 'h', consumeQueueHashes: { 'jepsen/0': 'c' } });
  r.finalState([replica('n0'), replica('n1'), replica('n2')]);
}

describe('the HTML report', () => {
  it('holds inline SVG plots, the verdict table with a red row for the failing checker, and no script or fetch', async () => {
    const b = new HistoryBuilder();
    record(b, (ms) => b.at(ms), { loseValue: 7, faultName: 'partition <b>halves</b>' });
    const history = b.history();
    const results = checkAll(history);
    expect(results.valid).toBe(false);
    const path = await writeReport(dir, history, results);
    const html = readFileSync(path, 'utf8');
    expect(path).toBe(join(dir, 'report.html'));
    expect(html.match(/<svg/g)?.length).toBe(2);
    expect(html).toContain('<table id="verdicts">');
    expect(html).toMatch(/<tr><td>lost \(acknowledged, never read\)<\/td><td class="fail">FAIL<\/td><td>1<\/td>/);
    expect(html).toMatch(/<tr><td>duplicated[^<]*<\/td><td class="pass">PASS<\/td>/);
    expect(html).toContain('INVALID');
    // The fault window is drawn (a rect mark) and its name is escaped everywhere it appears.
    expect(html).toContain('partition &lt;b&gt;halves&lt;/b&gt;');
    expect(html).not.toContain('<b>halves</b>');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('still renders both plots for a history with no sends and a fault never stopped', async () => {
    const b = new HistoryBuilder();
    b.at(5).nemesis('start', 'pause-leader');
    const history = b.history();
    const html = readFileSync(await writeReport(dir, history, checkAll(history)), 'utf8');
    expect(html.match(/<svg/g)?.length).toBe(2);
    expect(html).toContain('<td>pause-leader</td><td>0.0</td><td>never</td>');
  });

  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('bounds the latency series and keeps the slowest send of each group', () => {
    const b = new HistoryBuilder();
    const total = MAX_LATENCY_POINTS * 2 + 1;
    for (let value = 0; value < total; value++) {
      b.at(value);
      b.invokeSend(0, { value });
      b.at(value + (value === 1001 ? 0.9 : 0.5));
      b.completeSend(0, 'fail', { value });
    }
    const data = chartData(b.history());
    expect(data.latencyTotal).toBe(total);
    expect(data.latency.length).toBeLessThanOrEqual(MAX_LATENCY_POINTS);
    expect(Math.max(...data.latency.map((p) => p.latencyMs))).toBeCloseTo(0.9, 9);
    expect(data.throughput.filter((row) => row.outcome === 'fail').reduce((n, row) => n + row.ratePerS * data.bucketS, 0)).toBe(total);
  });
});

describe('check-run', () => {
  function writeRun(options: { loseValue?: number }): void {
    let nowMs = 0;
    const w = HistoryWriter.open(join(dir, 'history.jsonl'), { clockMs: () => nowMs, flushIntervalMs: 0 });
    try {
      record(w, (ms) => (nowMs = ms), options);
    } finally {
      w.close();
    }
  }

  it('writes results.json and report.html for a valid run', async () => {
    writeRun({});
    const { results } = await checkRun(dir);
    expect(results.valid).toBe(true);
    const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(saved.valid).toBe(true);
    expect(saved.stats).toMatchObject({ ops: 61, ok: 41, info: 20, fail: 0 });
    // No ok inside the window; the first ok after it is value 40's, at 4000 + 3 + 40 % 7 = 4008.
    expect(saved.availability.faults).toEqual([{ fault: 'partition-halves', startMs: 2000, stopMs: 4000, longestGapMs: 2008 }]);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });

  it('as a process exits 1 on an invalid run, 0 on a valid one, 2 on a malformed history', () => {
    const script = join(root, 'dist/jepsen-like/check-run.js');
    expect(existsSync(script), 'build first: npx tsc -p .').toBe(true);
    const run = () => spawnSync(process.execPath, [script, dir], { encoding: 'utf8', timeout: 30_000 });

    writeRun({ loseValue: 3 });
    const invalid = run();
    expect(invalid.status).toBe(1);
    expect(invalid.stdout).toMatch(/INVALID/);
    expect(invalid.stdout).toMatch(/FAIL {2}lost: 1/);
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).lost.examples[0].value).toBe(3);

    rmSync(join(dir, 'history.jsonl'));
    writeRun({});
    expect(run().status).toBe(0);

    rmSync(join(dir, 'history.jsonl'));
    const malformed = spawnSync(process.execPath, [script, join(dir, 'missing')], { encoding: 'utf8', timeout: 30_000 });
    expect(malformed.status).toBe(2);
  });
});
