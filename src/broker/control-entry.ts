// The broker's control entries: replicated metadata commands that travel through the Raft log
// next to message records. A control payload carries a distinct magic at byte 4 (message records
// carry 0xDAA320A7 there, see isMessageRecordPayload) and a msgpackr body, so the dispatcher can
// tell the two apart without decoding, and a future version can add command kinds.
// A `metadata-snapshot` entry carries the whole metadata tables (split into consecutive parts when
// large) so a replica reset past the deleted log head can rebuild them (metadata-snapshot.ts).

import { Packr } from 'msgpackr';
import type { TopicConfig } from '../protocol/route-data.js';
import type { AclAccountDoc } from './acl/plain-acl.js';
import { RmqError } from '../common/errors.js';

export interface SubscriptionGroupConfig {
  groupName: string;
  consumeEnable: boolean;
  retryQueueNums: number;
  retryMaxTimes: number;
  /** Orderly consumption (RocketMQ's field): v5 PushConsumers of the group consume FIFO. Absent = false. */
  consumeMessageOrderly?: boolean;
}

/** Every new leader proposes one right after election so each replica learns its client address. */
export interface LeaderAnnouncement {
  nodeId: string;
  term: number;
  brokerAddr: string;
}

export interface ConsumerOffsetUpdate {
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

/** The replicated tables, as metadata.json and a metadata-snapshot entry hold them. */
export interface MetadataTables {
  topics: TopicConfig[];
  groups: SubscriptionGroupConfig[];
  /** [group, "topic@queueId", offset] */
  offsets: [string, string, number][];
  /** [level, offset] */
  delayOffsets: [number, number][];
  leader: LeaderAnnouncement | null;
  /** [nodeId, "ip:port"] of every node that ever announced itself. */
  brokerAddrs: [string, string][];
  /**
   * ACL accounts changed at run time (UPDATE_AND_CREATE_ACL_CONFIG / DELETE_ACL_CONFIG): each
   * overrides the account of that key in plain_acl.yml; `account: null` deletes it. Absent in
   * files and snapshots written before ACL replication existed (read as empty).
   */
  acl: AclOverride[];
}

export interface AclOverride {
  accessKey: string;
  account: AclAccountDoc | null;
}

/**
 * One part of a snapshot of the tables as of `asOfIndex` (the leader's metadata applied index
 * when it built it). A snapshot of `parts` parts is `parts` consecutive entries, part 0 first;
 * each part holds a slice of the tables and the union of all parts is the whole.
 */
export interface MetadataSnapshotPart {
  kind: 'metadata-snapshot';
  asOfIndex: number;
  part: number;
  parts: number;
  tables: MetadataTables;
}

export type ControlCommand =
  | { kind: 'topic-upsert'; config: TopicConfig }
  /** Also drops every group's offsets of the topic (a re-created topic starts without them). */
  | { kind: 'topic-delete'; topic: string }
  | { kind: 'group-upsert'; config: SubscriptionGroupConfig }
  /** With `cleanOffset`, the group's offsets go too. */
  | { kind: 'group-delete'; group: string; cleanOffset?: boolean }
  /** Consumer progress: each offset applies only if higher than the one held (never backwards). */
  | { kind: 'consumer-offsets'; offsets: ConsumerOffsetUpdate[] }
  /** An explicit reset: each offset replaces the one held, lower or not. */
  | { kind: 'consumer-offsets-reset'; offsets: ConsumerOffsetUpdate[] }
  | { kind: 'delay-offsets'; offsets: { level: number; offset: number }[] }
  | { kind: 'leader'; announcement: LeaderAnnouncement }
  /** An ACL account created or replaced (it wins over plain_acl.yml's account of that key). */
  | { kind: 'acl-account-upsert'; account: AclAccountDoc }
  /** An ACL account removed (also one plain_acl.yml lists). */
  | { kind: 'acl-account-delete'; accessKey: string }
  | MetadataSnapshotPart;

/** Bytes 0..3 ("RMQB") and 4..7 ("CTL1"): never the message magic at byte 4. */
const PREFIX = Buffer.from('RMQBCTL1', 'latin1');
const VERSION = 1;
const HEADER_BYTES = PREFIX.length + 1;
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export class ControlEntryError extends RmqError<'ERR_BROKER_BAD_CONTROL_ENTRY'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BROKER_BAD_CONTROL_ENTRY', message, options);
  }
}

