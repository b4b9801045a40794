// The Raft-backed CommitLog of one broker node, as wiring: the Raft log storage, the RaftNode, the
// message store fed by it and the metadata state machine, so that dispatch (ConsumeQueues, index,
// control entries) runs only over committed entries, in index order, on every replica. It is
// also the RaftFacade processors see: appends resolve once committed AND dispatched here, with
// each record's queue offset and physical offset (send-results.ts). The jobs around it live in
// their own files: when a leader may act as master (leader-readiness.ts), what retention must
// keep (retention-bound.ts), making derived state durable (derived-state-persister.ts), and the
// metadata snapshots the leader proposes (snapshot-scheduler.ts).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { fileLayerFromEnv, MmapLogStorage, parsePeers, RaftNode, type Entry, type LogStart, type MembershipChange, type PeerAddress, type PeerTls, type RaftNodeObserver, type RoleChange } from '../../raft/index.js';
import { CleanService, MessageStore, type CleanReport } from '../store/index.js';
import { messageIdPrefix } from '../common/message/message-id.js';
import { peerSecrets, storePathsOf, type BrokerConfig } from './broker-config.js';
import type { PutMessagesResult, RaftFacade, RoleState } from './broker-context.js';
import { BrokerError, fromRaftError, notLeader } from './broker-errors.js';
import { encodeControlEntry, type ControlCommand } from './control-entry.js';
import { MetadataState, metadataFile } from './metadata-state.js';
import { MetadataApplier } from './metadata-applier.js';
import type { SnapshotMark } from './metadata-snapshot.js';
import { SnapshotScheduler } from './snapshot-scheduler.js';
import { raftFlushPolicy } from './flush-policy.js';
import { EntryBatcher, type PlacedPayload } from './entry-batcher.js';
import { unsafeAckBeforeCommit, type UnsafeTestFault } from './unsafe-test-faults.js';
import { DerivedStatePersister } from './derived-state-persister.js';
import { LeaderReadiness } from './leader-readiness.js';
import { retentionBound } from './retention-bound.js';
import { placedRecordResults } from './send-results.js';
import { ResponseCode } from '../protocol/response-code.js';

export interface BrokerRaftOptions {
  config: BrokerConfig;
  brokerAddr: string;
  storeHost: { host: string; port: number };
  logger: Logger;
  /** Mutual TLS between the Raft peers (raftTlsEnable; broker-tls.ts). */
  raftTls?: PeerTls;
  /** Raft timing overrides (tests). */
  tickMs?: number;
  electionTicks?: number;
  proposalTimeoutMs?: number;
  /** Called when a topic-queue got new messages (wakes long polls). */
  onMessageArrived?: (topic: string, queueId: number, maxOffset: number) => void;
  /** Called when a reset moved every queue to the leader's log start (wakes every long poll). */
  onQueuesReset?: () => void;
  /** How often the leader checks whether a metadata snapshot is due (default 1000; 0: only when asked, tests). */
  snapshotCheckIntervalMs?: number;
  /** Called when a write is refused because this node's disk is (nearly) full. */
  onDiskFull?: () => void;
  /**
   * The Raft log failed (disk full, I/O error) and the node stopped itself (fail-stop): the
   * broker cannot store or replicate any more. The owner should close and exit non-zero.
   */
  onFatal?: (err: Error) => void;
  /** TEST ONLY: a deliberately unsafe behaviour the fault tests switch on (unsafe-test-faults.ts). */
  unsafeTestFault?: UnsafeTestFault;
  /** Told the Raft log's append and sync latencies (metrics). */
  raftObserver?: RaftNodeObserver;
  /** Told of every stored put: where its records landed and the payload's size (metrics). */
  onPut?: (result: PutMessagesResult, payloadBytes: number) => void;
}

const METADATA_SAVE_INTERVAL_MS = 1000;
const STORE_FLUSH_INTERVAL_MS = 1000;
/** Sends of one turn share a Raft entry up to this size (below the App size, 512 KiB). */
const MAX_BATCHED_ENTRY_BYTES = 256 * 1024;
/** Log bytes behind the end that stay mapped in this process (dispatch and recent pulls read there). */
const RESIDENT_LOG_TAIL_BYTES = 8 * 1024 * 1024;
/** How often the rest is released: a consumer reading old data at 150 MB/s maps 15 MB meanwhile. */
const RESIDENT_RELEASE_INTERVAL_MS = 100;
const SNAPSHOT_CHECK_INTERVAL_MS = 1000;
/** How stale the answer of inContact() may be (a write refused as cut off, or let through, 50 ms late). */
const CONTACT_CHECK_MS = 50;
/** Parts of one metadata snapshot at most (with 256 KiB parts, 1 GiB of tables). */
const MAX_SNAPSHOT_PARTS = 4096;

