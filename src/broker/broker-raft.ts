// The Raft-backed CommitLog of one broker node: the Raft log storage, the RaftNode, the message
// store fed by it and the metadata state machine, wired so that dispatch (ConsumeQueues, index,
// control entries) runs only over committed entries, in index order, on every replica. It is
// also the RaftFacade processors see: appends resolve once committed AND dispatched here, with
// each record's queue offset and physical offset; a new leader announces its client address
// through the log and only counts as ready (serves writes, registers as brokerId 0) once that
// announcement is applied, which implies everything before it is dispatched, and its metadata is
// complete. It wires the metadata snapshots too: the leader proposes them (snapshot-scheduler.ts),
// retention keeps what follows the latest one, and a replica reset past the log head marks its
// metadata incomplete until it installs one.

import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { fileLayerFromEnv, MmapLogStorage, parsePeers, RaftNode, type Entry, type LogStart, type PeerAddress, type RoleChange } from '../../raft/index.js';
import { CleanService, MessageStore, RecordOffset, SysFlag, messageRecords, type CleanReport } from '../store/index.js';
import { messageIdFromPrefix, messageIdPrefix } from '../common/message/message-id.js';
import type { BrokerConfig } from './broker-config.js';
import type { PutMessagesResult, PutRecordResult, RaftFacade, RoleState } from './broker-context.js';
import { BrokerError, fromRaftError, notLeader } from './broker-errors.js';
import { encodeControlEntry, type ControlCommand } from './control-entry.js';
import { MetadataState, metadataFile } from './metadata-state.js';
import { MetadataApplier } from './metadata-applier.js';
import { metadataRetainIndex, type SnapshotMark } from './metadata-snapshot.js';
import { SnapshotScheduler } from './snapshot-scheduler.js';
import { raftFlushPolicy } from './flush-policy.js';
import { EntryBatcher, type PlacedPayload } from './entry-batcher.js';
import { UNSAFE_TEST_FAULT, unsafeAckBeforeCommit } from './unsafe-test-faults.js';
import { ResponseCode } from '../protocol/response-code.js';

export interface BrokerRaftOptions {
  config: BrokerConfig;
  brokerAddr: string;
  storeHost: { host: string; port: number };
  logger: Logger;
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
}

