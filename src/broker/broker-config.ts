// Reads a broker.conf in RocketMQ's key=value (Java properties) format into a typed config.
// Unknown keys are reported (not silently ignored); a bad value stops startup with an error
// that names the key, what was found and what is expected.

import { resolve } from 'node:path';
import { parsePeers, RaftNodeError, type PeerAddress } from '../../raft/index.js';
import type { StorePaths } from '../store/index.js';
import { DEFAULT_SERVER_LIMITS, serverLimitSetters, serverLimitsProblem, type ServerLimitsConfig } from './server-limits-config.js';

export type FlushDiskType = 'ASYNC_FLUSH' | 'SYNC_FLUSH';

export interface BrokerConfig extends ServerLimitsConfig {
  brokerClusterName: string;
  brokerName: string;
  namesrvAddr: string[];
  listenPort: number;
  brokerIP1: string;
  storePathRootDir: string;
  /** Where ConsumeQueues, IndexFiles, the checkpoint and the abort file live; '' = under storePathRootDir/store. Relative paths are taken from storePathRootDir. */
  storePathConsumeQueue: string;
  storePathIndex: string;
  storeCheckpoint: string;
  abortFile: string;
  flushDiskType: FlushDiskType;
  flushIntervalCommitLog: number;
  /** Hours of the day ("04", or "04;16") at which expired files are deleted. */
  deleteWhen: number[];
  fileReservedTime: number;
  diskMaxUsedSpaceRatio: number;
  autoCreateTopicEnable: boolean;
  autoCreateSubscriptionGroup: boolean;
  defaultTopicQueueNums: number;
  maxMessageSize: number;
  mappedFileSizeCommitLog: number;
  enableDLegerCommitLog: boolean;
  dLegerGroup: string;
  dLegerPeers: string;
  dLegerSelfId: string;
  /**
   * The group's Raft peer secret(s), comma-separated: the first signs, any verifies (rotation).
   * Empty: peers are not authenticated (a warning at start-up). dLegerPeerSecretFile names a file
   * holding them instead (read by the broker's main).
   */
  dLegerPeerSecret: string;
  dLegerPeerSecretFile: string;
  /** Serve the client port (listenPort) with TLS: needs tlsCertPath and tlsKeyPath. */
  tlsEnable: boolean;
  /** Mutual TLS between the Raft peers: needs tlsCertPath, tlsKeyPath and tlsCaPath. */
  raftTlsEnable: boolean;
  /** Register with the NameServers over TLS (they serve TLS): trusts tlsCaPath, else the system CAs. */
  namesrvTlsEnable: boolean;
  /** Serve the gRPC endpoint (grpcListenPort) with TLS: needs tlsCertPath and tlsKeyPath. */
  grpcTlsEnable: boolean;
  /** PEM files: this node's certificate and key, and the CA that signed the group's certificates. */
  tlsCertPath: string;
  tlsKeyPath: string;
  tlsCaPath: string;
  /** Key this broker signs REGISTER_BROKER/UNREGISTER_BROKER with (the NameServer's registration key); empty: unsigned. */
  namesrvRegistrationKey: string;
  /** The node the group hands leadership back to when it is healthy and caught up; '' = none. */
  dLegerPreferredLeaderId: string;
  /**
   * This node joins a running group as a learner (added with `rmq admin changeMembers
   * --add-learner`): it is not a bootstrap voter; dLegerPeers lists the members and itself.
   */
  dLegerJoining: boolean;
  messageDelayLevel: string;
  /** Lets this node's schedule service deliver with levels other than the group last used (a deliberate change). */
  messageDelayLevelChangeAllowed: boolean;
  longPollingEnable: boolean;
  /** Send consumers lagging past the threshold below to a follower (follower-reads.ts); followers serve pulls either way. */
  slaveReadEnable: boolean;
  /** Percent of the host's RAM: a pull this many bytes behind the end of the log counts as lagging. */
  accessMessageInMemoryMaxRatio: number;
  /** The lag threshold in bytes instead of the RAM share (0 = use accessMessageInMemoryMaxRatio). */
  slaveReadLagThresholdBytes: number;
  /** Serve SQL92 property filters (expressionType=SQL92); refused with code 23 when off, as in RocketMQ. */
  enablePropertyFilter: boolean;
  /** RocketMQ ACL 1.0: every request is checked against the rules in aclFile. */
  aclEnable: boolean;
  /** plain_acl.yml; empty means plain_acl.yml beside broker.conf (resolved by the broker's main). */
  aclFile: string;
  /** Bounds on replicated metadata and per-connection state (docs/broker.md, "Limits"). */
  maxTopicCount: number;
  maxQueueCount: number;
  maxSubscriptionGroupCount: number;
  maxConsumerOffsetCount: number;
  maxControlEntryBytes: number;
  maxHeldPullsPerConnection: number;
  /** ConsumeQueue files kept open (each a descriptor and a mapping); idle queues close first (docs/limits.md). */
  maxOpenConsumeQueueFiles: number;
  /** A ConsumeQueue not read or written for this long has its files closed until the next access. */
  consumeQueueIdleCloseSeconds: number;
  /** Port of the RocketMQ 5 gRPC endpoint on brokerIP1 (src/grpc); 0 = off. */
  grpcListenPort: number;
  /** An orderly consumer's queue lock expires this long after its last renewal (ms); also a new leader's grant pause (queue-locks.ts). */
  rebalanceLockMaxLiveTime: number;
  /** Idempotent producer: a send repeating a UNIQ_KEY stored this recently (ms) gets the first result; 0 = off (dedup-window.ts). */
  duplicateWindowMs: number;
  /** Entries the de-duplication window keeps in memory; older ones are looked up in the IndexFile. */
  duplicateWindowMaxEntries: number;
  /** A half message this old (ms) without a commit or rollback is checked with its producer group. */
  transactionTimeOut: number;
  /** Checks per half message; past this it goes to TRANS_CHECK_MAX_TIME_TOPIC. */
  transactionCheckMax: number;
  /** Pause (ms) between two runs of the leader's transaction check service. */
  transactionCheckInterval: number;
  /** HTTP port on brokerIP1 for /metrics, /healthz and /readyz (docs/metrics.md); 0 = off. */
  metricsPort: number;
  /** Front doors (docs/operations.md): each node appears as its own broker name with a share of the queues. */
  frontDoorEnable: boolean;
  /** Node id → port on this node that serves that node's door ("n0:30911;n1:30912;n2:30913"). */
  frontDoorPorts: Record<string, number>;
}