export class BrokerRaft implements RaftFacade {
  readonly nodeId: string;
  readonly peerIds: readonly string[];
  readonly peers: readonly PeerAddress[];
  /** This node's Raft address from dLegerPeers. */
  readonly raftAddr: string;
  readonly store: MessageStore;
  readonly metadata: MetadataState;
  readonly node: RaftNode;
  private readonly storage: MmapLogStorage;
  /** Retention of log segments and the disk-pressure rules (refuses writes at 90%). */
  private readonly clean: CleanService;
  /** Applies control entries to `metadata` and keeps its completeness marker. */
  private readonly applier: MetadataApplier;
  private readonly snapshots: SnapshotScheduler;
  /** The last minRetainIndex() was the snapshot bound, below every other bound. */
  private snapshotBoundBinding = false;
  private readonly readiness: LeaderReadiness;
  private readonly persister: DerivedStatePersister;
  /** Coalesces the sends of one turn into one entry (group commit). */
  private readonly batcher: EntryBatcher;
  /** storeHost + storePort as message id hex, the fixed half of every offset msgId. */
  private readonly msgIdPrefix: string;
  private readonly log: Logger;
  private readonly retentionLog: Logger;
  private readonly metadataPath: string;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  /** Retention runs and the log segments they deleted, since start (metrics). */
  readonly retentionCounts = { runs: 0, deletedSegments: 0 };