export function isControlPayload(payload: Uint8Array): boolean {
  if (payload.length < HEADER_BYTES) return false;
  for (let i = 0; i < PREFIX.length; i++) if (payload[i] !== PREFIX[i]) return false;
  return true;
}

export function encodeControlEntry(command: ControlCommand): Buffer {
  const body = packr.pack(command);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  PREFIX.copy(out, 0);
  out[PREFIX.length] = VERSION;
  body.copy(out, HEADER_BYTES);
  return out;
}

const KINDS = new Set(['topic-upsert', 'topic-delete', 'group-upsert', 'group-delete', 'consumer-offsets', 'consumer-offsets-reset', 'delay-offsets', 'leader', 'acl-account-upsert', 'acl-account-delete', 'metadata-snapshot']);

/** Decodes a control payload; throws ControlEntryError for anything this version cannot read. */
export function decodeControlEntry(payload: Uint8Array): ControlCommand {
  if (!isControlPayload(payload)) throw new ControlEntryError('payload does not start with the control-entry magic');
  if (payload[PREFIX.length] !== VERSION) throw new ControlEntryError(`control entry version ${payload[PREFIX.length]} is not supported (this broker reads ${VERSION})`);
  let value: unknown;
  try {
    value = packr.unpack(Buffer.from(payload.buffer, payload.byteOffset + HEADER_BYTES, payload.length - HEADER_BYTES));
  } catch (err) {
    throw new ControlEntryError('control entry body is not msgpack', { cause: err });
  }
  if (typeof value !== 'object' || value === null || !KINDS.has((value as { kind?: unknown }).kind as string)) {
    throw new ControlEntryError(`control entry has an unknown kind ${JSON.stringify((value as { kind?: unknown } | null)?.kind)}`);
  }
  // A snapshot replaces whole tables on a reset replica: its shape is checked before anyone
  // trusts it, so a bad one is skipped alike on every replica instead of corrupting one.
  if ((value as { kind: string }).kind === 'metadata-snapshot') {
    const problem = snapshotPartProblem(value as Record<string, unknown>);
    if (problem !== undefined) throw new ControlEntryError(`metadata-snapshot entry is malformed: ${problem}`);
  }
  return value as ControlCommand;
}

const isIndex = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isTuple = (v: unknown, types: readonly string[]): boolean =>
  Array.isArray(v) && v.length === types.length && types.every((t, i) => typeof v[i] === t);
const isNamed = (v: unknown, key: string): boolean =>
  typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[key] === 'string';

/** What is wrong with a decoded metadata-snapshot body, or undefined when it is well formed. */
function snapshotPartProblem(v: Record<string, unknown>): string | undefined {
  if (!isIndex(v['asOfIndex'])) return `asOfIndex ${String(v['asOfIndex'])} is not an index`;
  const parts = v['parts'];
  const part = v['part'];
  if (!isIndex(parts) || (parts as number) < 1) return `parts ${String(parts)} is not a positive count`;
  if (!isIndex(part) || (part as number) >= (parts as number)) return `part ${String(part)} is not in 0..${String(parts)}`;
  const t = v['tables'];
  if (typeof t !== 'object' || t === null) return 'tables is missing';
  const tables = t as Record<string, unknown>;
  const lists: [string, (item: unknown) => boolean][] = [
    ['topics', (x) => isNamed(x, 'topicName')],
    ['groups', (x) => isNamed(x, 'groupName')],
    ['offsets', (x) => isTuple(x, ['string', 'string', 'number'])],
    ['delayOffsets', (x) => isTuple(x, ['number', 'number'])],
    ['brokerAddrs', (x) => isTuple(x, ['string', 'string'])],
  ];
  for (const [name, ok] of lists) {
    const list = tables[name];
    if (!Array.isArray(list)) return `tables.${name} is not a list`;
    if (!list.every(ok)) return `tables.${name} holds an item of the wrong shape`;
  }
  // Written before ACL replication existed: no acl list at all.
  if (tables['acl'] !== undefined && !(Array.isArray(tables['acl']) && tables['acl'].every((x) => isNamed(x, 'accessKey')))) return 'tables.acl is not a list of ACL overrides';
  if (tables['leader'] !== null && !isNamed(tables['leader'], 'nodeId')) return 'tables.leader is neither null nor an announcement';
  return undefined;
}
