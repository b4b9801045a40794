// The replicated metadata state machine: topic configs, subscription groups, consumer offsets,
// delay offsets and leader announcements, changed only by committed control entries applied in
// index order, so every replica holds the same tables. It remembers the last index it applied
// (control entries are redelivered after a restart) and persists itself to one JSON file
// (written to a temp file, fsynced, renamed) so a restart need not replay the whole log.
// It also knows whether its tables are complete: a replica whose log was reset past entries it
// never applied (or that starts from a log whose head is past its saved state) misses their
// effect until it installs a metadata-snapshot entry (metadata-snapshot.ts); the marker is saved
// with the tables so a restart in between keeps it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { isValidGroupName, isValidTopicName } from '../common/names.js';
import type { TopicConfig } from '../protocol/route-data.js';
import type { MetadataView } from './broker-context.js';
import type { AclAccountDoc } from './acl/plain-acl.js';
import type { ControlCommand, LeaderAnnouncement, MetadataSnapshotPart, MetadataTables, SubscriptionGroupConfig } from './control-entry.js';
import { writeJsonFileInBackground, writeJsonFileSync } from './metadata-file.js';
import { collectSnapshotParts, mergeSnapshotParts, type ControlLog, type SnapshotMark } from './metadata-snapshot.js';

/** metadata.json. Files written before the snapshot entries existed lack the two markers. */
interface Snapshot extends MetadataTables {
  version: 1;
  appliedIndex: number;
  /** 0 when complete, else the highest index whose effect the tables may lack. */
  missingThrough?: number;
  latestSnapshot?: SnapshotMark | null;
}

/** What applying a metadata-snapshot entry did. */
export type SnapshotOutcome =
  /** At or below the applied index: a redelivery, nothing done. */
  | 'stale'
  /** Not the last part: the whole snapshot is handled at its last part. */
  | 'part'
  /** The tables were complete (identical or newer): content ignored, recorded as the latest snapshot. */
  | 'recorded'
  /** The tables were incomplete: replaced by the snapshot, later entries re-applied; complete now. */
  | 'installed'
  /** Incomplete tables and a snapshot that cannot fill the gap (too old, or entries missing locally). */
  | 'unusable'
  /** The parts in the log are not one whole snapshot (a leader change cut it short); skipped. */
  | 'broken';

export function offsetKey(topic: string, queueId: number): string {
  return `${topic}@${queueId}`;
}

export class MetadataState implements MetadataView {
  private readonly topicTable = new Map<string, TopicConfig>();
  private readonly groupTable = new Map<string, SubscriptionGroupConfig>();
  private readonly offsetTable = new Map<string, Map<string, number>>();
  private readonly delayTable = new Map<number, number>();
  /** Client address of every node that ever announced itself (nodeId → "ip:port"). */
  private readonly addrByNode = new Map<string, string>();
  /** ACL accounts changed at run time, by access key; null: deleted (src/broker/acl/acl-rules.ts). */
  private readonly aclTable = new Map<string, AclAccountDoc | null>();
  private leader: LeaderAnnouncement | undefined;
  private applied = 0;
  private savedIndex = -1;
  /** 0 when the tables reflect every committed control entry up to `applied`; see markIncomplete. */
  private missingThrough = 0;
  private latest: SnapshotMark | undefined;
  /** Why the last snapshot entry was not used, for the caller's log. */
  private lastSnapshotProblem = '';
  /** A background save is writing; a synchronous save meanwhile asks for one more after it. */
  private backgroundSave: Promise<void> | undefined;
  private saveAgain = false;
  /** Listeners told after each applied command (the broker re-registers on topic changes). */
  private readonly listeners: ((index: number, command: ControlCommand) => void)[] = [];

  get appliedIndex(): number {
    return this.applied;
  }

  /** True when something was applied since the last save. */
  get dirty(): boolean {
    return this.savedIndex !== this.applied;
  }

  /** False while the tables may lack the effect of entries this replica never applied. */
  get complete(): boolean {
    return this.missingThrough === 0;
  }

  /** The highest index whose effect the tables may lack (0 when complete). */
  get incompleteThrough(): number {
    return this.missingThrough;
  }

  /** The latest whole snapshot applied here while complete, or installed here. */
  get latestSnapshot(): SnapshotMark | undefined {
    return this.latest;
  }