  constructor(private readonly o: BrokerRaftOptions) {
    const c = o.config;
    this.log = o.logger.child({ component: 'broker-raft' });
    this.retentionLog = o.logger.child({ component: 'retention' });
    const peers = parsePeers(c.dLegerPeers);
    this.nodeId = c.dLegerSelfId;
    this.peers = peers;
    const self = peers.find((p) => p.id === this.nodeId);
    if (!self) throw new Error(`dLegerSelfId ${this.nodeId} is not in dLegerPeers`);
    this.raftAddr = `${self.host}:${self.port}`;
    this.peerIds = peers.map((p) => p.id);
    const logDir = join(c.storePathRootDir, 'commitlog-raft');
    const storeDir = join(c.storePathRootDir, 'store');
    mkdirSync(logDir, { recursive: true });
    mkdirSync(storeDir, { recursive: true });
    // Test-only: RMQ_UNSAFE_TEST_LAZY_FS=1 keeps shadows of what was synced (power-loss tests).
    const fileLayer = fileLayerFromEnv(process.env);
    this.storage = MmapLogStorage.open(logDir, { segmentBytes: c.mappedFileSizeCommitLog, logger: o.logger.child({ component: 'raft-log' }), fileLayer });
    this.metadataPath = metadataFile(storeDir);
    this.metadata = MetadataState.load(this.metadataPath);
    this.applier = new MetadataApplier({
      metadata: this.metadata,
      metadataPath: this.metadataPath,
      log: this.storage,
      logger: this.log,
      onReadinessInput: () => this.readiness.refresh(),
    });
    this.store = MessageStore.open(storeDir, this.storage, {
      paths: storePathsOf(c),
      // After a power loss the log past its durable commit may be stale: nothing dispatched from
      // there is served until Raft has confirmed it (docs/raft.md, "Recovering after a power loss").
      ...(this.storage.mayHaveLostWrites() ? { trustedLogIndex: this.storage.hardState().commit } : {}),
      fileLayer,
      consumeQueueFiles: { maxOpenFiles: c.maxOpenConsumeQueueFiles, idleMs: c.consumeQueueIdleCloseSeconds * 1000 },
      onControl: (index, payload) => this.applier.applyControl(index, payload),
      ...(o.onMessageArrived ? { onMessageArrived: o.onMessageArrived } : {}),
      ...(o.onQueuesReset ? { onQueuesReset: o.onQueuesReset } : {}),
    });
    this.log.info({ recovery: this.store.recovery }, 'message store opened');
    this.clean = new CleanService(
      {
        log: this.storage,
        store: this.store,
        minRetainIndex: () => this.minRetainIndex(),
        beforeHeadDeletion: () => this.persister.persistNow(),
        onReport: (report) => this.onRetentionReport(report),
        onError: (err) => this.retentionLog.error({ err }, 'retention run failed'),
      },
      { fileReservedTimeHours: c.fileReservedTime, deleteWhen: c.deleteWhen, diskMaxUsedSpaceRatio: c.diskMaxUsedSpaceRatio, diskSpaceWarningLevelRatio: c.diskSpaceWarningLevelRatio },
    );
    this.readiness = new LeaderReadiness(
      {
        nodeId: this.nodeId,
        brokerAddr: o.brokerAddr,
        node: () => this.node,
        metadata: this.metadata,
        dispatchedIndex: () => this.store.dispatchedIndex,
        log: this.log,
        isClosed: () => this.closed,
      },
      this.storage.hardState().term,
    );
    this.persister = new DerivedStatePersister({ store: this.store, metadata: this.metadata, metadataPath: this.metadataPath, log: this.log, isClosed: () => this.closed });
    this.applier.noteLogHead();
    this.applier.replay(this.store.dispatchedIndex);
    this.msgIdPrefix = messageIdPrefix(o.storeHost.host, o.storeHost.port);
    this.batcher = new EntryBatcher({
      propose: (entries) => this.node.proposeBatch(entries),
      requestFlush: () => this.node.requestTurn(),
      // An entry never spans two segments: with small segments (tests, tiny deployments) a full
      // batch must still fit one, or its append would fail (ERR_LOG_ENTRY_TOO_LARGE).
      maxEntryBytes: Math.min(MAX_BATCHED_ENTRY_BYTES, Math.floor(c.mappedFileSizeCommitLog / 2)),
      maxPayloadBytes: this.storage.maxEntryBytes(),
    });
    this.node = new RaftNode({
      id: this.nodeId,
      group: c.dLegerGroup,
      peers,
      joining: c.dLegerJoining,
      storage: this.storage,
      flush: raftFlushPolicy(c.flushDiskType, c.flushIntervalCommitLog),
      applied: this.store.dispatchedIndex,
      onApply: (entries) => this.onApply(entries),
      onReset: (start) => this.onReset(start),
      onTurn: () => this.batcher.flush(),
      logger: o.logger,
      peerSecrets: peerSecrets('dLegerPeerSecret', c.dLegerPeerSecret),
      ...(o.raftTls !== undefined ? { tls: o.raftTls } : {}),
      ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
      ...(o.electionTicks !== undefined ? { electionTicks: o.electionTicks } : {}),
      proposalTimeoutMs: o.proposalTimeoutMs ?? 5000,
      ...(o.raftObserver !== undefined ? { observer: o.raftObserver } : {}),
    });
    this.node.on('role', (r: RoleChange) => this.readiness.onRole(r));
    this.node.on('fatal', (err: Error) => {
      this.log.fatal({ err }, 'the raft log failed; this broker node stopped replicating and must exit (free space or fix the disk, then restart it)');
      o.onFatal?.(err);
    });
    // Parts are a quarter segment at most, so a snapshot never fills a segment with one entry.
    this.snapshots = new SnapshotScheduler({
      log: this.storage,
      metadata: this.metadata,
      segmentBytes: c.mappedFileSizeCommitLog,
      maxEntryBytes: Math.min(MAX_BATCHED_ENTRY_BYTES, Math.floor(c.mappedFileSizeCommitLog / 4)),
      maxParts: MAX_SNAPSHOT_PARTS,
      canPropose: () => !this.closed && this.isLeader(),
      propose: (parts) => this.node.proposeBatch(parts),
      logger: this.log,
    });
  }

  async start(): Promise<void> {
    await this.node.start();
    this.timers.push(setInterval(() => this.persister.persistInBackground(), Math.min(METADATA_SAVE_INTERVAL_MS, STORE_FLUSH_INTERVAL_MS)));
    this.timers.push(setInterval(() => this.releaseResidentLog(), RESIDENT_RELEASE_INTERVAL_MS));
    const snapshotCheckMs = this.o.snapshotCheckIntervalMs ?? SNAPSHOT_CHECK_INTERVAL_MS;
    if (snapshotCheckMs > 0) this.timers.push(setInterval(() => this.snapshots.tick(), snapshotCheckMs));
    this.clean.start();
  }

  /** Retention of this node's log (manual deletes, tests). */
  get retention(): CleanService {
    return this.clean;
  }

