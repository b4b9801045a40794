// The broker's composition root: builds one broker node (Raft-backed CommitLog, message store,
// metadata state machine, client registry and its consumer-ids notifications, long polling,
// offset batching, leader forwarding, NameServer registration), registers every processor of
// processors/index.ts with the remoting server, starts the background services, and stops all of
// it in reverse order.

import { createLogger, type Logger } from '../common/logger.js';
import { checkTopicName } from '../common/names.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { RemotingChannel, RequestHandler } from '../protocol/remoting-server.js';
import { RemotingServer } from '../protocol/remoting-server.js';
import { RemotingClient } from '../protocol/remoting-client.js';
import { PERM_READ_WRITE, type TopicConfig } from '../protocol/route-data.js';
import { encodeMessageRecords, toIPv4, type MessageRecord } from '../store/index.js';
import { AclChecker } from './acl/acl-checker.js';
import { ACL_ADMIN_CODES, handleAclAdmin } from './acl/acl-admin.js';
import { guardedByAcl } from './acl/acl-guard.js';
import { grpcAclCheck } from './acl/grpc-acl.js';
import { AclRules } from './acl/acl-rules.js';
import { loadBrokerTls, mixedClientTls, type BrokerTls } from './broker-tls.js';
import { loadPlainAcl } from './acl/plain-acl.js';
import type { BrokerConfig } from './broker-config.js';
import type { UnsafeTestFault } from './unsafe-test-faults.js';
import type { BrokerAdmin, BrokerContext, BrokerService, PutMessagesResult } from './broker-context.js';
import { BrokerRaft } from './broker-raft.js';
import { ConsumerIdsNotifier } from './consumer-ids-notifier.js';
import { OffsetCommitter } from './consumer-offset-service.js';
import { ConsumerManager } from './consumer-manager.js';
import { writableFollower } from './disk-handoff.js';
import { FrontDoors } from './front-doors.js';
import { FollowerReads } from './follower-reads.js';
import { LeaderForwarder } from './leader-forwarder.js';
import { PreferredLeader } from './preferred-leader.js';
import { checkTopicLimits } from './metadata-limits.js';
import { NamesrvRegistrar } from './namesrv-registrar.js';
import { PROCESSORS, SERVICES } from './processors/index.js';
import { PullHoldService } from './pull-hold-service.js';
import type { ReplicaDigestBody } from '../protocol/route-data.js';
import { consumeQueueDigests, type DigestRange, logDigest } from './replica-digest.js';
import { connectionLimitsOf } from './server-limits-config.js';
import { writeOrForward } from './write-or-forward.js';
import { GrpcEndpoint } from '../grpc/grpc-server.js';
import { NodeMetrics } from './node-metrics.js';
import { RefusalLog } from './refusal-log.js';

export interface BrokerControllerOptions {
  logger?: Logger;
  /** Raft timing overrides (tests use faster elections). */
  tickMs?: number;
  electionTicks?: number;
  proposalTimeoutMs?: number;
  /** How often the leader checks whether a metadata snapshot is due (tests: 0 = only when asked). */
  snapshotCheckIntervalMs?: number;
  /** The Raft log failed and the node stopped itself (see BrokerRaftOptions.onFatal). */
  onFatal?: (err: Error) => void;
  /** TEST ONLY: a deliberately unsafe behaviour (unsafe-test-faults.ts); main reads it from the environment. */
  unsafeTestFault?: UnsafeTestFault;
}

const CLIENT_EXPIRY_SCAN_MS = 10_000;
/** How long a stopping leader waits for its hand-off before stopping anyway. */
const LEADERSHIP_HANDOFF_MS = 1_500;
/** A leader refusing writes for its disk hands leadership on at most this often. */
const DISK_FULL_HANDOFF_INTERVAL_MS = 10_000;