export const DEFAULT_BROKER_CONFIG: Readonly<BrokerConfig> = {
  brokerClusterName: 'DefaultCluster',
  brokerName: 'broker-a',
  namesrvAddr: ['127.0.0.1:9876'],
  listenPort: 10911,
  brokerIP1: '127.0.0.1',
  storePathRootDir: 'store',
  storePathConsumeQueue: '',
  storePathIndex: '',
  storeCheckpoint: '',
  abortFile: '',
  flushDiskType: 'ASYNC_FLUSH',
  flushIntervalCommitLog: 500,
  deleteWhen: [4],
  fileReservedTime: 72,
  diskMaxUsedSpaceRatio: 75,
  autoCreateTopicEnable: true,
  autoCreateSubscriptionGroup: true,
  defaultTopicQueueNums: 8,
  maxMessageSize: 4 * 1024 * 1024,
  mappedFileSizeCommitLog: 1024 * 1024 * 1024,
  enableDLegerCommitLog: true,
  dLegerGroup: '',
  dLegerPeers: '',
  dLegerSelfId: '',
  dLegerPeerSecret: '',
  dLegerPeerSecretFile: '',
  namesrvRegistrationKey: '',
  tlsEnable: false,
  raftTlsEnable: false,
  namesrvTlsEnable: false,
  grpcTlsEnable: false,
  tlsCertPath: '',
  tlsKeyPath: '',
  tlsCaPath: '',
  dLegerPreferredLeaderId: '',
  dLegerJoining: false,
  messageDelayLevel: '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h',
  messageDelayLevelChangeAllowed: false,
  longPollingEnable: true,
  slaveReadEnable: true,
  accessMessageInMemoryMaxRatio: 40,
  slaveReadLagThresholdBytes: 0,
  enablePropertyFilter: false,
  aclEnable: false,
  aclFile: '',
  maxTopicCount: 4096,
  maxQueueCount: 8192,
  maxSubscriptionGroupCount: 4096,
  maxConsumerOffsetCount: 200_000,
  maxControlEntryBytes: 4 * 1024 * 1024,
  maxHeldPullsPerConnection: 1000,
  maxOpenConsumeQueueFiles: 1024,
  consumeQueueIdleCloseSeconds: 60,
  ...DEFAULT_SERVER_LIMITS,
  grpcListenPort: 0,
  rebalanceLockMaxLiveTime: 60_000,
  duplicateWindowMs: 120_000,
  duplicateWindowMaxEntries: 100_000,
  transactionTimeOut: 6000,
  transactionCheckMax: 15,
  transactionCheckInterval: 30_000,
  metricsPort: 0,
  frontDoorEnable: false,
  frontDoorPorts: {},
};

