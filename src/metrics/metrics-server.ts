// The HTTP side of metrics: one fastify server per process on metricsPort serving /metrics
// (Prometheus text format from a prom-client registry), /healthz (the process answers) and
// /readyz (the process can serve: what that means is the owner's `ready` check). Brokers and the
// NameServer each start one; nothing here knows what either of them is.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  /** Why not (or what it is), for a person reading the probe. */
  detail: string;
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port (tests); the bound port is in `address`. */
  port: number;
  registry: Registry;
  readiness: () => Readiness;
}

export class MetricsServer {
  private constructor(private readonly app: FastifyInstance, readonly address: string) {}

  static async start(o: MetricsServerOptions): Promise<MetricsServer> {
    const app = Fastify({ logger: false });
    app.get('/metrics', async (_req, reply) => {
      const text = await o.registry.metrics();
      return reply.header('content-type', o.registry.contentType).send(text);
    });
    // The same figures as JSON (prom-client's own form), for tools that read rather than scrape.
    app.get('/metrics.json', async () => o.registry.getMetricsAsJSON());
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      const r = o.readiness();
      return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, detail: r.detail });
    });
    await app.listen({ host: o.host, port: o.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
    return new MetricsServer(app, `${o.host}:${port}`);
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
