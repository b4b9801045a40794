// The report page: verdict first (a table of the checkers, green or red), then stats,
// availability, the two plots, and each checker's examples. Self-contained: inline CSS and
// inline SVG, no script, no fetch. Every string from the run passes through escapeHtml; the SVG
// comes from vega's renderer, which escapes the text it draws.
import { SAFETY_CHECKERS, type CheckResults, type SafetyChecker } from '../checker/check-all.js';
import { escapeHtml } from './escape-html.js';

export interface PageInput {
  runDir: string;
  results: CheckResults;
  throughputSvg: string;
  latencySvg: string;
}

const LABELS: Record<SafetyChecker, string> = {
  lost: 'lost (acknowledged, never read)',
  unexpected: 'unexpected (read, never sent / sent and failed)',
  duplicated: 'duplicated (one value at several positions)',
  inconsistentOffsets: 'inconsistent offsets',
  nonmonotonic: 'nonmonotonic reads',
  skipped: 'skipped reads',
  divergence: 'replica divergence',
  transactions: 'transactions (visible rollback, lost or double commit)',
};

const CSS = `
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}
th,td{border:1px solid #ccc;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.pass{background:#c8e6c9;color:#1b5e20;font-weight:bold}
.fail{background:#ffcdd2;color:#b71c1c;font-weight:bold}
.note{background:#fff9c4;color:#6d5d00;font-weight:bold}
.verdict{padding:2px 10px;border-radius:4px}
pre{background:#f7f7f7;padding:8px;max-height:320px;overflow:auto}
`;

function detailOf(name: SafetyChecker, r: CheckResults): string {
  switch (name) {
    case 'lost':
      return `${r.lost.acknowledgedCount} acknowledged values`;
    case 'unexpected':
      return `never sent: ${r.unexpected.neverSentCount}; failed but read: ${r.unexpected.failedButReadCount}`;
    case 'duplicated':
      return `explained by retries: ${r.duplicated.explainedCount}; unexplained: ${r.duplicated.unexplainedCount}`;
    case 'inconsistentOffsets':
      return Object.entries(r.inconsistentOffsets.byKind).map(([k, n]) => `${k}: ${n}`).join('; ');
    case 'nonmonotonic':
      return 'within one (process, queue) assignment epoch';
    case 'skipped':
      return `offsets skipped: ${r.skipped.offsetsSkipped}`;
    case 'divergence':
      return r.divergence.checked
        ? `${r.divergence.replicas} replicas in ${r.divergence.groups} group(s); not compared: ${r.divergence.notCompared.join(', ') || 'none'}`
        : 'no final-state record in the history';
    case 'transactions':
      return `${r.transactions.transactions} transactions; visible rollbacks: ${r.transactions.visibleRollbacks}; lost commits: ${r.transactions.lostCommits}; double commits: ${r.transactions.doubleCommits}`;
  }
}

function verdictCell(valid: boolean, note?: string): string {
  if (note !== undefined) return `<td class="note">${escapeHtml(note)}</td>`;
  return valid ? '<td class="pass">PASS</td>' : '<td class="fail">FAIL</td>';
}

function verdictTable(r: CheckResults): string {
  const rows = SAFETY_CHECKERS.map((name) => {
    const result = r[name];
    const note = name === 'divergence' && !r.divergence.checked ? 'NOT CHECKED' : undefined;
    return `<tr><td>${escapeHtml(LABELS[name])}</td>${verdictCell(result.valid, note)}<td>${result.count}</td><td>${escapeHtml(detailOf(name, r))}</td></tr>`;
  });
  return `<table id="verdicts"><tr><th>checker</th><th>verdict</th><th>count</th><th>details</th></tr>${rows.join('')}</table>`;
}

function statsTable(r: CheckResults): string {
  const s = r.stats;
  const rows = Object.entries(s.byF).map(
    ([f, c]) => `<tr><td>${escapeHtml(f)}</td><td>${c.invoke}</td><td>${c.ok}</td><td>${c.fail}</td><td>${c.info}</td><td>${c.pending}</td></tr>`,
  );
  rows.push(`<tr><th>all</th><th>${s.ops}</th><th>${s.ok}</th><th>${s.fail}</th><th>${s.info}</th><th>${s.pending}</th></tr>`);
  return `<table id="stats"><tr><th>f</th><th>invoked</th><th>ok</th><th>fail</th><th>info</th><th>pending</th></tr>${rows.join('')}</table>
<p>${s.nemesisEvents} nemesis events over ${(s.durationMs / 1000).toFixed(1)} s.</p>`;
}

function availabilitySection(r: CheckResults): string {
  const a = r.availability;
  const fraction = a.okFraction === null ? 'n/a' : `${(a.okFraction * 100).toFixed(2)} %`;
  const from = a.longestUnavailabilityFromMs === null ? '' : ` from ${(a.longestUnavailabilityFromMs / 1000).toFixed(1)} s`;
  const rows = a.faults.map(
    (w) =>
      `<tr><td>${escapeHtml(w.fault)}</td><td>${(w.startMs / 1000).toFixed(1)}</td><td>${w.stopMs === null ? 'never' : (w.stopMs / 1000).toFixed(1)}</td><td>${w.longestGapMs.toFixed(0)}</td></tr>`,
  );
  return `<p>ok sends: ${a.sendsOk} of ${a.sendsCompleted} completed (${fraction}); longest stretch without an ok send: ${a.longestUnavailabilityMs.toFixed(0)} ms${from}.</p>
<table id="faults"><tr><th>fault</th><th>start (s)</th><th>stop (s)</th><th>longest gap without ok send (ms)</th></tr>${rows.join('')}</table>`;
}

function examplesSection(r: CheckResults): string {
  return SAFETY_CHECKERS.filter((name) => r[name].examples.length > 0)
    .map((name) => `<details><summary>${escapeHtml(LABELS[name])}: ${r[name].count}</summary><pre>${escapeHtml(JSON.stringify(r[name].examples, null, 2))}</pre></details>`)
    .join('\n');
}

export function reportHtml(input: PageInput): string {
  const r = input.results;
  const verdict = r.valid ? '<span class="verdict pass">VALID</span>' : '<span class="verdict fail">INVALID</span>';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>jepsen-like run: ${r.valid ? 'valid' : 'INVALID'}</title><style>${CSS}</style></head>
<body>
<h1>jepsen-like run ${verdict}</h1>
<p>Run folder: <code>${escapeHtml(input.runDir)}</code></p>
<h2>Checker verdicts</h2>
${verdictTable(r)}
<h2>Operations</h2>
${statsTable(r)}
<h2>Availability</h2>
${availabilitySection(r)}
<h2>Throughput</h2>
<figure>${input.throughputSvg}</figure>
<h2>Latency</h2>
<figure>${input.latencySvg}</figure>
<h2>Examples</h2>
${examplesSection(r) || '<p>No anomalies.</p>'}
</body>
</html>
`;
}
