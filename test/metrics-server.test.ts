// The metrics HTTP endpoint alone: the text format with its content type, the JSON form, and the
// probes (/readyz follows the owner's readiness, with its reason in the body).
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsServer, type Readiness } from '../src/metrics/metrics-server.js';

let server: MetricsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('MetricsServer', () => {
  it('serves the registry as Prometheus text and JSON, and probes that follow the readiness check', async () => {
    const registry = new Registry();
    new Counter({ name: 'rmq_test_things_total', help: 'things', registers: [registry] }).inc(3);
    let readiness: Readiness = { ready: false, detail: 'follower that knows no leader' };
    server = await MetricsServer.start({ host: '127.0.0.1', port: 0, registry, readiness: () => readiness });
    const base = `http://${server.address}`;

    const text = await fetch(`${base}/metrics`);
    expect(text.headers.get('content-type')).toContain('text/plain');
    expect(await text.text()).toMatch(/^rmq_test_things_total 3$/m);
    const json = (await (await fetch(`${base}/metrics.json`)).json()) as { name: string; values: { value: number }[] }[];
    expect(json.find((m) => m.name === 'rmq_test_things_total')?.values[0]?.value).toBe(3);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, detail: 'follower that knows no leader' });
    readiness = { ready: true, detail: 'leader of term 2, taking writes' };
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