  /**
   * Proposes a metadata snapshot now if this node is the ready leader and none is in flight;
   * resolves with where it landed once applied here, else undefined.
   */
  proposeMetadataSnapshot(): Promise<SnapshotMark | undefined> {
    return this.snapshots.propose('asked');
  }

  /**
   * Deletes expired head segments now (DELETE_EXPIRED_COMMITLOG), with the same bounds as the
   * scheduled run; the timer and this call both run on the event loop, so they never interleave.
   */
  deleteExpiredNow(): CleanReport {
    return this.clean.deleteExpiredNow();
  }

  /** Highest used ratio (0..1) of the store's file systems at the last disk check. */
  diskUsedRatio(): number {
    return this.clean.usedRatio;
  }

  /** Why this node refuses writes now (a full disk), or undefined. */
  diskWriteRefusal(): string | undefined {
    return this.clean.writeRefusal();
  }

  /** What retention must keep (retention-bound.ts); remembers whether the snapshot bound binds. */
  private minRetainIndex(): number {
    const b = retentionBound(this.node.status(), this.nodeId, this.store.dispatchedIndex, this.metadata, this.storage.firstIndex());
    this.snapshotBoundBinding = b.snapshotBinding;
    return b.keepFrom;
  }

  private countRetention(report: CleanReport): void {
    this.retentionCounts.runs++;
    this.retentionCounts.deletedSegments += report.deletedSegments;
  }

  private onRetentionReport(report: CleanReport): void {
    this.countRetention(report);
    // One line per run that deleted something or was asked for (an admin command); the timer's
    // runs that find nothing to do (every checkIntervalMs) stay silent. Event: docs/operations.md.
    if (report.deletedSegments > 0 || report.reason.startsWith('manual-')) {
      const { reason, deletedSegments, deletedStoreFiles, firstIndex, stoppedBy, usedRatio } = report;
      this.retentionLog.info({ event: 'retention-run', reason, deletedSegments, deletedStoreFiles, firstIndex, stoppedBy, usedRatio }, 'retention run');
    }
    if (report.stoppedBy === 'min-retain-index' && this.snapshotBoundBinding) this.snapshots.noteRetentionBlocked();
  }

  /**
   * RaftNode logs the reset itself; the metadata marks what it can no longer apply, and the store
   * skips to the new first entry at once, starting every ConsumeQueue at the offset the leader's
   * start record gives it, so no read meets the old numbering before the next apply.
   */
  private onReset(start: LogStart): void {
    this.applier.noteLogHead();
    try {
      const skipped = this.store.jumpToLogStart();
      this.log.info({ startIndex: start.index, skippedEntries: skipped, startAppBytes: this.storage.startAppData()?.length ?? 0 }, 'store follows the reset log: queues start where the leader\'s start record says');
    } catch (err) {
      // A start record that does not decode: dispatch stops at the same point on its next try
      // and reports it there too; Raft goes on.
      this.log.error({ err, startIndex: start.index }, 'store could not follow the reset log');
    }
  }

  private onApply(entries: Entry[]): void {
    const last = entries[entries.length - 1]!.index;
    this.applier.noteLogHead();
    try {
      this.store.dispatchUpTo(last);
    } catch (err) {
      // A committed entry that does not decode stops dispatch here (the store retries it on
      // the next apply); Raft itself must go on, and sends waiting on it get SYSTEM_ERROR.
      this.log.error({ err, index: this.store.dispatchedIndex + 1 }, 'dispatch stopped at a committed entry');
    }
    this.metadata.skipTo(this.store.dispatchedIndex);
  }

  get logStorage(): MmapLogStorage {
    return this.storage;
  }

  // ---- RaftFacade ----

  isLeader(): boolean {
    const s = this.readiness.state;
    return s.ready && s.role === 'leader';
  }

  role(): RoleState {
    return this.readiness.state;
  }

  leaderAddr(): string | undefined {
    const leaderId = this.readiness.state.leaderId;
    if (leaderId === '') return undefined;
    if (leaderId === this.nodeId) return this.o.brokerAddr;
    return this.metadata.brokerAddrOf(leaderId);
  }

  onRoleChange(listener: (state: RoleState) => void): () => void {
    return this.readiness.onChange(listener);
  }

