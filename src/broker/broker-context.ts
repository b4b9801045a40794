// The contract between the broker's composition root and its request processors (one file per
// processor under src/broker/processors/, like aedes' lib/handlers): what a processor may read
// (config, store, replicated metadata, Raft role, consumer registry) and the only ways it may
// write (append message records or control entries through Raft, or forward to the leader).
// Kept stable: processors written by other engineers compile against this file alone.

import type { MembershipChange } from '../../raft/index.js';
import type { Logger } from '../common/logger.js';
import type { HandlerResult, RemotingChannel } from '../protocol/remoting-server.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import type { ReplicaDigestBody, SubscriptionData, TopicConfig } from '../protocol/route-data.js';
import type { CleanReport, MessageRecord, MessageStore } from '../store/index.js';
import type { BrokerConfig } from './broker-config.js';
import type { ControlCommand, LeaderAnnouncement, SubscriptionGroupConfig } from './control-entry.js';
import type { DigestRange } from './replica-digest.js';

export type { ControlCommand, LeaderAnnouncement, SubscriptionGroupConfig } from './control-entry.js';
export type { TopicConfig } from '../protocol/route-data.js';

/** Where one appended message landed, known once its entry is committed and dispatched here. */
export interface PutRecordResult {
  topic: string;
  queueId: number;
  /** ConsumeQueue slot; -1 for prepared/rolled-back transaction messages (no queue offset). */
  queueOffset: number;
  /** Global byte position of the record in the log (what message ids encode). */
  physicalOffset: number;
  /** storeHost + storePort + physicalOffset, 32 uppercase hex (the offsetMsgId). */
  msgId: string;
}

export interface PutMessagesResult {
  /** Raft index of the entry that holds the records. */
  index: number;
  term: number;
  /** One per record, in the order given. */
  records: PutRecordResult[];
}

export interface RoleState {
  role: 'leader' | 'follower' | 'candidate' | 'pre-candidate';
  /** Raft id of the leader this node knows, or ''. */
  leaderId: string;
  term: number;
  /**
   * True on the leader once its own announcement is committed and dispatch has caught up with
   * the commit index: only then does it serve writes and register as brokerId 0.
   */
  ready: boolean;
}

/** The Raft group as the broker sees it. Writes reject with BrokerError (mapped response codes). */
export interface RaftFacade {
  readonly nodeId: string;
  /** Every voter id in dLegerPeers order (brokerId of a follower = position + 1). */
  readonly peerIds: readonly string[];
  /** The configuration in force (absent in stand-ins that have no membership changes). */
  membership?(): { index: number; voters: readonly string[]; learners: readonly string[] };
  /** Called whenever the configuration in force changes. */
  onMembership?(listener: (m: { index: number; voters: readonly string[]; learners: readonly string[] }) => void): void;
  /** Leader and ready (see RoleState.ready). */
  isLeader(): boolean;
  role(): RoleState;
  /** Client (remoting) address of the current leader, from its committed announcement; undefined when unknown. */
  leaderAddr(): string | undefined;
  /**
   * Encodes nothing: `payload` is one or more encoded message records back to back (one entry).
   * Resolves once the entry is committed AND dispatched on this node. Rejects with a
   * BrokerError: 14 not leader / unknown outcome, 2 busy.
   */
  putRecords(payload: Buffer, recordCount: number): Promise<PutMessagesResult>;
  /** Resolves once the control entry is committed and applied to the metadata state here. */
  proposeControl(command: ControlCommand): Promise<{ index: number }>;
  /** Called on every role/term/readiness change (also the leader-announcement becoming known). */
  onRoleChange(listener: (state: RoleState) => void): () => void;
  /**
   * False when this node has heard neither its leader nor a majority of its group lately (the
   * group has no quorum as far as it can tell): writes are refused at once (absent: assume true).
   */
  inContact?(): boolean;
}