/** Record header, topic, properties (< 32 KiB) and the Raft entry header around the largest body. */
const SEGMENT_HEADROOM_BYTES = 64 * 1024;

/** Keys RocketMQ users commonly set that have no effect here; accepted with a note, not an error. */
const IGNORED_KEYS: Record<string, string> = {
  brokerId: 'the Raft role decides the brokerId (leader 0, followers position + 1)',
  brokerRole: 'the Raft leader is always the master (as in RocketMQ DLedger mode)',
  sendMessageThreadPoolNums: 'Node.js handles sends on one event loop',
  storePathCommitLog: 'the CommitLog is the Raft log under storePathRootDir',
};

export class BrokerConfigError extends Error {
  readonly code = 'ERR_BROKER_CONFIG';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerConfigError';
  }
}

export interface ParsedBrokerConfig {
  config: BrokerConfig;
  /** Human-readable notes about unknown or ignored keys; the caller logs them. */
  warnings: string[];
}

/** Splits Java-properties text into key/value pairs (comments `#`/`!`, `=` or `:` separators). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const sep = line.search(/[=:]/);
    if (sep <= 0) throw new BrokerConfigError('', `line ${i + 1}: expected key=value, found "${line}"`);
    out.set(line.slice(0, sep).trim(), line.slice(sep + 1).trim());
  }
  return out;
}

function bad(key: string, value: string, expected: string): never {
  throw new BrokerConfigError(key, `broker.conf: ${key}=${value} is invalid: expected ${expected}`);
}

/** Like bad(), for values whose fault is better told than listed (one item of a list, a duplicate). */
function invalid(key: string, value: string, reason: string): never {
  throw new BrokerConfigError(key, `broker.conf: ${key}=${value} is invalid: ${reason}`);
}

/** Shortest peer secret accepted: a guessable secret would protect nothing. */
export const MIN_PEER_SECRET_CHARS = 16;

/** Splits a dLegerPeerSecret value (comma or newline separated) and checks each secret's length. */
export function peerSecrets(key: string, value: string): string[] {
  const list = value.split(/[,\n]/).map((x) => x.trim()).filter((x) => x !== '');
  for (const x of list) {
    if (x.length < MIN_PEER_SECRET_CHARS) invalid(key, '<hidden>', `each secret needs at least ${MIN_PEER_SECRET_CHARS} characters (make one with: openssl rand -hex 32)`);
  }
  return list;
}