export class BrokerController {
  readonly brokerAddr: string;
  readonly raft: BrokerRaft;
  readonly consumers = new ConsumerManager();
  readonly server: RemotingServer;
  /** The ACL check (aclEnable=true), with its counters; undefined when ACL is off. */
  readonly acl: AclChecker | undefined;
  readonly context: BrokerContext;
  private readonly log: Logger;
  private readonly idsNotifier: ConsumerIdsNotifier;
  private readonly pullHolds: PullHoldService;
  private readonly offsets: OffsetCommitter;
  private readonly forwarder: LeaderForwarder;
  private readonly registrar: NamesrvRegistrar;
  private readonly services: BrokerService[];
  private readonly creatingTopics = new Map<string, Promise<unknown>>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastDiskHandOffMs = Number.NEGATIVE_INFINITY;
  /** Asks followers about their disks (created at the first disk-full refusal). */
  private handOffClient: RemotingClient | undefined;
  /** TLS for the client port, for this node's connections to other brokers, and for Raft. */
  private readonly tls: BrokerTls;
  /** dLegerPreferredLeaderId: hands leadership back to the preferred node. */
  private readonly preferred: PreferredLeader | undefined;
  /** Every request handler by code, for the front-door servers. */
  private readonly handlers = new Map<number, RequestHandler>();
  /** Front doors (frontDoorEnable=true): one more port per node of the group. */
  readonly doors: FrontDoors | undefined;
  /** The RocketMQ 5 gRPC endpoint (grpcListenPort > 0), started after the remoting port. */
  grpc: GrpcEndpoint | undefined;
  /** Metrics and health endpoints (metricsPort > 0). */
  readonly metrics: NodeMetrics | undefined;

  private constructor(readonly config: BrokerConfig, options: BrokerControllerOptions) {
    const base = options.logger ?? createLogger({ component: 'broker' });
    this.log = base.child({ nodeId: config.dLegerSelfId, group: config.dLegerGroup });
    this.brokerAddr = `${config.brokerIP1}:${config.listenPort}`;
    const storeHost = { host: toIPv4(config.brokerIP1), port: config.listenPort };
    this.tls = loadBrokerTls(config);
    const metrics = config.metricsPort > 0
      ? new NodeMetrics({ group: config.dLegerGroup, nodeId: config.dLegerSelfId, raft: () => this.raft, heldPulls: () => this.pullHolds.heldCount, acl: () => this.acl, offsets: () => this.offsets })
      : undefined;
    this.metrics = metrics;
    this.raft = new BrokerRaft({
      config,
      brokerAddr: this.brokerAddr,
      storeHost,
      logger: this.log,
      ...(this.tls.raft !== undefined ? { raftTls: this.tls.raft } : {}),
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
      ...(options.electionTicks !== undefined ? { electionTicks: options.electionTicks } : {}),
      ...(options.proposalTimeoutMs !== undefined ? { proposalTimeoutMs: options.proposalTimeoutMs } : {}),
      ...(options.snapshotCheckIntervalMs !== undefined ? { snapshotCheckIntervalMs: options.snapshotCheckIntervalMs } : {}),
      onMessageArrived: (topic, queueId) => this.pullHolds.notify(topic, queueId),
      onQueuesReset: () => this.pullHolds.notifyAll(),
      onDiskFull: () => this.onDiskFull(),
      ...(options.onFatal !== undefined ? { onFatal: options.onFatal } : {}),
      ...(options.unsafeTestFault !== undefined ? { unsafeTestFault: options.unsafeTestFault } : {}),
      ...(metrics !== undefined ? { raftObserver: metrics.raftObserver, onPut: (r, bytes) => metrics.onPut(r, bytes) } : {}),
    });
    this.pullHolds = new PullHoldService({ maxHoldsPerChannel: config.maxHeldPullsPerConnection });
    this.offsets = new OffsetCommitter({ raft: this.raft, metadata: this.raft.metadata, log: this.log, readIndex: () => this.raft.node.readIndex(), maxEntries: config.maxConsumerOffsetCount });
    this.forwarder = new LeaderForwarder(this.brokerAddr, () => this.raft.leaderAddr(), this.log, undefined, this.tls.client);
    this.doors = config.frontDoorEnable ? new FrontDoors(config, this.raft, this.log, () => this.registrar.registerAll('front door change'), this.tls.server) : undefined;
    this.preferred = config.dLegerPreferredLeaderId !== '' ? new PreferredLeader(config.dLegerPreferredLeaderId, this.raft, this.log) : undefined;
    this.registrar = new NamesrvRegistrar(config, this.brokerAddr, this.raft, this.raft.metadata, this.log, this.doors, this.tls.namesrv);
    this.server = new RemotingServer({ logger: this.log.child({ component: 'remoting-server' }), ...connectionLimitsOf(config), ...(this.tls.server !== undefined ? { tls: this.tls.server } : {}) });
    this.context = this.buildContext(storeHost);
    // With ACL on, every request is checked before its processor runs (and refused with
    // NO_PERMISSION and a remark naming what is missing).
    this.acl = config.aclEnable ? new AclChecker(loadPlainAcl(config.aclFile)) : undefined;
    const acl = this.acl;
    // The file's rules overridden by the changes replicated through the Raft log (acl-rules.ts).
    const rules = acl === undefined ? undefined : new AclRules(acl.fileConfig, this.raft.metadata, acl, this.log);
    const refusals = new RefusalLog(this.log.child({ component: 'requests' }));
    const handlers: [number, RequestHandler][] = PROCESSORS.flatMap((p) => p.codes.map((code): [number, RequestHandler] => [code, (req, channel) => p.handle(this.context, req, channel)]));
    for (const code of ACL_ADMIN_CODES) handlers.push([code, (req) => handleAclAdmin(this.context, rules, req)]);
    for (const [code, plain] of handlers) {
      const handle = refusals.wrap(acl === undefined ? plain : guardedByAcl(acl, plain, this.log));
      const served = metrics === undefined ? handle : metrics.instrument(code, handle);
      this.server.registerHandler(code, served);
      this.handlers.set(code, served);
    }
    this.idsNotifier = new ConsumerIdsNotifier(this.consumers, this.log);
    this.consumers.onConsumerIdsChanged((group) => this.idsNotifier.changed(group));
    this.server.onChannelClose((channel) => this.consumers.channelClosed(channel));
    this.services = SERVICES.map((factory) => factory(this.context));
  }

