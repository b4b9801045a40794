// The dashboard's live chart: produce and consume rates over the last minutes, as a Vega-Lite
// spec whose data the page replaces at each poll (named data source "rates", long format).
import type { TopLevelSpec } from 'vega-lite';

export function ratesChartSpec(): TopLevelSpec {
  return {
    width: 'container',
    height: 220,
    background: 'white',
    data: { name: 'rates' },
    mark: { type: 'line', interpolate: 'monotone' },
    encoding: {
      x: { field: 't', type: 'temporal', title: 'time', axis: { format: '%H:%M:%S', labelOverlap: true } },
      y: { field: 'perSec', type: 'quantitative', title: 'messages/s' },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['produce', 'consume'], range: ['#1565c0', '#2e7d32'] } },
    },
  } as TopLevelSpec;
}
