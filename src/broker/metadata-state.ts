// The replicated metadata state machine: topic configs, subscription groups, consumer offsets,
// delay offsets and leader announcements, changed only by committed control entries applied in
// index order, so every replica holds the same tables. It remembers the last index it applied
// (control entries are redelivered after a restart) and persists itself to one JSON file
// (written to a temp file, fsynced, renamed) so a restart need not replay the whole log.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TopicConfig } from '../protocol/route-data.js';
import type { MetadataView } from './broker-context.js';
import type { ControlCommand, LeaderAnnouncement, SubscriptionGroupConfig } from './control-entry.js';

interface Snapshot {
  version: 1;
  appliedIndex: number;
  topics: TopicConfig[];
  groups: SubscriptionGroupConfig[];
  /** [group, "topic@queueId", offset] */
  offsets: [string, string, number][];
  delayOffsets: [number, number][];
  leader: LeaderAnnouncement | null;
  brokerAddrs: [string, string][];
}

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
  private leader: LeaderAnnouncement | undefined;
  private applied = 0;
  private savedIndex = -1;
  /** Listeners told after each applied command (the broker re-registers on topic changes). */
  private readonly listeners: ((index: number, command: ControlCommand) => void)[] = [];

  get appliedIndex(): number {
    return this.applied;
  }

  /** True when something was applied since the last save. */
  get dirty(): boolean {
    return this.savedIndex !== this.applied;
  }

  onApplied(listener: (index: number, command: ControlCommand) => void): void {
    this.listeners.push(listener);
  }

  /** Applies a committed command; entries at or below the applied index are ignored (redelivery). */
  apply(index: number, command: ControlCommand): boolean {
    if (index <= this.applied) return false;
    this.applied = index;
    switch (command.kind) {
      case 'topic-upsert':
        this.topicTable.set(command.config.topicName, { ...command.config });
        break;
      case 'topic-delete':
        this.topicTable.delete(command.topic);
        break;
      case 'group-upsert':
        this.groupTable.set(command.config.groupName, { ...command.config });
        break;
      case 'group-delete':
        this.groupTable.delete(command.group);
        break;
      case 'consumer-offsets':
        for (const u of command.offsets) {
          let table = this.offsetTable.get(u.group);
          if (!table) this.offsetTable.set(u.group, (table = new Map()));
          table.set(offsetKey(u.topic, u.queueId), u.offset);
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
    }
    for (const l of this.listeners) l(index, command);
    return true;
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

  consumerOffset(group: string, topic: string, queueId: number): number | undefined {
    return this.offsetTable.get(group)?.get(offsetKey(topic, queueId));
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

  toSnapshot(): Snapshot {
    const offsets: [string, string, number][] = [];
    for (const [group, table] of this.offsetTable) for (const [k, v] of table) offsets.push([group, k, v]);
    return {
      version: 1,
      appliedIndex: this.applied,
      topics: [...this.topicTable.values()],
      groups: [...this.groupTable.values()],
      offsets,
      delayOffsets: [...this.delayTable],
      leader: this.leader ?? null,
      brokerAddrs: [...this.addrByNode],
    };
  }

  static fromSnapshot(s: Snapshot): MetadataState {
    if (s.version !== 1) throw new Error(`metadata snapshot version ${String(s.version)} is not supported`);
    const m = new MetadataState();
    m.applied = s.appliedIndex;
    m.savedIndex = s.appliedIndex;
    for (const t of s.topics) m.topicTable.set(t.topicName, t);
    for (const g of s.groups) m.groupTable.set(g.groupName, g);
    for (const [group, k, v] of s.offsets) {
      let table = m.offsetTable.get(group);
      if (!table) m.offsetTable.set(group, (table = new Map()));
      table.set(k, v);
    }
    for (const [level, offset] of s.delayOffsets) m.delayTable.set(level, offset);
    m.leader = s.leader ?? undefined;
    for (const [id, addr] of s.brokerAddrs) m.addrByNode.set(id, addr);
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

  /** Writes the snapshot atomically (temp file, fsync, rename). */
  save(file: string): void {
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(this.toSnapshot()));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dirFd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.savedIndex = this.applied;
  }
}

export function metadataFile(storeRoot: string): string {
  return join(storeRoot, 'metadata.json');
}