  /** Why the last snapshot outcome was 'unusable' or 'broken'. */
  get snapshotProblem(): string {
    return this.lastSnapshotProblem;
  }

  /**
   * The log no longer holds entries up to `throughIndex` and this state never applied those past
   * its applied index (a reset to the leader's head, or a log whose head is past the saved
   * state): their effect is missing until a snapshot is installed. Those entries will never be
   * applied, so the applied index moves to `throughIndex`. Returns whether anything was missing.
   */
  markIncomplete(throughIndex: number): boolean {
    if (throughIndex <= this.applied) return false;
    this.missingThrough = Math.max(this.missingThrough, throughIndex);
    this.applied = throughIndex;
    // A snapshot recorded before the gap cannot help a reset peer past it any more.
    this.latest = undefined;
    return true;
  }

  onApplied(listener: (index: number, command: ControlCommand) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Applies a committed command; entries at or below the applied index are ignored (redelivery).
   * A metadata-snapshot part goes through applySnapshotPart, which needs the log.
   */
  apply(index: number, command: ControlCommand): boolean {
    assert(command.kind !== 'metadata-snapshot', 'a metadata-snapshot entry is applied with applySnapshotPart');
    if (index <= this.applied) return false;
    this.applied = index;
    const named = withValidNames(command);
    if (named === undefined) return true;
    this.change(named);
    for (const l of this.listeners) l(index, named);
    return true;
  }

  /**
   * Applies one part of a metadata snapshot committed at `index`; the snapshot is acted on at its
   * last part. Complete tables are identical to the snapshot's or newer (every entry before it
   * was applied in order), so its content is ignored and it is only recorded as the latest
   * snapshot. Incomplete tables are replaced by it when it can fill the gap (as of an index at or
   * past what is missing), then the control entries committed between its `asOfIndex` and its
   * first part are re-applied from `log`; listeners then hear of the snapshot once.
   */
  applySnapshotPart(index: number, part: MetadataSnapshotPart, log: ControlLog): SnapshotOutcome {
    if (index <= this.applied) return 'stale';
    this.applied = index;
    if (part.part !== part.parts - 1) return 'part';
    const first = index - part.parts + 1;
    if (this.complete) {
      // Log Matching: a committed last part is preceded by the parts its leader proposed with it
      // in one batch, so a complete replica need not read (and decode) them back.
      if (part.asOfIndex >= first) return this.skipSnapshot('broken', `it is as of index ${part.asOfIndex}, not before its first part at ${first}`);
      this.latest = { index, asOfIndex: part.asOfIndex };
      return 'recorded';
    }
    if (part.asOfIndex < this.missingThrough) {
      return this.skipSnapshot('unusable', `it is as of index ${part.asOfIndex}, before ${this.missingThrough} which this replica misses`);
    }
    const parts = collectSnapshotParts(part, index, log);
    if (typeof parts === 'string') return this.skipSnapshot('broken', parts);
    const later = log.controlEntries(part.asOfIndex + 1, first);
    if (later === undefined) return this.skipSnapshot('unusable', `the entries after its index ${part.asOfIndex} are not all in the local log`);
    this.install(mergeSnapshotParts(parts));
    // Bounded by the entries between the snapshot's index and its first part.
    for (const e of later) {
      if (e.command.kind === 'metadata-snapshot') continue;
      const named = withValidNames(e.command);
      if (named !== undefined) this.change(named);
    }
    this.missingThrough = 0;
    this.latest = { index, asOfIndex: part.asOfIndex };
    for (const l of this.listeners) l(index, part);
    return 'installed';
  }

  private skipSnapshot(outcome: 'unusable' | 'broken', problem: string): SnapshotOutcome {
    this.lastSnapshotProblem = problem;
    return outcome;
  }

  /** Replaces every table with `t`. */
  private install(t: MetadataTables): void {
    this.topicTable.clear();
    this.groupTable.clear();
    this.offsetTable.clear();
    this.delayTable.clear();
    this.addrByNode.clear();
    this.aclTable.clear();
    this.fill(t);
  }

  /** Items whose names break the naming rules (older versions let some in) are left out. */
  private fill(all: MetadataTables): void {
    const t = tablesWithValidNames(all);
    for (const topic of t.topics) this.topicTable.set(topic.topicName, { ...topic });
    for (const g of t.groups) this.groupTable.set(g.groupName, { ...g });
    for (const [group, k, v] of t.offsets) {
      let table = this.offsetTable.get(group);
      if (!table) this.offsetTable.set(group, (table = new Map()));
      table.set(k, v);
    }
    for (const [level, offset] of t.delayOffsets) this.delayTable.set(level, offset);
    this.leader = t.leader === null ? undefined : { ...t.leader };
    for (const [id, addr] of t.brokerAddrs) this.addrByNode.set(id, addr);
    // Absent from files and snapshots of versions before ACL replication.
    for (const o of t.acl ?? []) this.aclTable.set(o.accessKey, o.account === null ? null : { ...o.account });
  }

  /** The effect of one command on the tables (no index bookkeeping, no listeners). */
  private change(command: Exclude<ControlCommand, MetadataSnapshotPart>): void {
    switch (command.kind) {
      case 'topic-upsert':
        this.topicTable.set(command.config.topicName, { ...command.config });
        break;
      case 'topic-delete': {
        this.topicTable.delete(command.topic);
        const prefix = `${command.topic}@`;
        for (const table of this.offsetTable.values()) {
          for (const k of table.keys()) if (k.startsWith(prefix) && !k.slice(prefix.length).includes('@')) table.delete(k);
        }
        break;
      }
      case 'group-upsert':
        this.groupTable.set(command.config.groupName, { ...command.config });
        break;
      case 'group-delete':
        this.groupTable.delete(command.group);
        if (command.cleanOffset === true) this.offsetTable.delete(command.group);
        break;
      case 'consumer-offsets':
      case 'consumer-offsets-reset':
        for (const u of command.offsets) {
          let table = this.offsetTable.get(u.group);
          if (!table) this.offsetTable.set(u.group, (table = new Map()));
          const key = offsetKey(u.topic, u.queueId);
          const known = table.get(key);
          // Offsets only move forward; a reset is the one command that may move one back.
          if (command.kind === 'consumer-offsets-reset' || known === undefined || u.offset > known) table.set(key, u.offset);
        }
        break;
      case 'delay-offsets':
        for (const d of command.offsets) this.delayTable.set(d.level, d.offset);
        break;
      case 'leader':
        // Announcements commit in term order (a leader of term T proposes after winning T).
        if (!this.leader || command.announcement.term >= this.leader.term) this.leader = { ...command.announcement };
        this.addrByNode.set(command.announcement.nodeId, command.announcement.brokerAddr);
        break;
      case 'acl-account-upsert':
        this.aclTable.set(command.account.accessKey, { ...command.account });
        break;
      case 'acl-account-delete':
        this.aclTable.set(command.accessKey, null);
        break;
    }
  }

  /** Marks an index with no command (a message or no-op entry) as seen: keeps appliedIndex monotonic. */
  skipTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  topic(name: string): TopicConfig | undefined {
    return this.topicTable.get(name);
  }

  topics(): IterableIterator<TopicConfig> {
    return this.topicTable.values();
  }

  subscriptionGroup(name: string): SubscriptionGroupConfig | undefined {
    return this.groupTable.get(name);
  }

  subscriptionGroupCount(): number {
    return this.groupTable.size;
  }

  /** (group, topic, queue) entries of the offset table; O(groups). */
  consumerOffsetCount(): number {
    let n = 0;
    for (const table of this.offsetTable.values()) n += table.size;
    return n;
  }

  consumerOffset(group: string, topic: string, queueId: number): number | undefined {
    return this.offsetTable.get(group)?.get(offsetKey(topic, queueId));
  }

  /** Groups that committed at least one offset (consumer lag metrics). */
  consumerOffsetGroups(): string[] {
    return [...this.offsetTable.keys()];
  }

  consumerOffsetsOf(group: string): ReadonlyMap<string, number> {
    return this.offsetTable.get(group) ?? new Map();
  }

  delayOffset(level: number): number | undefined {
    return this.delayTable.get(level);
  }

  delayOffsets(): ReadonlyMap<number, number> {
    return this.delayTable;
  }

  leaderAnnouncement(): LeaderAnnouncement | undefined {
    return this.leader;
  }

  /** The client address a node announced when it last led, if it ever did. */
  brokerAddrOf(nodeId: string): string | undefined {
    return this.addrByNode.get(nodeId);
  }

  /** ACL accounts changed at run time (null: deleted), in the order they were first changed. */
  aclOverrides(): ReadonlyMap<string, AclAccountDoc | null> {
    return this.aclTable;
  }

  /** The tables alone, as a metadata-snapshot entry carries them. */
  toTables(): MetadataTables {
    const offsets: [string, string, number][] = [];
    for (const [group, table] of this.offsetTable) for (const [k, v] of table) offsets.push([group, k, v]);
    return {
      topics: [...this.topicTable.values()],
      groups: [...this.groupTable.values()],
      offsets,
      delayOffsets: [...this.delayTable],
      leader: this.leader ?? null,
      brokerAddrs: [...this.addrByNode],
      acl: [...this.aclTable].map(([accessKey, account]) => ({ accessKey, account })),
    };
  }

  toSnapshot(): Snapshot {
    return { version: 1, appliedIndex: this.applied, missingThrough: this.missingThrough, latestSnapshot: this.latest ?? null, ...this.toTables() };
  }

  static fromSnapshot(s: Snapshot): MetadataState {
    if (s.version !== 1) throw new Error(`metadata snapshot version ${String(s.version)} is not supported`);
    const m = new MetadataState();
    m.applied = s.appliedIndex;
    m.savedIndex = s.appliedIndex;
    m.missingThrough = s.missingThrough ?? 0;
    m.latest = s.latestSnapshot ?? undefined;
    m.fill(s);
    return m;
  }

  /** Loads `<dir>/metadata.json`, or an empty state when there is none. */
  static load(file: string): MetadataState {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new MetadataState();
      throw err;
    }
    return MetadataState.fromSnapshot(JSON.parse(text) as Snapshot);
  }