/** Replicated metadata (every replica holds the same tables once applied). Read-only here. */
export interface MetadataView {
  topic(name: string): TopicConfig | undefined;
  topics(): IterableIterator<TopicConfig>;
  subscriptionGroup(name: string): SubscriptionGroupConfig | undefined;
  /** How many subscription groups the table holds (checked against maxSubscriptionGroupCount). */
  subscriptionGroupCount(): number;
  /** The committed consumer offset, or undefined when the group never committed one for the queue. */
  consumerOffset(group: string, topic: string, queueId: number): number | undefined;
  /** Offsets of one group: "topic@queueId" → offset. */
  consumerOffsetsOf(group: string): ReadonlyMap<string, number>;
  /** Progress of the delay (schedule) service per level 1..18, or undefined. */
  delayOffset(level: number): number | undefined;
  delayOffsets(): ReadonlyMap<number, number>;
  leaderAnnouncement(): LeaderAnnouncement | undefined;
  /** Last Raft index whose control command is reflected here. */
  readonly appliedIndex: number;
  /**
   * False on a replica reset past log entries it never applied, until it installs a metadata
   * snapshot entry: its tables may lack topics and offsets meanwhile (docs/broker.md).
   */
  readonly complete: boolean;
}

export interface ClientChannelInfo {
  clientId: string;
  channel: RemotingChannel;
  lastUpdateMs: number;
}

/** Clients known from heartbeats on THIS node (not replicated: consumers heartbeat every node). */
export interface ConsumerManagerView {
  /** Client ids of a consumer group, sorted. */
  consumerIds(group: string): string[];
  channels(group: string): ClientChannelInfo[];
  /** Channels of a producer group's clients (the transaction check asks one of them). */
  producerChannels(group: string): ClientChannelInfo[];
  /** The subscription a group registered for a topic, if a heartbeat carried one. */
  subscription(group: string, topic: string): SubscriptionData | undefined;
  groups(): string[];
}

/** What every processor receives. */
export interface BrokerContext {
  readonly config: Readonly<BrokerConfig>;
  /** "ip:port" clients use to reach this broker (brokerIP1:listenPort). */
  readonly brokerAddr: string;
  /** The storeHost written into records and message ids. */
  readonly storeHost: { host: string; port: number };
  readonly log: Logger;
  readonly store: MessageStore;
  readonly raft: RaftFacade;
  readonly metadata: MetadataView;
  readonly consumers: ConsumerManagerView;
  nowMs(): number;
  /**
   * Relays `req` to the current leader and resolves with its response (opaque set back to
   * req's). Rejects with BrokerError 14 when no leader is known or it cannot be reached.
   */
  forwardToLeader(req: RemotingCommand): Promise<RemotingCommand>;
  /**
   * Preferred over `isLeader() ? write() : forwardToLeader(req)` for writes: runs `write` on the
   * ready leader, relays elsewhere, and when the write is refused because leadership is moving
   * (not stored for certain) waits briefly for the new leader and relays there instead of failing.
   */
  writeOrForward(req: RemotingCommand, write: () => Promise<RemotingCommand>): Promise<RemotingCommand>;
  /**
   * On the leader: the topic's config, creating it through Raft (queueNums queues, perm 6)
   * when absent and `create` allows. Undefined when absent and not created.
   */
  ensureTopic(topic: string, queueNums: number, create: boolean): Promise<TopicConfig | undefined>;
  /**
   * Encodes `records` into one entry (storeTimestamp/storeHost set by the caller) and appends
   * it (leader only). Convenience over raft.putRecords.
   */
  putMessages(records: readonly MessageRecord[]): Promise<PutMessagesResult>;
  /** Wakes long-polling pulls of a queue (the store's arrival hook already does this). */
  notifyMessageArrived(topic: string, queueId: number): void;
  /**
   * Long polling: resolves 'arrived' when a message is dispatched to the queue, 'timeout' after
   * `timeoutMs`, 'closed' if the channel closes, 'full' at once when too many pulls are held.
   */
  waitForMessage(topic: string, queueId: number, timeoutMs: number, channel: RemotingChannel): Promise<'arrived' | 'timeout' | 'closed' | 'full'>;
  readonly offsets: ConsumerOffsetService;
  /**
   * Counts a send the remoting handlers did not see (gRPC SendMessage) in the node's metrics:
   * latency by result, refusals by code. Returns `answer`; absent when metrics are off.
   */
  observeSend?<T extends RemotingCommand | undefined>(answer: Promise<T>): Promise<T>;
  /** Raft administration (status, leadership transfer, replica digest) for the admin codes. */
  readonly admin: BrokerAdmin;
  /**
   * The brokerId a pull answer suggests (follower-reads.ts): a follower for a consumer far behind
   * the end of the log, else 0. Absent (contexts built by tests): always 0.
   */
  suggestPullBrokerId?(queueId: number, lastPhysicalOffset: number | undefined): number;
}

