// Store and broker metrics of one broker node: traffic per topic (counted by the broker as it
// happens, through the methods below), and the state read at scrape time from a source the
// broker hands in (held pulls, dispatch lag, ConsumeQueue ends, disk, retention, consumer lag).
// Names follow Prometheus' conventions: units last, counters end in _total.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface QueueEnd {
  topic: string;
  queueId: number;
  maxOffset: number;
}

export interface ConsumerLag {
  consumerGroup: string;
  topic: string;
  queueId: number;
  /** Max offset of the queue minus the group's committed offset (never negative). */
  lag: number;
}

export interface BrokerMetricsSource {
  heldPulls(): number;
  /** Commit index minus dispatched index: committed entries not yet in the ConsumeQueues. */
  dispatchLagEntries(): number;
  queueEnds(): Iterable<QueueEnd>;
  /** Highest used ratio (0..1) of the store's file systems at the last disk check. */
  diskUsedRatio(): number;
  /** True while the leader is ready to take writes (its announcement is applied). */
  leaderReady(): boolean;
  retention(): { runs: number; deletedSegments: number };
  /** ACL refusals by reason, when ACL is on. */
  aclRefusals(): Readonly<Record<string, number>> | undefined;
  /** Lag per consumer group and queue; the broker computes it on the leader only (see docs/metrics.md). */
  consumerLag(): Iterable<ConsumerLag>;
}

/** From 0.5 ms to 10 s: a send waits for a quorum commit, and for a new leader in a failover. */
const SEND_LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class BrokerMetrics {
  private readonly putMessages: Counter<'topic'>;
  private readonly putBytes: Counter<'topic'>;
  private readonly gotMessages: Counter<'topic'>;
  private readonly gotBytes: Counter<'topic'>;
  private readonly sendLatency: Histogram<'result'>;
  private readonly forwardedRequests: Counter<'request'>;
  private readonly refusedRequests: Counter<'request' | 'code'>;
  /** Puts not yet handed to putMessages and putBytes, per topic. */
  private readonly pendingPuts = new Map<string, { messages: number; bytes: number }>();

  constructor(registry: Registry, source: BrokerMetricsSource) {
    const registers = [registry];
    // Every stored put is tallied in a plain map and handed to the counters when scraped: a
    // prom-client inc with labels builds a label object and a hash string per call.
    const flushPuts = () => this.flushPuts();
    this.putMessages = new Counter({ name: 'rmq_messages_put_total', help: 'Messages stored through this node (committed and dispatched), per topic', labelNames: ['topic'], registers, collect: flushPuts });
    this.putBytes = new Counter({ name: 'rmq_message_bytes_put_total', help: 'Bytes of stored message records, per topic', labelNames: ['topic'], registers, collect: flushPuts });
    this.gotMessages = new Counter({ name: 'rmq_messages_got_total', help: 'Messages this node returned to pulls, per topic', labelNames: ['topic'], registers });
    this.gotBytes = new Counter({ name: 'rmq_message_bytes_got_total', help: 'Bytes of message records this node returned to pulls, per topic', labelNames: ['topic'], registers });
    this.sendLatency = new Histogram({ name: 'rmq_send_duration_seconds', help: 'Time from a send request\'s arrival to its answer, by result (ok, or the response code\'s name)', labelNames: ['result'], buckets: SEND_LATENCY_BUCKETS_S, registers });
    this.forwardedRequests = new Counter({ name: 'rmq_forwarded_requests_total', help: 'Write requests this follower relayed to the leader, by request code', labelNames: ['request'], registers });
    this.refusedRequests = new Counter({ name: 'rmq_requests_refused_total', help: 'Requests answered with an error code, by request code and response code name', labelNames: ['request', 'code'], registers });
    new Gauge({ name: 'rmq_pulls_held', help: 'Long-polling pulls held on this node now', registers, collect() { this.set(source.heldPulls()); } });
    new Gauge({ name: 'rmq_dispatch_lag_entries', help: 'Committed entries not yet dispatched to the ConsumeQueues', registers, collect() { this.set(source.dispatchLagEntries()); } });
    new Gauge({ name: 'rmq_disk_used_ratio', help: 'Highest used ratio (0..1) of the store\'s file systems at the last disk check', registers, collect() { this.set(source.diskUsedRatio()); } });
    new Gauge({ name: 'rmq_broker_leader_ready', help: '1 when this node is the ready leader (master) taking writes', registers, collect() { this.set(source.leaderReady() ? 1 : 0); } });
    new Gauge({
      name: 'rmq_consume_queue_max_offset',
      help: 'Next queue offset (messages ever stored) of each ConsumeQueue on this node',
      labelNames: ['topic', 'queue'],
      registers,
      collect() {
        this.reset();
        for (const q of source.queueEnds()) this.set({ topic: q.topic, queue: String(q.queueId) }, q.maxOffset);
      },
    });
    new Gauge({
      name: 'rmq_consumer_lag_messages',
      help: 'Messages a consumer group has not committed yet, per queue (queue max offset minus committed offset); leader only',
      labelNames: ['consumer_group', 'topic', 'queue'],
      registers,
      collect() {
        this.reset();
        for (const l of source.consumerLag()) this.set({ consumer_group: l.consumerGroup, topic: l.topic, queue: String(l.queueId) }, l.lag);
      },
    });
    new Counter({ name: 'rmq_retention_runs_total', help: 'Retention runs on this node (scheduled and asked for)', registers, collect() { this.reset(); this.inc(source.retention().runs); } });
    new Counter({ name: 'rmq_retention_deleted_segments_total', help: 'Log segments retention deleted on this node', registers, collect() { this.reset(); this.inc(source.retention().deletedSegments); } });
    new Counter({
      name: 'rmq_acl_refusals_total',
      help: 'Requests the ACL check refused, by reason (present when aclEnable=true)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(source.aclRefusals() ?? {})) this.inc({ reason }, n);
      },
    });
  }

  /** Records stored (committed and dispatched) for `topic`. */
  put(topic: string, messages: number, bytes: number): void {
    const t = this.pendingPuts.get(topic);
    if (t === undefined) this.pendingPuts.set(topic, { messages, bytes });
    else {
      t.messages += messages;
      t.bytes += bytes;
    }
  }

  /** Adds the puts tallied since the last scrape to the counters (the map keeps one entry per topic seen). */
  private flushPuts(): void {
    for (const [topic, t] of this.pendingPuts) {
      if (t.messages === 0 && t.bytes === 0) continue;
      this.putMessages.inc({ topic }, t.messages);
      this.putBytes.inc({ topic }, t.bytes);
      t.messages = 0;
      t.bytes = 0;
    }
  }

  /** Records returned to a pull of `topic`. */
  got(topic: string, messages: number, bytes: number): void {
    this.gotMessages.inc({ topic }, messages);
    this.gotBytes.inc({ topic }, bytes);
  }

  send(result: string, seconds: number): void {
    this.sendLatency.observe({ result }, seconds);
  }

  forwarded(request: string): void {
    this.forwardedRequests.inc({ request });
  }

  refused(request: string, code: string): void {
    this.refusedRequests.inc({ request, code });
  }
}