  /** Opens the stores, starts Raft, listens on listenPort, registers, starts the services. */
  static async start(config: BrokerConfig, options: BrokerControllerOptions = {}): Promise<BrokerController> {
    const b = new BrokerController(config, options);
    try {
      // Client port first: Raft starts connecting to its peers at once, and an outgoing
      // connection could otherwise take a port of this host that a broker is about to bind.
      await b.server.listen(config.listenPort, config.brokerIP1);
      await b.doors?.listen(b.handlers, (channel) => b.consumers.channelClosed(channel));
      if (config.grpcListenPort > 0) {
        const acl = b.acl === undefined ? {} : { access: grpcAclCheck(b.acl, b.log.child({ component: 'grpc' })) };
        b.grpc = await GrpcEndpoint.start(b.context, config.brokerIP1, config.grpcListenPort, { ...(b.tls.grpc !== undefined ? { tls: b.tls.grpc } : {}), ...acl });
      }
      // Before Raft: /healthz answers as soon as the process serves, /readyz says when it is ready.
      if (b.metrics !== undefined) b.log.info({ metricsAddr: await b.metrics.listen(config.brokerIP1, config.metricsPort) }, 'metrics endpoint listening');
      await b.raft.start();
    } catch (err) {
      await b.close().catch(() => undefined);
      throw err;
    }
    b.pullHolds.start();
    b.offsets.start();
    b.registrar.start();
    b.preferred?.start();
    b.unregisterWhenRemoved();
    b.expiryTimer = setInterval(() => {
      const dropped = b.consumers.expire(Date.now());
      if (dropped > 0) b.log.info({ dropped }, 'expired silent clients');
    }, CLIENT_EXPIRY_SCAN_MS);
    b.expiryTimer.unref();
    for (const s of b.services) s.start();
    b.log.info({ brokerAddr: b.brokerAddr, peers: config.dLegerPeers, flush: config.flushDiskType }, 'broker started');
    return b;
  }