  /** Writes the snapshot at once, atomically (temp file, fsync, rename). */
  save(file: string): void {
    writeJsonFileSync(file, this.toSnapshot());
    this.savedIndex = this.applied;
    // A background save still writing holds older tables and renames after this one.
    if (this.backgroundSave !== undefined) this.saveAgain = true;
  }

  /**
   * Writes the snapshot without holding the event loop for long (metadata-file.ts); one at a
   * time: while one is writing, this returns that one. Resolves when it is durable.
   */
  saveInBackground(file: string): Promise<void> {
    if (this.backgroundSave !== undefined) return this.backgroundSave;
    const index = this.applied;
    // Copies of the table lists: applies during the write change the maps, not these arrays,
    // and table items are replaced on change, never edited in place.
    const snapshot = this.toSnapshot();
    this.backgroundSave = writeJsonFileInBackground(file, snapshot as unknown as Record<string, unknown>).then(
      () => {
        this.backgroundSave = undefined;
        if (this.savedIndex < index) this.savedIndex = index;
        if (this.saveAgain) {
          this.saveAgain = false;
          this.save(file);
        }
      },
      (err: unknown) => {
        this.backgroundSave = undefined;
        this.saveAgain = false;
        throw err;
      },
    );
    return this.backgroundSave;
  }