const ANNOUNCE_RETRY_MS = 200;
const METADATA_SAVE_INTERVAL_MS = 1000;
const STORE_FLUSH_INTERVAL_MS = 1000;
/** Sends of one turn share a Raft entry up to this size (below the App size, 512 KiB). */
const MAX_BATCHED_ENTRY_BYTES = 256 * 1024;
/** Log bytes behind the end that stay mapped in this process (dispatch and recent pulls read there). */
const RESIDENT_LOG_TAIL_BYTES = 8 * 1024 * 1024;
/** How often the rest is released: a consumer reading old data at 150 MB/s maps 15 MB meanwhile. */
const RESIDENT_RELEASE_INTERVAL_MS = 100;
const SNAPSHOT_CHECK_INTERVAL_MS = 1000;
const HAND_OFF_RETRY_MS = 1000;
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
  /** The term in which this node, leading with incomplete metadata, handed leadership away. */
  private handOffTerm = -1;
  private readonly events = new EventEmitter();
  /** Coalesces the sends of one turn into one entry (group commit). */
  private readonly batcher: EntryBatcher;
  /** storeHost + storePort as message id hex, the fixed half of every offset msgId. */
  private readonly msgIdPrefix: string;
  private readonly log: Logger;
  private readonly metadataPath: string;
  private state: RoleState;
  private announcingTerm = -1;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(private readonly o: BrokerRaftOptions) {
    const c = o.config;
    this.log = o.logger.child({ component: 'broker-raft' });
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
    this.storage = MmapLogStorage.open(logDir, { segmentBytes: c.mappedFileSizeCommitLog, logger: o.logger, fileLayer });
    this.metadataPath = metadataFile(storeDir);
    this.metadata = MetadataState.load(this.metadataPath);
    this.applier = new MetadataApplier({
      metadata: this.metadata,
      metadataPath: this.metadataPath,
      log: this.storage,
      logger: this.log,
      onReadinessInput: () => this.refreshReadiness(),
    });
    this.store = MessageStore.open(storeDir, this.storage, {
      // After a power loss the log past its durable commit may be stale: nothing dispatched from
      // there is served until Raft has confirmed it (docs/raft.md, "Recovering after a power loss").
      ...(this.storage.mayHaveLostWrites() ? { trustedLogIndex: this.storage.hardState().commit } : {}),
      fileLayer,
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
        onDeleted: (report) => this.log.info({ report }, 'retention deleted log segments'),
        onReport: (report) => this.onRetentionReport(report),
        onError: (err) => this.log.error({ err }, 'retention run failed'),
      },
      { fileReservedTimeHours: c.fileReservedTime, deleteWhen: c.deleteWhen, diskMaxUsedSpaceRatio: c.diskMaxUsedSpaceRatio, diskSpaceWarningLevelRatio: c.diskSpaceWarningLevelRatio },
    );
    this.state = { role: 'follower', leaderId: '', term: this.storage.hardState().term, ready: false };
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
      storage: this.storage,
      flush: raftFlushPolicy(c.flushDiskType, c.flushIntervalCommitLog),
      applied: this.store.dispatchedIndex,
      onApply: (entries) => this.onApply(entries),
      onReset: (start) => this.onReset(start),
      onTurn: () => this.batcher.flush(),
      logger: o.logger,
      ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
      ...(o.electionTicks !== undefined ? { electionTicks: o.electionTicks } : {}),
      proposalTimeoutMs: o.proposalTimeoutMs ?? 5000,
    });
    this.node.on('role', (r: RoleChange) => this.onRole(r));
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
    // Requests waiting out an election each listen once (bounded by the server's in-flight
    // limit per connection), so the default warning at 10 listeners does not apply.
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.node.start();
    this.timers.push(setInterval(() => this.persistDerivedState(true), Math.min(METADATA_SAVE_INTERVAL_MS, STORE_FLUSH_INTERVAL_MS)));
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
    const report = this.clean.deleteExpiredNow();
    if (report.deletedSegments > 0) this.log.info({ report }, 'retention deleted log segments on request');
    return report;
  }

  /** Highest used ratio (0..1) of the store's file systems at the last disk check. */
  diskUsedRatio(): number {
    return this.clean.usedRatio;
  }

  /** Why this node refuses writes now (a full disk), or undefined. */
  diskWriteRefusal(): string | undefined {
    return this.clean.writeRefusal();
  }

  /**
   * The lowest log index retention must keep. Everything dispatched is first made durable in the
   * store checkpoint and the metadata snapshot, so deleting the log head never loses derived
   * state a restart would rebuild from it. A leader keeps what its slowest follower still needs
   * (a follower behind the head must otherwise reset); a follower keeps what it has not applied.
   * Every node keeps what follows its latest metadata snapshot's asOfIndex (a replica reset to
   * this head re-applies it), and nothing while it has no snapshot to offer (metadataRetainIndex).
   * Under the forcible disk rule (85%) retention ignores this bound, as RocketMQ does; the leader
   * then proposes a new snapshot at once (SnapshotScheduler, 'head-uncovered').
   */
  private minRetainIndex(): number {
    this.persistDerivedState();
    const status = this.node.status();
    let keep = Math.min(status.commit, this.store.dispatchedIndex) + 1;
    if (status.role === 'leader') {
      for (const [id, p] of Object.entries(status.progress)) if (id !== this.nodeId) keep = Math.min(keep, p.match + 1);
    }
    const snapshotBound = metadataRetainIndex(this.metadata, this.storage.firstIndex());
    this.snapshotBoundBinding = snapshotBound < keep;
    return Math.min(keep, snapshotBound);
  }

  private onRetentionReport(report: CleanReport): void {
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

  private onRole(r: RoleChange): void {
    const changed = r.role !== this.state.role || r.leader !== this.state.leaderId || r.term !== this.state.term;
    if (!changed) return;
    this.state = { role: r.role, leaderId: r.leader, term: r.term, ready: false };
    if (r.role === 'leader') this.announce(r.term);
    this.refreshReadiness(true);
  }

  /** Proposes this node's announcement for `term`, retrying while it still leads that term. */
  private announce(term: number): void {
    if (this.announcingTerm === term) return;
    this.announcingTerm = term;
    const attempt = (): void => {
      if (this.closed || this.state.role !== 'leader' || this.state.term !== term) return;
      const a = this.metadata.leaderAnnouncement();
      if (a && a.term === term && a.nodeId === this.nodeId) return;
      this.node.propose(encodeControlEntry({ kind: 'leader', announcement: { nodeId: this.nodeId, term, brokerAddr: this.o.brokerAddr } })).then(
        () => this.refreshReadiness(),
        (err: unknown) => {
          this.log.warn({ err, term }, 'leader announcement not committed; retrying');
          const t = setTimeout(attempt, ANNOUNCE_RETRY_MS);
          t.unref();
        },
      );
    };
    attempt();
  }

  /**
   * A leader is ready once its announcement is applied and its metadata is complete: a leader
   * missing metadata would serve wrong consumer offsets and topic configs, and no later entry
   * can complete it (only a ready leader proposes snapshots), so it hands leadership away.
   */
  private refreshReadiness(forceEmit = false): void {
    const a = this.metadata.leaderAnnouncement();
    const announced = this.state.role === 'leader' && a !== undefined && a.nodeId === this.nodeId && a.term === this.state.term;
    const ready = announced && this.metadata.complete;
    if (announced && !ready) this.handOffIncompleteLeadership(this.state.term);
    if (ready !== this.state.ready || forceEmit) {
      this.state = { ...this.state, ready };
      if (ready) this.log.info({ term: this.state.term, dispatchedIndex: this.store.dispatchedIndex }, 'leader ready: announcement committed and dispatch caught up');
      this.events.emit('role', this.state);
    } else if (a && this.state.role !== 'leader') {
      // A follower learning the leader's address is a change worth telling (forwarding).
      this.events.emit('role', this.state);
    }
  }

  private handOffIncompleteLeadership(term: number): void {
    if (this.handOffTerm === term) return;
    this.handOffTerm = term;
    let target: string | undefined;
    let best = -1;
    for (const [id, p] of Object.entries(this.node.status().progress)) {
      if (id !== this.nodeId && p.match > best) {
        target = id;
        best = p.match;
      }
    }
    const fields = { term, missingThrough: this.metadata.incompleteThrough, target };
    if (target === undefined) {
      this.log.error(fields, 'leading with incomplete metadata and no follower to hand leadership to; not serving');
      return;
    }
    this.log.warn(fields, 'leading with incomplete metadata; handing leadership to a follower');
    this.node.transferLeadership(target).catch((err: unknown) => {
      this.log.warn({ err, ...fields }, 'hand-off of leadership with incomplete metadata failed; retrying');
      const t = setTimeout(() => {
        if (this.closed || this.state.term !== term) return;
        this.handOffTerm = -1;
        this.refreshReadiness();
      }, HAND_OFF_RETRY_MS);
      t.unref();
    });
  }

  get logStorage(): MmapLogStorage {
    return this.storage;
  }

  // ---- RaftFacade ----

  isLeader(): boolean {
    return this.state.ready && this.state.role === 'leader';
  }

  role(): RoleState {
    return this.state;
  }

  leaderAddr(): string | undefined {
    const leaderId = this.state.leaderId;
    if (leaderId === '') return undefined;
    if (leaderId === this.nodeId) return this.o.brokerAddr;
    return this.metadata.brokerAddrOf(leaderId);
  }

  onRoleChange(listener: (state: RoleState) => void): () => void {
    this.events.on('role', listener);
    return () => this.events.off('role', listener);
  }

  async putRecords(payload: Buffer, recordCount: number): Promise<PutMessagesResult> {
    if (!this.isLeader()) throw notLeader(this.state.role === 'leader' ? 'its announcement is not committed yet' : `role ${this.state.role}`);
    const refusal = this.clean.admitWrite(payload.length);
    if (refusal !== undefined) {
      this.o.onDiskFull?.();
      throw new BrokerError('ERR_BROKER_DISK_FULL', ResponseCode.SERVICE_NOT_AVAILABLE, `not stored on ${this.o.brokerAddr}: ${refusal}`);
    }
    // TEST ONLY (RMQ_UNSAFE_TEST_FAULT=ack-before-commit, see unsafe-test-faults.ts): answer before the quorum commit.
    if (UNSAFE_TEST_FAULT === 'ack-before-commit') {
      const commit = this.batcher.add(payload).then((c) => this.resultsOf(c, payload, recordCount), (err: unknown) => Promise.reject(fromRaftError(err)));
      return unsafeAckBeforeCommit(commit, payload, this.o.storeHost);
    }
    let placed: PlacedPayload;
    try {
      placed = await this.batcher.add(payload);
    } catch (err) {
      throw fromRaftError(err);
    }
    return this.resultsOf(placed, payload, recordCount);
  }

  /**
   * Where each record of `payload` landed, read from the dispatched state: the payload sits at
   * byte `offset` of the committed entry `index` (other sends of its turn may share the entry).
   */
  private resultsOf(placed: PlacedPayload, payload: Buffer, recordCount: number): PutMessagesResult {
    const { index, term } = placed;
    if (this.store.dispatchedIndex < index) {
      throw new BrokerError('ERR_BROKER_DISPATCH_FAILED', ResponseCode.SYSTEM_ERROR, `entry ${index} is committed but not dispatched on this node; the message is stored, consumers will see it once dispatch resumes`);
    }
    const loc = this.storage.locate(index);
    if (!loc) throw new BrokerError('ERR_BROKER_DISPATCH_FAILED', ResponseCode.SYSTEM_ERROR, `entry ${index} is committed but no longer in the log`);
    const records: PutRecordResult[] = [];
    const base = loc.payloadPosition + placed.offset;
    // Records of one payload that share a topic and queue got consecutive queue offsets (an
    // entry is dispatched in order and one payload is contiguous in it): only the first of a
    // run is looked up, and the topic is decoded only when its bytes change.
    let topic = '';
    let topicAt = -1;
    let topicBytes = 0;
    let prev: PutRecordResult | undefined;
    for (const [offset] of messageRecords(payload)) {
      const bodyLength = payload.readInt32BE(offset + RecordOffset.BODY_LENGTH);
      const at = offset + RecordOffset.BODY + bodyLength;
      const length = payload[at]!;
      const sameTopic = topicAt >= 0 && length === topicBytes && payload.compare(payload, topicAt + 1, topicAt + 1 + length, at + 1, at + 1 + length) === 0;
      if (!sameTopic) topic = payload.toString('utf8', at + 1, at + 1 + length);
      topicAt = at;
      topicBytes = length;
      const queueId = payload.readInt32BE(offset + RecordOffset.QUEUE_ID);
      const physicalOffset = base + offset;
      const tx = payload.readInt32BE(offset + RecordOffset.SYS_FLAG) & 0xc;
      const noQueue = tx === SysFlag.TRANSACTION_PREPARED || tx === SysFlag.TRANSACTION_ROLLBACK;
      let queueOffset: number;
      if (noQueue) queueOffset = -1;
      else if (prev !== undefined && sameTopic && prev.queueId === queueId && prev.queueOffset >= 0) queueOffset = prev.queueOffset + 1;
      else queueOffset = this.store.queues.find(topic, queueId)?.queueOffsetOf(physicalOffset) ?? -1;
      prev = { topic, queueId, queueOffset, physicalOffset, msgId: messageIdFromPrefix(this.msgIdPrefix, physicalOffset) };
      records.push(prev);
    }
    if (records.length !== recordCount) throw new Error(`entry ${index} holds ${records.length} records, the caller sent ${recordCount}`);
    return { index, term, records };
  }

  async proposeControl(command: ControlCommand): Promise<{ index: number }> {
    if (this.state.role !== 'leader') throw notLeader(`role ${this.state.role}`);
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

  // ---- persistence ----

  /** Flushes ConsumeQueues/index/checkpoint and the metadata snapshot (periodically and on close). */
  private persistDerivedState(background = false): void {
    if (this.closed) return;
    try {
      if (background) this.store.flushInBackground(Date.now(), (err) => err && this.log.error({ err }, 'flushing the store failed'));
      else this.store.flush(Date.now());
      // The periodic save must not hold the event loop (Raft heartbeats, client requests).
      if (this.metadata.dirty && background) this.metadata.saveInBackground(this.metadataPath).catch((err: unknown) => this.log.error({ err }, 'saving metadata failed'));
      else if (this.metadata.dirty) this.metadata.save(this.metadataPath);
    } catch (err) {
      this.log.error({ err }, 'flushing the store or metadata failed');
    }
  }

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