  private buildContext(storeHost: { host: string; port: number }): BrokerContext {
    const raft = this.raft;
    const followerReads = new FollowerReads(this.config, {
      nodeId: raft.nodeId,
      peerIds: raft.peerIds,
      isLeader: () => raft.isLeader(),
      replication: () => raft.node.status(),
    }, () => raft.store.dispatcher.dispatchedPhysicalOffset);
    const admin: BrokerAdmin = {
      status: () => this.status(),
      transferLeadership: (targetId) => raft.transferLeadership(targetId),
      changeMembership: (change) => raft.changeMembership(change),
      mostUpToDateFollower: () => this.mostUpToDateFollower(),
      digest: (upTo, range) => this.digest(upTo, range),
      deleteExpiredCommitLog: () => raft.deleteExpiredNow(),
      registerRoutes: (reason) => this.registrar.registerAllAndWait(reason),
    };
    return {
      config: this.config,
      brokerAddr: this.brokerAddr,
      storeHost,
      log: this.log.child({ component: 'processors' }),
      store: raft.store,
      raft,
      metadata: raft.metadata,
      consumers: this.consumers,
      offsets: this.offsets,
      admin,
      suggestPullBrokerId: (queueId, lastPhysicalOffset) => followerReads.suggest(queueId, lastPhysicalOffset),
      ...(this.metrics !== undefined ? { observeSend: this.metrics.observeSend.bind(this.metrics) } : {}),
      nowMs: () => Date.now(),
      forwardToLeader: (req: RemotingCommand) => {
        this.metrics?.onForward(req);
        return this.forwarder.forward(req);
      },
      writeOrForward: (req: RemotingCommand, write: () => Promise<RemotingCommand>) => writeOrForward(this.context, req, write),
      ensureTopic: (topic, queueNums, create) => this.ensureTopic(topic, queueNums, create),
      putMessages: (records: readonly MessageRecord[]): Promise<PutMessagesResult> => raft.putRecords(encodeMessageRecords(records), records.length),
      notifyMessageArrived: (topic, queueId) => this.pullHolds.notify(topic, queueId),
      waitForMessage: (topic: string, queueId: number, timeoutMs: number, channel: RemotingChannel) => this.pullHolds.wait(topic, queueId, timeoutMs, channel),
    };
  }

  /**
   * Concurrent requests for the same new topic share one proposal. A name that breaks the rules
   * or a topic past the limits is refused (thrown) here too, whichever processor asked.
   */
  private async ensureTopic(topic: string, queueNums: number, create: boolean): Promise<TopicConfig | undefined> {
    const existing = this.raft.metadata.topic(topic);
    if (existing || !create) return existing;
    let pending = this.creatingTopics.get(topic);
    if (!pending) {
      checkTopicName(topic);
      const config: TopicConfig = { topicName: topic, readQueueNums: queueNums, writeQueueNums: queueNums, perm: PERM_READ_WRITE, topicSysFlag: 0 };
      checkTopicLimits(this.config, this.raft.metadata, config);
      pending = this.raft.proposeControl({ kind: 'topic-upsert', config }).finally(() => this.creatingTopics.delete(topic));
      this.creatingTopics.set(topic, pending);
      this.log.info({ topic, queueNums }, 'creating topic');
    }
    await pending;
    return this.raft.metadata.topic(topic);
  }