/** Reads dLegerPeers with the Raft library's parser so the broker and its Raft node agree on it. */
function peers(key: string, value: string): PeerAddress[] {
  try {
    return parsePeers(value);
  } catch (err) {
    if (err instanceof RaftNodeError) invalid(key, value, err.message);
    throw err;
  }
}

function int(key: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value)) bad(key, value, `an integer in ${min}..${max}`);
  const n = Number(value);
  if (n < min || n > max) bad(key, value, `an integer in ${min}..${max}`);
  return n;
}

function bool(key: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return bad(key, value, 'true or false');
}

function nonEmpty(key: string, value: string): string {
  if (value === '') bad(key, value, 'a non-empty value');
  return value;
}

function hostPort(key: string, value: string): string {
  if (!/^[A-Za-z0-9.\-]+:\d{1,5}$/.test(value)) bad(key, value, 'host:port');
  return value;
}

type Setter = (c: BrokerConfig, value: string, key: string) => void;

const SETTERS: Record<string, Setter> = {
  brokerClusterName: (c, v, k) => { c.brokerClusterName = nonEmpty(k, v); },
  brokerName: (c, v, k) => {
    if (!/^[a-zA-Z0-9_-]{1,127}$/.test(v)) bad(k, v, 'letters, digits, "_" or "-", at most 127');
    c.brokerName = v;
  },
  namesrvAddr: (c, v, k) => {
    const list = v.split(';').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0) bad(k, v, 'one or more host:port separated by ";"');
    c.namesrvAddr = list.map((a) => hostPort(k, a));
  },
  listenPort: (c, v, k) => { c.listenPort = int(k, v, 1, 65535); },
  brokerIP1: (c, v, k) => { c.brokerIP1 = nonEmpty(k, v); },
  storePathRootDir: (c, v, k) => { c.storePathRootDir = nonEmpty(k, v); },
  storePathConsumeQueue: (c, v, k) => { c.storePathConsumeQueue = nonEmpty(k, v); },
  // RocketMQ's sample broker.conf spells it with a lower-case i; both are read.
  storePathindex: (c, v, k) => { c.storePathIndex = nonEmpty(k, v); },
  storePathIndex: (c, v, k) => { c.storePathIndex = nonEmpty(k, v); },
  storeCheckpoint: (c, v, k) => { c.storeCheckpoint = nonEmpty(k, v); },
  abortFile: (c, v, k) => { c.abortFile = nonEmpty(k, v); },
  flushDiskType: (c, v, k) => {
    if (v !== 'ASYNC_FLUSH' && v !== 'SYNC_FLUSH') bad(k, v, 'ASYNC_FLUSH or SYNC_FLUSH');
    c.flushDiskType = v;
  },
  flushIntervalCommitLog: (c, v, k) => { c.flushIntervalCommitLog = int(k, v, 1, 60_000); },
  deleteWhen: (c, v, k) => {
    const hours = v.split(';').map((h) => h.trim());
    c.deleteWhen = hours.map((h) => int(k, h, 0, 23));
  },
  fileReservedTime: (c, v, k) => { c.fileReservedTime = int(k, v, 0, 24 * 365 * 10); },
  diskMaxUsedSpaceRatio: (c, v, k) => { c.diskMaxUsedSpaceRatio = int(k, v, 10, 95); },
  autoCreateTopicEnable: (c, v, k) => { c.autoCreateTopicEnable = bool(k, v); },
  autoCreateSubscriptionGroup: (c, v, k) => { c.autoCreateSubscriptionGroup = bool(k, v); },
  defaultTopicQueueNums: (c, v, k) => { c.defaultTopicQueueNums = int(k, v, 1, 1024); },
  maxMessageSize: (c, v, k) => { c.maxMessageSize = int(k, v, 1024, 16 * 1024 * 1024 - 64 * 1024); },
  mappedFileSizeCommitLog: (c, v, k) => {
    const n = int(k, v, 64 * 1024, 2 ** 31 - 4096);
    // Segments are mapped whole and named by their byte position: the log requires page multiples.
    if (n % 4096 !== 0) invalid(k, v, 'expected a multiple of 4096 (the log maps whole pages)');
    c.mappedFileSizeCommitLog = n;
  },
  enableDLegerCommitLog: (c, v, k) => { c.enableDLegerCommitLog = bool(k, v); },
  dLegerGroup: (c, v, k) => { c.dLegerGroup = nonEmpty(k, v); },
  dLegerPeers: (c, v, k) => {
    peers(k, nonEmpty(k, v));
    c.dLegerPeers = v;
  },
  dLegerSelfId: (c, v, k) => { c.dLegerSelfId = nonEmpty(k, v); },
  dLegerPeerSecret: (c, v, k) => {
    peerSecrets(k, v);
    c.dLegerPeerSecret = v;
  },
  dLegerPeerSecretFile: (c, v) => { c.dLegerPeerSecretFile = v; },
  namesrvRegistrationKey: (c, v) => { c.namesrvRegistrationKey = v; },
  tlsEnable: (c, v, k) => { c.tlsEnable = bool(k, v); },
  raftTlsEnable: (c, v, k) => { c.raftTlsEnable = bool(k, v); },
  namesrvTlsEnable: (c, v, k) => { c.namesrvTlsEnable = bool(k, v); },
  grpcTlsEnable: (c, v, k) => { c.grpcTlsEnable = bool(k, v); },
  tlsCertPath: (c, v) => { c.tlsCertPath = v; },
  tlsKeyPath: (c, v) => { c.tlsKeyPath = v; },
  tlsCaPath: (c, v) => { c.tlsCaPath = v; },
  dLegerPreferredLeaderId: (c, v) => { c.dLegerPreferredLeaderId = v; },
  messageDelayLevel: (c, v, k) => {
    if (!/^(\d+[smhd])( \d+[smhd])*$/.test(v)) bad(k, v, 'space-separated durations like "1s 5s 1m 2h"');
    c.messageDelayLevel = v;
  },
  messageDelayLevelChangeAllowed: (c, v, k) => { c.messageDelayLevelChangeAllowed = bool(k, v); },
  longPollingEnable: (c, v, k) => { c.longPollingEnable = bool(k, v); },
  slaveReadEnable: (c, v, k) => { c.slaveReadEnable = bool(k, v); },
  accessMessageInMemoryMaxRatio: (c, v, k) => { c.accessMessageInMemoryMaxRatio = int(k, v, 1, 100); },
  slaveReadLagThresholdBytes: (c, v, k) => { c.slaveReadLagThresholdBytes = int(k, v, 0, Number.MAX_SAFE_INTEGER); },
  enablePropertyFilter: (c, v, k) => { c.enablePropertyFilter = bool(k, v); },
  dLegerJoining: (c, v, k) => { c.dLegerJoining = bool(k, v); },
  aclEnable: (c, v, k) => { c.aclEnable = bool(k, v); },
  aclFile: (c, v) => { c.aclFile = v; },
  maxTopicCount: (c, v, k) => { c.maxTopicCount = int(k, v, 1, 1_000_000); },
  maxQueueCount: (c, v, k) => { c.maxQueueCount = int(k, v, 1, 10_000_000); },
  maxSubscriptionGroupCount: (c, v, k) => { c.maxSubscriptionGroupCount = int(k, v, 1, 1_000_000); },
  maxConsumerOffsetCount: (c, v, k) => { c.maxConsumerOffsetCount = int(k, v, 1, 100_000_000); },
  maxControlEntryBytes: (c, v, k) => { c.maxControlEntryBytes = int(k, v, 64 * 1024, 64 * 1024 * 1024); },
  maxHeldPullsPerConnection: (c, v, k) => { c.maxHeldPullsPerConnection = int(k, v, 1, 1_000_000); },
  maxOpenConsumeQueueFiles: (c, v, k) => { c.maxOpenConsumeQueueFiles = int(k, v, 16, 1_000_000); },
  consumeQueueIdleCloseSeconds: (c, v, k) => { c.consumeQueueIdleCloseSeconds = int(k, v, 0, 86_400); },
  ...serverLimitSetters(int),
  grpcListenPort: (c, v, k) => { c.grpcListenPort = int(k, v, 0, 65535); },
  rebalanceLockMaxLiveTime: (c, v, k) => { c.rebalanceLockMaxLiveTime = int(k, v, 1000, 3_600_000); },
  duplicateWindowMs: (c, v, k) => { c.duplicateWindowMs = int(k, v, 0, 24 * 3_600_000); },
  duplicateWindowMaxEntries: (c, v, k) => { c.duplicateWindowMaxEntries = int(k, v, 1, 10_000_000); },
  transactionTimeOut: (c, v, k) => { c.transactionTimeOut = int(k, v, 100, 24 * 3600_000); },
  transactionCheckMax: (c, v, k) => { c.transactionCheckMax = int(k, v, 1, 1000); },
  transactionCheckInterval: (c, v, k) => { c.transactionCheckInterval = int(k, v, 100, 24 * 3600_000); },
  metricsPort: (c, v, k) => { c.metricsPort = int(k, v, 0, 65535); },
  frontDoorEnable: (c, v, k) => { c.frontDoorEnable = bool(k, v); },
  frontDoorPorts: (c, v, k) => {
    const ports: Record<string, number> = {};
    for (const item of v.split(';').map((s) => s.trim()).filter((s) => s !== '')) {
      const m = /^([^:]+):(\d{1,5})$/.exec(item);
      if (m === null) bad(k, v, 'nodeId:port pairs separated by ";" (for example n0:30911;n1:30912;n2:30913)');
      ports[m[1]!] = int(k, m[2]!, 1, 65535);
    }
    c.frontDoorPorts = ports;
  },
};

