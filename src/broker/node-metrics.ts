// The broker's side of metrics (metricsPort > 0): builds one registry for the node, adapts the
// Raft node, the store, the pull holds, retention, ACL and the consumer offsets to the metric
// definitions of src/metrics, times requests as the remoting server runs them, and serves
// /metrics, /healthz and /readyz. The broker keeps only small hooks (see broker-controller.ts).
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AclChecker } from './acl/acl-checker.js';
import type { BrokerRaft } from './broker-raft.js';
import type { ConsumerOffsetService, PutMessagesResult } from './broker-context.js';
import { responseCodeOfError, type RequestHandler } from '../protocol/remoting-server.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { isRefusal, requestCodeName, responseCodeName } from '../protocol/code-names.js';
import { BrokerMetrics, type ConsumerLag, type QueueEnd } from '../metrics/broker-metrics.js';
import { MetricsServer, type Readiness } from '../metrics/metrics-server.js';
import { registerRaftMetrics, type RaftLatencyObserver } from '../metrics/raft-metrics.js';

/** A follower this far behind the commit index (entries not yet dispatched) is not ready (/readyz). */
export const READY_MAX_DISPATCH_LAG_ENTRIES = 1000;

const SEND_CODES: ReadonlySet<number> = new Set([RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE]);

export interface NodeMetricsDeps {
  group: string;
  nodeId: string;
  /** Read lazily: the metrics exist before the parts they read. */
  raft: () => BrokerRaft;
  heldPulls: () => number;
  acl: () => AclChecker | undefined;
  offsets: () => ConsumerOffsetService;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly raftObserver: RaftLatencyObserver;
  private readonly broker: BrokerMetrics;
  private server: MetricsServer | undefined;

  constructor(private readonly d: NodeMetricsDeps) {
    this.registry.setDefaultLabels({ group: d.group, node: d.nodeId });
    collectDefaultMetrics({ register: this.registry, prefix: 'rmq_' });
    this.raftObserver = registerRaftMetrics(this.registry, {
      nodeId: d.nodeId,
      status: () => d.raft().node.status(),
      appliedIndex: () => d.raft().node.applied,
    });
    this.broker = new BrokerMetrics(this.registry, {
      heldPulls: d.heldPulls,
      dispatchLagEntries: () => this.dispatchLag(),
      queueEnds: () => this.queueEnds(),
      diskUsedRatio: () => d.raft().diskUsedRatio(),
      leaderReady: () => d.raft().isLeader(),
      retention: () => d.raft().retentionCounts,
      aclRefusals: () => d.acl()?.counters.refused,
      consumerLag: () => this.consumerLag(),
    });
  }

  /** Serves /metrics, /healthz and /readyz on host:port; returns the bound address. */
  async listen(host: string, port: number): Promise<string> {
    this.server = await MetricsServer.start({ host, port, registry: this.registry, readiness: () => this.readiness() });
    return this.server.address;
  }

  get address(): string | undefined {
    return this.server?.address;
  }