  /** Asked before every write: recomputed at most every 50 ms, so the hot path allocates nothing. */
  inContact(): boolean {
    const now = Date.now();
    if (now - this.contactCheckedAtMs >= CONTACT_CHECK_MS) {
      this.contactCheckedAtMs = now;
      this.contactOk = this.node.contact.inContact(this.nodeId, this.node.roleState().leader, this.node.membership().voters);
    }
    return this.contactOk;
  }

  private contactCheckedAtMs = 0;
  private contactOk = true;

  async putRecords(payload: Buffer, recordCount: number): Promise<PutMessagesResult> {
    const state = this.readiness.state;
    if (!this.isLeader()) throw notLeader(state.role === 'leader' ? 'its announcement is not committed yet' : `role ${state.role}`);
    const refusal = this.clean.admitWrite(payload.length);
    if (refusal !== undefined) {
      this.o.onDiskFull?.();
      throw new BrokerError('ERR_BROKER_DISK_FULL', ResponseCode.SERVICE_NOT_AVAILABLE, `not stored on ${this.o.brokerAddr}: ${refusal}`);
    }
    // TEST ONLY (RMQ_UNSAFE_TEST_FAULT=ack-before-commit, see unsafe-test-faults.ts): answer before the quorum commit.
    if (this.o.unsafeTestFault === 'ack-before-commit') {
      const commit = this.batcher.add(payload).then((c) => this.resultsOf(c, payload, recordCount), (err: unknown) => Promise.reject(fromRaftError(err)));
      return unsafeAckBeforeCommit(commit, payload, this.o.storeHost);
    }
    let placed: PlacedPayload;
    try {
      placed = await this.batcher.add(payload);
    } catch (err) {
      throw fromRaftError(err);
    }
    const result = this.resultsOf(placed, payload, recordCount);
    this.o.onPut?.(result, payload.length);
    return result;
  }

  private resultsOf(placed: PlacedPayload, payload: Buffer, recordCount: number): PutMessagesResult {
    return placedRecordResults({ store: this.store, storage: this.storage, msgIdPrefix: this.msgIdPrefix }, placed, payload, recordCount);
  }

  async proposeControl(command: ControlCommand): Promise<{ index: number }> {
    const role = this.readiness.state.role;
    if (role !== 'leader') throw notLeader(`role ${role}`);
    const entry = encodeControlEntry(command);
    // Every replica applies, keeps and persists what commits: the bound is checked before that.
    // Metadata snapshot parts have their own bound (maxEntryBytes of the scheduler).
    if (command.kind !== 'metadata-snapshot' && entry.length > this.o.config.maxControlEntryBytes) {
      throw new BrokerError('ERR_BROKER_CONTROL_ENTRY_TOO_LARGE', ResponseCode.SYSTEM_ERROR, `not stored: the ${command.kind} control entry needs ${entry.length} bytes, more than maxControlEntryBytes ${this.o.config.maxControlEntryBytes}`);
    }
    try {
      const r = await this.node.propose(entry);
      return { index: r.index };
    } catch (err) {
      throw fromRaftError(err);
    }
  }

  transferLeadership(to: string): Promise<void> {
    return this.node.transferLeadership(to);
  }

  /** The configuration in force on this node (voters, learners, the index of its Config entry). */
  membership(): { index: number; voters: readonly string[]; learners: readonly string[] } {
    return this.node.membership();
  }

  /** Called whenever the configuration in force changes on this node. */
  onMembership(listener: (m: { index: number; voters: readonly string[]; learners: readonly string[] }) => void): void {
    this.node.on('membership', listener);
  }

  /** One membership change through this node (the leader); resolves once it is in force. */
  changeMembership(change: MembershipChange): Promise<{ index: number; term: number }> {
    return this.node.changeMembership(change);
  }

  // ---- resident memory ----

  /** Keeps old log pages out of this process's resident memory (they stay in the page cache). */
  private releaseResidentLog(): void {
    if (this.closed) return;
    try {
      this.storage.releaseResident(RESIDENT_LOG_TAIL_BYTES);
    } catch (err) {
      this.log.warn({ err }, 'releasing resident log pages failed');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.clean.stop();
    this.batcher.failAll(new BrokerError('ERR_BROKER_NOT_LEADER', ResponseCode.SERVICE_NOT_AVAILABLE, 'not stored: the broker is shutting down'));
    await this.node.close();
    await this.metadata.backgroundSaveDone();
    try {
      this.metadata.save(this.metadataPath);
    } finally {
      this.store.close();
    }
  }
}