/** The store's file locations from broker.conf (unset keys keep the defaults under the store folder). */
export function storePathsOf(c: Readonly<BrokerConfig>): Partial<StorePaths> {
  const at = (v: string): string => resolve(c.storePathRootDir, v);
  return {
    ...(c.storePathConsumeQueue !== '' ? { consumeQueueDir: at(c.storePathConsumeQueue) } : {}),
    ...(c.storePathIndex !== '' ? { indexDir: at(c.storePathIndex) } : {}),
    ...(c.storeCheckpoint !== '' ? { checkpointFile: at(c.storeCheckpoint) } : {}),
    ...(c.abortFile !== '' ? { abortFile: at(c.abortFile) } : {}),
  };
}

/** Parses broker.conf text. Throws BrokerConfigError on the first bad value. */
export function parseBrokerConfig(text: string): ParsedBrokerConfig {
  const config: BrokerConfig = { ...DEFAULT_BROKER_CONFIG, namesrvAddr: [...DEFAULT_BROKER_CONFIG.namesrvAddr], deleteWhen: [...DEFAULT_BROKER_CONFIG.deleteWhen] };
  const warnings: string[] = [];
  for (const [key, value] of parseProperties(text)) {
    const set = SETTERS[key];
    if (set) set(config, value, key);
    else if (key in IGNORED_KEYS) warnings.push(`broker.conf: ${key} is ignored: ${IGNORED_KEYS[key]}`);
    else warnings.push(`broker.conf: unknown key ${key} (ignored)`);
  }
  if (!config.enableDLegerCommitLog) {
    throw new BrokerConfigError('enableDLegerCommitLog', 'broker.conf: enableDLegerCommitLog=false is not supported: every broker group here is a Raft group; set it to true');
  }
  for (const key of ['dLegerPeers', 'dLegerSelfId'] as const) {
    if (config[key] === '') throw new BrokerConfigError(key, `broker.conf: ${key} is required (for example dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913, dLegerSelfId=n0)`);
  }
  if (config.dLegerGroup === '') config.dLegerGroup = config.brokerName;
  const tlsNeeds: [boolean, string, (keyof BrokerConfig)[]][] = [[config.tlsEnable, 'tlsEnable', ['tlsCertPath', 'tlsKeyPath']], [config.raftTlsEnable, 'raftTlsEnable', ['tlsCertPath', 'tlsKeyPath', 'tlsCaPath']], [config.grpcTlsEnable, 'grpcTlsEnable', ['tlsCertPath', 'tlsKeyPath']]];
  for (const [on, flag, keys] of tlsNeeds) {
    const missing = on ? keys.find((k) => config[k] === '') : undefined;
    if (missing !== undefined) throw new BrokerConfigError(missing, `broker.conf: ${flag}=true needs ${missing} (a PEM file; docs/security.md shows how to make a test CA)`);
  }
  if (config.dLegerPeerSecret !== '' && config.dLegerPeerSecretFile !== '') {
    throw new BrokerConfigError('dLegerPeerSecretFile', 'broker.conf: set dLegerPeerSecret or dLegerPeerSecretFile, not both');
  }
  const limitsProblem = serverLimitsProblem(config);
  if (limitsProblem !== undefined) throw new BrokerConfigError(...limitsProblem);
  // One message is one Raft entry, and an entry never spans two data segments.
  const segmentMinBytes = config.maxMessageSize + SEGMENT_HEADROOM_BYTES;
  if (config.mappedFileSizeCommitLog < segmentMinBytes) {
    throw new BrokerConfigError('mappedFileSizeCommitLog', `broker.conf: mappedFileSizeCommitLog=${config.mappedFileSizeCommitLog} cannot hold a message of maxMessageSize=${config.maxMessageSize}: expected at least ${segmentMinBytes}`);
  }
  // Compared with the ids exactly as the Raft node will parse them, so a config that passes here
  // cannot fail later inside BrokerRaft with an error that does not name the key.
  const ids = peers('dLegerPeers', config.dLegerPeers).map((p) => p.id);
  if (!ids.includes(config.dLegerSelfId)) {
    throw new BrokerConfigError('dLegerSelfId', `broker.conf: dLegerSelfId=${config.dLegerSelfId} is not one of the ids in dLegerPeers (${ids.join(', ')})`);
  }
  if (config.dLegerPreferredLeaderId !== '' && !ids.includes(config.dLegerPreferredLeaderId)) {
    throw new BrokerConfigError('dLegerPreferredLeaderId', `broker.conf: dLegerPreferredLeaderId=${config.dLegerPreferredLeaderId} is not one of the ids in dLegerPeers (${ids.join(', ')})`);
  }
  if (config.frontDoorEnable) {
    for (const id of ids) {
      const port = config.frontDoorPorts[id];
      if (port === undefined) throw new BrokerConfigError('frontDoorPorts', `broker.conf: frontDoorEnable=true needs a port for every node of dLegerPeers in frontDoorPorts; ${id} has none`);
      if (port === config.listenPort || port === config.grpcListenPort) throw new BrokerConfigError('frontDoorPorts', `broker.conf: frontDoorPorts gives ${id} port ${port}, which listenPort or grpcListenPort already uses`);
    }
    if (new Set(ids.map((id) => config.frontDoorPorts[id])).size !== ids.length) throw new BrokerConfigError('frontDoorPorts', `broker.conf: frontDoorPorts=${Object.entries(config.frontDoorPorts).map(([i, p]) => `${i}:${p}`).join(';')} uses a port twice: every door needs its own port`);
  }
  return { config, warnings };
}