  /** RAFT_STATUS body; the shape docs/client.md gives (roles upper-case, peers as objects). */
  /**
   * A node removed from its group by a membership change stops registering and unregisters from
   * every NameServer, so clients stop routing to it; it keeps running until an operator stops it.
   * Only a node that was a member in this run: a joining node replays older configurations first.
   */
  private unregisterWhenRemoved(): void {
    const isMember = (m: { voters: readonly string[]; learners: readonly string[] }): boolean => m.voters.includes(this.raft.nodeId) || m.learners.includes(this.raft.nodeId);
    let wasMember = isMember(this.raft.node.membership());
    this.raft.node.on('membership', (m: { index: number; voters: readonly string[]; learners: readonly string[] }) => {
      if (isMember(m)) wasMember = true;
      else if (wasMember) {
        wasMember = false;
        this.log.warn({ index: m.index, voters: m.voters, learners: m.learners }, 'removed from the Raft group: unregistering from the NameServer; stop this node');
        void this.registrar.stop();
      }
    });
  }

  status(): Record<string, unknown> {
    const s = this.raft.node.status();
    const role = this.raft.role();
    return {
      nodeId: this.raft.nodeId,
      role: s.role.toUpperCase().replace('-', '_'),
      term: s.term,
      leader: s.leader === '' ? null : s.leader,
      leaderReady: role.ready,
      leaderBrokerAddr: this.raft.leaderAddr() ?? null,
      commitIndex: s.commit,
      firstIndex: s.firstIndex,
      lastIndex: s.lastIndex,
      appliedIndex: this.raft.node.applied,
      dispatchedIndex: this.raft.store.dispatchedIndex,
      metadataAppliedIndex: this.raft.metadata.appliedIndex,
      // Operators watch a reset node here: incomplete until it installs a metadata snapshot.
      metadataComplete: this.raft.metadata.complete,
      metadataSnapshot: this.raft.metadata.latestSnapshot ?? null,
      // The configuration in force (docs/raft.md, "Membership"): dLegerPeers until a change commits.
      voters: s.voters,
      learners: s.learners,
      // The other members (docs/client.md); a peer's client address is known once it has led.
      peers: this.raft.peers.filter((p) => p.id !== this.raft.nodeId).map((p) => ({
        nodeId: p.id,
        raftAddr: `${p.host}:${p.port}`,
        ...(this.raft.metadata.brokerAddrOf(p.id) !== undefined ? { brokerAddr: this.raft.metadata.brokerAddrOf(p.id) } : {}),
        ...(s.progress[p.id] !== undefined ? { matchIndex: s.progress[p.id]!.match } : {}),
      })),
      raftAddr: this.raft.raftAddr,
      brokerAddr: this.brokerAddr,
      brokerName: this.config.brokerName,
      pendingEntries: s.pendingEntries,
      // Whether this node takes writes (see diskSpaceWarningLevelRatio), as of its last disk check.
      diskUsedPercent: Math.round(this.raft.diskUsedRatio() * 1000) / 10,
      diskWritable: this.raft.diskWriteRefusal() === undefined,
      heldPulls: this.pullHolds.heldCount,
      busyPulls: this.pullHolds.busyCount,
      // Raft connections refused: any failed handshake, and those failing peer authentication.
      raftRejectedConnections: s.transport.rejectedConnections,
      raftAuthFailures: s.transport.authFailures,
      peerAuthentication: this.config.dLegerPeerSecret !== '',
      // Where this node's /metrics is (metricsPort), for tools such as `rmq dashboard`.
      ...(this.metrics?.address !== undefined ? { metricsAddr: this.metrics.address } : {}),
    };
  }

