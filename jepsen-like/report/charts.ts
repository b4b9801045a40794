// Vega-Lite specs for the report's two plots (throughput, latency), each with the fault windows
// shaded behind the data, compiled to Vega and rendered to SVG in this process, so the page
// needs no script and fetches nothing.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { ChartData } from './chart-data.js';

const WIDTH_PX = 900;
const HEIGHT_PX = 240;
const OUTCOME_COLORS = { domain: ['ok', 'fail', 'info'], range: ['#2e7d32', '#c62828', '#ef6c00'] };

type Spec = vl.TopLevelSpec;
type Layer = Record<string, unknown>;

function faultLayer(data: ChartData): Layer[] {
  if (data.faults.length === 0) return [];
  return [
    {
      data: { values: data.faults },
      mark: { type: 'rect', opacity: 0.2 },
      encoding: {
        x: { field: 'startS', type: 'quantitative' },
        x2: { field: 'stopS' },
        color: { field: 'fault', type: 'nominal', title: 'fault window', scale: { scheme: 'category10' } },
      },
    },
  ];
}

function layered(title: string, layers: Layer[]): Spec {
  return {
    title,
    width: WIDTH_PX,
    height: HEIGHT_PX,
    background: 'white',
    layer: layers,
    // The fault shading and the outcome series each get their own color legend.
    resolve: { scale: { color: 'independent' } },
  } as unknown as Spec;
}

export function throughputSpec(data: ChartData): Spec {
  return layered(`Sends completed per second (${data.bucketS} s buckets)`, [
    ...faultLayer(data),
    {
      data: { values: data.throughput },
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'timeS', type: 'quantitative', title: 'time since start (s)', scale: { domain: [0, Math.max(1, data.durationS)] } },
        y: { field: 'ratePerS', type: 'quantitative', title: 'sends/s' },
        color: { field: 'outcome', type: 'nominal', title: 'outcome', scale: OUTCOME_COLORS },
      },
    },
  ]);
}

export function latencySpec(data: ChartData): Spec {
  const shown = data.latency.length < data.latencyTotal ? ` (slowest of each group: ${data.latency.length} of ${data.latencyTotal})` : '';
  return layered(`Send latency by invoke time${shown}`, [
    ...faultLayer(data),
    {
      data: { values: data.latency },
      mark: { type: 'point', filled: true, size: 12, opacity: 0.7 },
      encoding: {
        x: { field: 'timeS', type: 'quantitative', title: 'time since start (s)', scale: { domain: [0, Math.max(1, data.durationS)] } },
        y: { field: 'latencyMs', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log' } },
        color: { field: 'outcome', type: 'nominal', title: 'outcome', scale: OUTCOME_COLORS },
      },
    },
  ]);
}

/** Compiles a Vega-Lite spec and renders it headless to an SVG string. */
export async function renderSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
