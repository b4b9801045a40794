// `rmq dashboard`: a fastify server with one page (static/) and a small JSON API the page polls.
// Everything it shows comes through the SDK's Admin (cluster, Raft status, topics, offsets,
// message lookup, the admin actions) and the nodes' metrics endpoints (rates, latency, consumer
// lag); it never reaches into a broker. The chart is drawn by Vega in the page from a Vega-Lite
// spec compiled here.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import * as vl from 'vega-lite';
import { Admin, PullConsumer } from '../client/index.js';
import { ClusterView, type GroupView } from './cluster-view.js';
import { RateSampler } from './rate-sampler.js';
import { lookUpMessages } from './message-lookup.js';
import { ratesChartSpec } from './rates-chart.js';

export interface DashboardOptions {
  namesrvAddr: string;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** How often rates are sampled (default 1000 ms). */
  sampleIntervalMs?: number;
}

/** Topics whose status the page lists at most (system topics are left out). */
const MAX_TOPICS_SHOWN = 100;
/** A cluster read older than this is read again when the page asks. */
const OVERVIEW_MAX_AGE_MS = 500;

const STATIC_DIR = staticDir();
const PAGE_FILES: Record<string, string> = {
  '/': 'index.html',
  '/dashboard.js': 'dashboard.js',
  '/dashboard.css': 'dashboard.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export class Dashboard {
  private constructor(
    private readonly app: FastifyInstance,
    private readonly admin: Admin,
    private readonly reader: PullConsumer,
    private readonly sampler: RateSampler,
    readonly url: string,
  ) {}

  static async start(o: DashboardOptions): Promise<Dashboard> {
    const admin = new Admin({ namesrvAddr: o.namesrvAddr, requestTimeoutMs: 1500 });
    await admin.start();
    // Reads messages by queue offset for the lookup by time; it commits nothing.
    const reader = new PullConsumer({ namesrvAddr: o.namesrvAddr, requestTimeoutMs: 1500, consumerGroup: 'TOOLS_CONSUMER' });
    await reader.start();
    const view = new ClusterView(admin);
    let overview: { atMs: number; groups: Promise<GroupView[]> } | undefined;
    const readOverview = (): Promise<GroupView[]> => {
      if (overview === undefined || Date.now() - overview.atMs > OVERVIEW_MAX_AGE_MS) overview = { atMs: Date.now(), groups: view.read() };
      return overview.groups;
    };
    let metricsAddrs: string[] = [];
    const sampler = new RateSampler(() => metricsAddrs, o.sampleIntervalMs ?? 1000);
    // The sampler reads the endpoints the latest cluster read names.
    const refreshAddrs = async (): Promise<void> => {
      const groups = await readOverview().catch(() => undefined);
      if (groups !== undefined) metricsAddrs = groups.flatMap((g) => g.nodes.filter((n) => n.liveness === 'up' && n.metricsAddr !== undefined).map((n) => n.metricsAddr!));
    };
    const app = Fastify({ logger: false });
    for (const [path, file] of Object.entries(PAGE_FILES)) {
      const type = TYPES[file.slice(file.lastIndexOf('.') + 1)]!;
      app.get(path, async (_req, reply) => reply.type(type).send(readFileSync(join(STATIC_DIR, file))));
    }
    app.get('/vendor/vega.min.js', async (_req, reply) => reply.type(TYPES['js']!).send(readFileSync(vegaBrowserBuild())));
    app.get('/api/chart-spec', async () => vl.compile(ratesChartSpec()).spec);
    // Reads answer 200 with an `error` field when the cluster cannot be read, so the page shows
    // why instead of the browser logging a failed request.
    let lastGroups: GroupView[] = [];
    app.get('/api/overview', async () => {
      await refreshAddrs();
      try {
        lastGroups = await readOverview();
        return { namesrvAddr: o.namesrvAddr, groups: lastGroups };
      } catch (err) {
        return { namesrvAddr: o.namesrvAddr, groups: lastGroups, error: (err as Error).message };
      }
    });
    app.get('/api/rates', async () => ({ points: sampler.points() }));
    app.get('/api/topics', async () => {
      const names = await admin.listTopics().catch(() => undefined);
      if (names === undefined) return { topics: [], error: 'the NameServer did not list the topics' };
      return listTopics(names);
    });
    const listTopics = async (all: string[]): Promise<{ topics: { topic: string; queues: number; maxOffsets: number }[] }> => {
      const names = all.filter((t) => !isSystemTopic(t)).sort().slice(0, MAX_TOPICS_SHOWN);
      const topics = await Promise.all(names.map(async (topic) => {
        const queues = await admin.topicStatus(topic).catch(() => []);
        return { topic, queues: queues.length, maxOffsets: queues.reduce((s, q) => s + q.maxOffset, 0) };
      }));
      return { topics };
    };
    app.get('/api/consumers', async () => {
      const lag = sampler.consumerLag();
      const names = [...new Set(lag.map((r) => r.consumerGroup))].filter((g) => !g.startsWith('%')).sort();
      const groups = await Promise.all(names.map(async (group) => ({ group, members: await admin.consumerIds(group).catch(() => []), assignments: await assignmentsOf(admin, group) })));
      return { lag, groups };
    });
    app.get<{ Querystring: { topic?: string; key?: string; id?: string; time?: string } }>('/api/message', async (req, reply) => {
      const { topic, key, id, time } = req.query;
      if (!key && !id && !time) return reply.code(400).send({ error: 'give a message id, or a topic and a key or a time' });
      try {
        const found = await lookUpMessages(admin, reader, sampler.consumerLag(), { ...(topic ? { topic } : {}), ...(key ? { key } : {}), ...(id ? { id } : {}), ...(time ? { time } : {}) });
        return { messages: found };
      } catch (err) {
        return { messages: [], error: (err as Error).message };
      }
    });
    app.post<{ Body: { brokerName?: string; targetNodeId?: string; confirm?: boolean } }>('/api/transfer-leader', async (req, reply) => {
      const b = req.body ?? {};
      if (b.confirm !== true) return reply.code(400).send({ error: 'not confirmed: send confirm: true' });
      if (typeof b.brokerName !== 'string') return reply.code(400).send({ error: 'brokerName is required' });
      try {
        const r = await admin.transferLeader(b.brokerName, b.targetNodeId || undefined);
        overview = undefined;
        return r;
      } catch (err) {
        return reply.code(409).send({ error: (err as Error).message });
      }
    });
    app.post<{ Body: { topic?: string; queues?: number; confirm?: boolean } }>('/api/topics', async (req, reply) => {
      const b = req.body ?? {};
      if (b.confirm !== true) return reply.code(400).send({ error: 'not confirmed: send confirm: true' });
      if (typeof b.topic !== 'string' || b.topic === '') return reply.code(400).send({ error: 'topic is required' });
      try {
        return { createdOn: await admin.createTopic(b.topic, { writeQueueNums: Number(b.queues ?? 8) }) };
      } catch (err) {
        return reply.code(409).send({ error: (err as Error).message });
      }
    });
    const host = o.host ?? '127.0.0.1';
    try {
      await app.listen({ host, port: o.port });
    } catch (err) {
      await admin.shutdown();
      await reader.shutdown();
      throw err;
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
    await refreshAddrs();
    sampler.start();
    return new Dashboard(app, admin, reader, sampler, `http://${host}:${port}/`);
  }

  async close(): Promise<void> {
    this.sampler.stop();
    await this.app.close();
    await this.admin.shutdown();
    await this.reader.shutdown();
  }
}


/**
 * The group's rebalance state: which online member holds which queue, as each member reports it
 * (GET_CONSUMER_RUNNING_INFO); a member that cannot report (ali-ons) is listed with the reason.
 */
async function assignmentsOf(admin: Admin, group: string): Promise<{ clientId: string; queues: { topic: string; brokerName: string; queueId: number }[]; error?: string }[]> {
  const members = await admin.consumerStatus(group).catch(() => []);
  return members.map((m) => ({
    clientId: m.clientId,
    queues: (m.info?.mqTable ?? []).filter((q) => !q.dropped).map((q) => ({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId })).sort((a, b) => (a.topic + a.brokerName).localeCompare(b.topic + b.brokerName) || a.queueId - b.queueId),
    ...(m.error !== undefined ? { error: m.error } : {}),
  }));
}

function isSystemTopic(topic: string): boolean {
  return topic === 'TBW102' || topic.startsWith('%RETRY%') || topic.startsWith('%DLQ%') || topic.startsWith('SCHEDULE_TOPIC') || topic.startsWith('RMQ_SYS_') || topic === 'SELF_TEST_TOPIC' || topic.startsWith('rmq_sys_');
}

/** The page's files: beside this module in the sources, or under src/ when this runs from dist/. */
function staticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromDist = join(here, '..', '..', '..', 'src', 'dashboard', 'static');
  const local = join(here, 'static');
  try {
    readFileSync(join(local, 'index.html'));
    return local;
  } catch {
    return fromDist;
  }
}

/** Vega's browser build, from the installed package (no network, no copy in the repository). */
function vegaBrowserBuild(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('vega')), 'vega.min.js');
}