  /** BrokerRaftOptions.onPut: records stored, attributed to their topics. */
  onPut(result: PutMessagesResult, payloadBytes: number): void {
    const n = result.records.length;
    if (n === 0) return;
    // A put is one producer's records, nearly always of one topic: bytes are shared by count.
    const topic = result.records[0]!.topic;
    if (result.records.every((r) => r.topic === topic)) {
      this.broker.put(topic, n, payloadBytes);
      return;
    }
    const perTopic = new Map<string, number>();
    for (const r of result.records) perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1);
    for (const [t, count] of perTopic) this.broker.put(t, count, Math.round((payloadBytes * count) / n));
  }

  /** A relayed write (follower to leader). */
  onForward(req: RemotingCommand): void {
    this.broker.forwarded(requestCodeName(req.code));
  }

  /**
   * A send answered outside the remoting handlers (the gRPC endpoint's SendMessage, which runs the
   * send processor itself): counted as SEND_MESSAGE, latency by result and refusals by code, as
   * instrument() counts remoting sends. Returns `answer` unchanged.
   */
  observeSend<T extends RemotingCommand | undefined>(answer: Promise<T>): Promise<T> {
    const startedMs = performance.now();
    const request = requestCodeName(RequestCode.SEND_MESSAGE);
    const answered = (code: number): void => {
      this.broker.send(code === ResponseCode.SUCCESS ? 'ok' : responseCodeName(code), (performance.now() - startedMs) / 1000);
      if (isRefusal(code)) this.broker.refused(request, responseCodeName(code));
    };
    answer.then((resp) => answered(resp?.code ?? ResponseCode.SYSTEM_ERROR), (err: unknown) => answered(responseCodeOfError(err)));
    return answer;
  }

  /** Wraps a request handler: send latency by result, pulled messages, refusals by code. */
  instrument(code: number, handle: RequestHandler): RequestHandler {
    const send = SEND_CODES.has(code);
    const pull = code === RequestCode.PULL_MESSAGE;
    const request = requestCodeName(code);
    const answered = (code: number, startedMs: number): void => {
      if (send) this.broker.send(code === ResponseCode.SUCCESS ? 'ok' : responseCodeName(code), (performance.now() - startedMs) / 1000);
      if (isRefusal(code)) this.broker.refused(request, responseCodeName(code));
    };
    return async (req, channel) => {
      const startedMs = performance.now();
      let resp;
      try {
        resp = await handle(req, channel);
      } catch (err) {
        // The server answers a thrown error itself; it counts as that answer here.
        answered(responseCodeOfError(err), startedMs);
        throw err;
      }
      if (resp === undefined) return resp;
      answered(resp.code, startedMs);
      if (pull && resp.code === ResponseCode.SUCCESS && resp.body !== undefined) this.broker.got(req.extFields['topic'] ?? '', recordCount(resp.body), resp.body.length);
      return resp;
    };
  }

  /** Ready: the leader once it takes writes; a follower that knows a leader and has dispatched nearly all that is committed. */
  readiness(): Readiness {
    const raft = this.d.raft();
    const role = raft.role();
    if (raft.isLeader()) return { ready: true, detail: `leader of term ${role.term}, taking writes` };
    if (role.role === 'leader') return { ready: false, detail: 'leader whose announcement is not applied yet' };
    if (role.leaderId === '') return { ready: false, detail: `${role.role} that knows no leader` };
    const lag = this.dispatchLag();
    if (lag > READY_MAX_DISPATCH_LAG_ENTRIES) return { ready: false, detail: `follower ${lag} committed entries behind (more than ${READY_MAX_DISPATCH_LAG_ENTRIES})` };
    return { ready: true, detail: `follower of ${role.leaderId}, ${lag} committed entries not yet dispatched` };
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private dispatchLag(): number {
    const raft = this.d.raft();
    return Math.max(0, raft.node.status().commit - raft.store.dispatchedIndex);
  }

  private *queueEnds(): Generator<QueueEnd> {
    const store = this.d.raft().store;
    for (const topic of store.queues.topics()) {
      for (const queueId of store.queues.queueIds(topic)) yield { topic, queueId, maxOffset: store.getMaxOffsetInQueue(topic, queueId) };
    }
  }

  /** On the leader only: its offsets include commits not yet proposed, and one node's answer avoids counting a group three times. */
  private *consumerLag(): Generator<ConsumerLag> {
    const raft = this.d.raft();
    if (!raft.isLeader()) return;
    const offsets = this.d.offsets();
    for (const group of raft.metadata.consumerOffsetGroups()) {
      for (const key of raft.metadata.consumerOffsetsOf(group).keys()) {
        const at = key.lastIndexOf('@');
        const topic = key.slice(0, at);
        const queueId = Number(key.slice(at + 1));
        const committed = offsets.query(group, topic, queueId) ?? 0;
        yield { consumerGroup: group, topic, queueId, lag: Math.max(0, raft.store.getMaxOffsetInQueue(topic, queueId) - committed) };
      }
    }
  }
}

/** Records in a pull answer's body: each starts with its total size (4 bytes, big-endian). */
function recordCount(body: Buffer): number {
  let n = 0;
  // Each step moves forward by a positive size, so the loop ends within body.length steps.
  for (let p = 0; p + 4 <= body.length; n++) {
    const size = body.readInt32BE(p);
    if (size <= 0) break;
    p += size;
  }
  return n;
}