  /**
   * A leader that cannot write hands leadership to the most caught-up follower that says its own
   * disk takes writes (disk-handoff.ts), at most once per DISK_FULL_HANDOFF_INTERVAL_MS, so the
   * group keeps taking writes when another node has room. Reads, heartbeats and votes go on.
   */
  private onDiskFull(): void {
    const now = Date.now();
    if (this.closed || this.raft.role().role !== 'leader' || now - this.lastDiskHandOffMs < DISK_FULL_HANDOFF_INTERVAL_MS) return;
    this.lastDiskHandOffMs = now;
    // It asks the NameServers and other brokers: each gets the TLS it speaks (broker-tls.ts).
    this.handOffClient ??= new RemotingClient({ logger: this.log.child({ component: 'disk-handoff' }), ...mixedClientTls(this.tls, this.config.namesrvAddr) });
    const progress = this.raft.node.status().progress;
    writableFollower({
      selfId: this.raft.nodeId,
      peerIds: this.raft.peerIds,
      matchOf: (id) => progress[id]?.match ?? -1,
      brokerAddrOf: (id) => this.raft.metadata.brokerAddrOf(id),
      brokerName: this.config.brokerName,
      namesrvAddrs: this.config.namesrvAddr,
      client: this.handOffClient,
      log: this.log,
    }).then(async (target) => {
      if (target === undefined) {
        this.log.warn('disk full: no follower reports room to write; keeping leadership and refusing writes');
        return;
      }
      if (this.closed || this.raft.role().role !== 'leader') return;
      this.log.warn({ target }, 'disk full: handing leadership to a follower with room');
      await this.raft.transferLeadership(target);
    }).catch((err: unknown) => this.log.warn({ err }, 'disk-full leadership hand-off failed'));
  }

  private async handOffLeadership(): Promise<void> {
    const target = this.mostUpToDateFollower();
    if (target === undefined) return;
    const timeout = new Promise<void>((r) => setTimeout(r, LEADERSHIP_HANDOFF_MS).unref());
    try {
      await Promise.race([this.raft.transferLeadership(target), timeout]);
      this.log.info({ target }, 'handed leadership over before stopping');
    } catch (err) {
      this.log.warn({ err, target }, 'leadership hand-off before stopping failed');
    }
  }

  /** The follower with the highest match index (leader only), for a transfer without a target. */
  mostUpToDateFollower(): string | undefined {
    const progress = this.raft.node.status().progress;
    let best: string | undefined;
    let bestMatch = -1;
    for (const id of this.raft.peerIds) {
      if (id === this.raft.nodeId) continue;
      const match = progress[id]?.match ?? -1;
      if (match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    return best;
  }

  digest(upToIndex: number | undefined, range: DigestRange = {}): ReplicaDigestBody {
    const store = this.raft.store;
    const upTo = Math.min(upToIndex ?? store.dispatchedIndex, store.dispatchedIndex);
    const log = logDigest(this.raft.logStorage, upTo, range.fromIndex);
    const cq = consumeQueueDigests(store, range.queueFromOffsets);
    return {
      nodeId: this.raft.nodeId,
      firstIndex: log.firstIndex,
      upToIndex: log.upToIndex,
      logSha256: log.sha256,
      dispatchedIndex: store.dispatchedIndex,
      consumeQueues: cq.queues,
      consumeQueuesSha256: cq.sha256,
    };
  }

  /**
   * Stops services, the server and Raft, then flushes and closes the stores. A leader first
   * hands leadership to its most caught-up follower (bounded wait), so a planned stop costs
   * clients a transfer instead of an election timeout.
   */
  async close(options: { transferLeadership?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.preferred?.stop();
    if ((options.transferLeadership ?? true) && this.raft.role().role === 'leader') await this.handOffLeadership();
    for (const s of [...this.services].reverse()) {
      try {
        await s.stop();
      } catch (err) {
        this.log.error({ err, service: s.name }, 'service failed to stop');
      }
    }
    await this.registrar.stop();
    // Best effort: offsets buffered on a leader get one chance to commit before Raft stops.
    await this.offsets.close(1000);
    this.pullHolds.stop();
    // Every client channel is about to close: telling the survivors of each group is moot.
    this.idsNotifier.stop();
    await this.grpc?.close();
    await this.metrics?.close();
    await this.doors?.close();
    await this.server.close();
    await this.forwarder.close();
    await this.handOffClient?.close();
    await this.raft.close();
    this.log.info('broker stopped');
  }
}
