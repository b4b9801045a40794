// NameServer metrics: what its route tables hold, read at scrape time, and the route queries it
// answered by outcome (from its route-query hook).
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export interface NamesrvMetricsSource {
  liveBrokers(): number;
  topics(): number;
  /** Per broker group: its registered nodes and whether a master (brokerId 0) is registered, with its Raft term. */
  groups(): Iterable<{ brokerName: string; nodes: number; masterTerm: number | undefined }>;
}

export class NamesrvMetrics {
  readonly registry = new Registry();
  private readonly routeQueries: Counter<'result'>;

  constructor(source: NamesrvMetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'rmq_namesrv_' });
    new Gauge({ name: 'rmq_namesrv_live_brokers', help: 'Broker nodes that registered within the expiry time', registers, collect() { this.set(source.liveBrokers()); } });
    new Gauge({ name: 'rmq_namesrv_topics', help: 'Topics with a route', registers, collect() { this.set(source.topics()); } });
    const perGroup = (name: string, help: string, read: (g: { nodes: number; masterTerm: number | undefined }) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['broker_group'],
        registers,
        collect() {
          this.reset();
          for (const g of source.groups()) {
            const v = read(g);
            if (v !== undefined) this.set({ broker_group: g.brokerName }, v);
          }
        },
      });
    };
    perGroup('rmq_namesrv_group_nodes', 'Registered nodes of a broker group', (g) => g.nodes);
    perGroup('rmq_namesrv_group_has_master', '1 when the broker group has a registered master (its Raft leader)', (g) => (g.masterTerm === undefined ? 0 : 1));
    perGroup('rmq_namesrv_group_master_term', 'Raft term the registered master of a broker group claimed', (g) => g.masterTerm);
    this.routeQueries = new Counter({ name: 'rmq_namesrv_route_queries_total', help: 'Topic route queries answered, by result (found, or not_found)', labelNames: ['result'], registers });
  }

  routeQuery(found: boolean): void {
    this.routeQueries.inc({ result: found ? 'found' : 'not_found' });
  }
}
