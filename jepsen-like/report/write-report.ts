// Writes <runDir>/report.html for a checked history: derives the plot data, renders both plots
// to SVG, and assembles the page. The write goes through a temporary file and a rename so a
// reader never sees half a page.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResults } from '../checker/check-all.js';
import type { History } from '../history/types.js';
import { chartData } from './chart-data.js';
import { latencySpec, renderSvg, throughputSpec } from './charts.js';
import { reportHtml } from './html.js';

export const REPORT_FILE = 'report.html';

/** Returns the path of the report written. */
export async function writeReport(runDir: string, history: History, results: CheckResults): Promise<string> {
  const data = chartData(history);
  const throughputSvg = await renderSvg(throughputSpec(data));
  const latencySvg = await renderSvg(latencySpec(data));
  const html = reportHtml({ runDir, results, throughputSvg, latencySvg });
  const path = join(runDir, REPORT_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, path);
  return path;
}
