// Checks a finished run folder without the harness: `node dist/jepsen-like/check-run.js <runDir>`
// reads <runDir>/history.jsonl, writes results.json and report.html next to it, prints a
// one-screen summary, and exits 0 only when every safety checker passed (1: anomalies found,
// 2: the run folder or its history could not be read). The harness CLI calls checkRun() too.
import { renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkAll, SAFETY_CHECKERS, type CheckResults } from './checker/check-all.js';
import { readHistory } from './history/reader.js';
import { writeReport } from './report/write-report.js';

export const HISTORY_FILE = 'history.jsonl';
export const RESULTS_FILE = 'results.json';

export interface CheckRunOutcome {
  results: CheckResults;
  resultsPath: string;
  reportPath: string;
}

export async function checkRun(runDir: string): Promise<CheckRunOutcome> {
  const history = await readHistory(join(runDir, HISTORY_FILE));
  const results = checkAll(history);
  const resultsPath = join(runDir, RESULTS_FILE);
  writeFileSync(`${resultsPath}.tmp`, JSON.stringify(results, null, 2) + '\n');
  renameSync(`${resultsPath}.tmp`, resultsPath);
  const reportPath = await writeReport(runDir, history, results);
  return { results, resultsPath, reportPath };
}

/** The lines a person reads at the end of a run. */
export function summaryLines(results: CheckResults): string[] {
  const s = results.stats;
  const a = results.availability;
  const lines = [
    `${results.valid ? 'VALID' : 'INVALID'}: ${s.ops} ops (ok ${s.ok}, fail ${s.fail}, info ${s.info}, pending ${s.pending})`,
    ...SAFETY_CHECKERS.map((name) => `  ${results[name].valid ? 'pass' : 'FAIL'}  ${name}: ${results[name].count}`),
    `  ok sends ${a.sendsOk}/${a.sendsCompleted}, longest unavailability ${a.longestUnavailabilityMs.toFixed(0)} ms`,
  ];
  if (!results.divergence.checked) lines.push('  note: no final-state record, replica divergence not checked');
  return lines;
}

async function main(argv: readonly string[]): Promise<number> {
  const runDir = argv[0];
  if (runDir === undefined || argv.length !== 1) {
    process.stderr.write('usage: node dist/jepsen-like/check-run.js <runDir>\n');
    return 2;
  }
  try {
    const { results, resultsPath, reportPath } = await checkRun(resolve(runDir));
    process.stdout.write([...summaryLines(results), `results: ${resultsPath}`, `report: ${reportPath}`, ''].join('\n'));
    return results.valid ? 0 : 1;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`check-run failed${typeof code === 'string' ? ` (${code})` : ''}: ${(err as Error).message}\n`);
    return 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