export interface BrokerAdmin {
  /** {nodeId, role, term, leader, commitIndex, lastIndex, appliedIndex, dispatchedIndex, peers, brokerAddr, ...}. */
  status(): Record<string, unknown>;
  /** Leader only; resolves when `targetId` leads. */
  transferLeadership(targetId: string): Promise<void>;
  /** Leader only: one membership change; resolves once it is committed (in force). */
  changeMembership(change: MembershipChange): Promise<{ index: number; term: number }>;
  /** Leader only: the follower with the highest match index, if any. */
  mostUpToDateFollower(): string | undefined;
  /** The replica digest (see replica-digest.ts) up to `upToIndex` (default: the dispatched index). */
  digest(upToIndex: number | undefined, range?: DigestRange): ReplicaDigestBody;
  /**
   * Retention's manual rule on this node, now: expired head segments of its log go, within the
   * bounds of the scheduled rule (dispatched, not needed by a follower, never the last segment).
   */
  deleteExpiredCommitLog(): CleanReport;
  /**
   * Registers this node's routes with every NameServer now; resolves once each answered or the
   * bounded request failed (a topic change answers after this, so a route read next shows it).
   */
  registerRoutes(reason: string): Promise<void>;
}

/**
 * Consumer offsets: the replicated table plus, on the leader, updates not yet proposed. Offsets
 * only move forward: the highest committed offset per queue is kept (docs/broker.md).
 */
export interface ConsumerOffsetService {
  /**
   * Leader only: buffers the update; one control entry per ~100 ms carries the highest per queue.
   * Resolves once that entry is committed and applied here; rejects with a BrokerError when it is
   * not (not leader, leadership lost, entry failed, too many pending). Negative offsets are ignored.
   */
  commit(group: string, topic: string, queueId: number, offset: number): Promise<void>;
  /**
   * Leader only: an explicit reset (INVOKE_BROKER_TO_RESET_OFFSET). Drops the pending updates of
   * those queues (they would move the offsets forward again) and proposes one
   * `consumer-offsets-reset` entry; resolves once it is committed and applied here.
   */
  reset(offsets: readonly { group: string; topic: string; queueId: number; offset: number }[]): Promise<void>;
  /** As commit, unanswered (a pull's piggybacked commit offset); ignored off the leader. */
  commitInBackground(group: string, topic: string, queueId: number, offset: number): void;
  /** The highest known offset (pending on the leader, and replicated), or undefined. */
  query(group: string, topic: string, queueId: number): number | undefined;
  /**
   * Resolves true once the state applied here holds every offset committed before the call
   * (Raft ReadIndex through the leader), false when that cannot be confirmed within a bound.
   */
  catchUp(): Promise<boolean>;
}

/** One request processor: a file under src/broker/processors/ exporting one of these. */
export interface BrokerProcessor {
  /** For logs, e.g. 'send-message'. */
  readonly name: string;
  readonly codes: readonly number[];
  handle(ctx: BrokerContext, req: RemotingCommand, channel: RemotingChannel): HandlerResult | Promise<HandlerResult>;
}

/** A background service (e.g. the delay schedule service) started after the broker is up. */
export interface BrokerService {
  readonly name: string;
  start(): void;
  /** Must stop every timer it started; awaited on shutdown. */
  stop(): Promise<void> | void;
}

export type BrokerServiceFactory = (ctx: BrokerContext) => BrokerService;