  /** Settles when no background save is writing (before a synchronous save at shutdown). */
  async backgroundSaveDone(): Promise<void> {
    await this.backgroundSave?.catch(() => undefined);
  }
}

/** The command without parts whose names break the rules, or undefined when nothing is left. */
function withValidNames(command: Exclude<ControlCommand, MetadataSnapshotPart>): Exclude<ControlCommand, MetadataSnapshotPart> | undefined {
  switch (command.kind) {
    case 'topic-upsert':
      return isValidTopicName(command.config.topicName) ? command : undefined;
    case 'group-upsert':
      return isValidGroupName(command.config.groupName) ? command : undefined;
    case 'consumer-offsets': {
      const offsets = command.offsets.filter((u) => isValidGroupName(u.group) && isValidTopicName(u.topic));
      if (offsets.length === command.offsets.length) return command;
      return offsets.length === 0 ? undefined : { kind: 'consumer-offsets', offsets };
    }
    default:
      // Deletes must still remove a bad name an older version stored.
      return command;
  }
}

function tablesWithValidNames(t: MetadataTables): MetadataTables {
  return {
    ...t,
    topics: t.topics.filter((x) => isValidTopicName(x.topicName)),
    groups: t.groups.filter((x) => isValidGroupName(x.groupName)),
    offsets: t.offsets.filter(([group, key]) => isValidGroupName(group) && isValidTopicName(key.slice(0, key.lastIndexOf('@')))),
  };
}

export function metadataFile(storeRoot: string): string {
  return join(storeRoot, 'metadata.json');
}
