// Where consumed offsets live. Clustering: on the broker (QUERY/UPDATE_CONSUMER_OFFSET), cached
// here and persisted every 5 s and on shutdown. Broadcasting: in this process (memory), and in a
// JSON file when a directory is given, so a restarted broadcasting consumer resumes.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClientInstance } from './client-instance.js';
import { queueKey, type MessageQueue } from './message.js';
import { queryConsumerOffset, updateConsumerOffset } from './broker-api.js';

export interface OffsetStore {
  /** The stored offset, or -1 when none; `fromStore` reads the backing store instead of the cache. */
  read(mq: MessageQueue, fromStore: boolean): Promise<number>;
  /** Records an offset in memory; `increaseOnly` ignores a smaller one. */
  update(mq: MessageQueue, offset: number, increaseOnly: boolean): void;
  /** Writes changed offsets of these queues to the backing store. */
  persistAll(mqs: readonly MessageQueue[]): Promise<void>;
  persist(mq: MessageQueue): Promise<void>;
  remove(mq: MessageQueue): void;
}

interface Entry {
  mq: MessageQueue;
  offset: number;
  persisted: number;
}

export class RemoteOffsetStore implements OffsetStore {
  private readonly table = new Map<string, Entry>();

  constructor(
    private readonly instance: ClientInstance,
    private readonly group: string,
  ) {}

  async read(mq: MessageQueue, fromStore: boolean): Promise<number> {
    const key = queueKey(mq);
    const cached = this.table.get(key);
    if (!fromStore && cached !== undefined) return cached.offset;
    const addr = this.instance.routes.addrFor(mq.brokerName);
    if (addr === undefined) await this.instance.routes.refresh(mq.topic);
    const offset = await queryConsumerOffset(this.instance, this.instance.routes.addrFor(mq.brokerName) ?? '', this.group, mq);
    if (offset >= 0) this.table.set(key, { mq, offset, persisted: offset });
    return offset;
  }

  update(mq: MessageQueue, offset: number, increaseOnly: boolean): void {
    const key = queueKey(mq);
    const e = this.table.get(key);
    if (e === undefined) this.table.set(key, { mq, offset, persisted: -1 });
    else if (!increaseOnly || offset > e.offset) e.offset = offset;
  }

  async persistAll(mqs: readonly MessageQueue[]): Promise<void> {
    await Promise.all(mqs.map((mq) => this.persist(mq)));
  }

  async persist(mq: MessageQueue): Promise<void> {
    const e = this.table.get(queueKey(mq));
    if (e === undefined || e.offset < 0 || e.offset === e.persisted) return;
    const addr = this.instance.routes.masterAddr(mq.brokerName) ?? this.instance.routes.addrFor(mq.brokerName);
    if (addr === undefined) return;
    const offset = e.offset;
    await updateConsumerOffset(this.instance, addr, this.group, mq, offset);
    e.persisted = Math.max(e.persisted, offset);
  }

  remove(mq: MessageQueue): void {
    this.table.delete(queueKey(mq));
  }
}

export class LocalOffsetStore implements OffsetStore {
  private readonly table = new Map<string, Entry>();
  private readonly file: string | undefined;
  private loaded = false;

  /** `dir` undefined keeps offsets in memory only. */
  constructor(dir: string | undefined, clientId: string, group: string) {
    this.file = dir === undefined ? undefined : path.join(dir, clientId.replace(/[^a-zA-Z0-9_.-]/g, '_'), group, 'offsets.json');
  }

  async read(mq: MessageQueue, fromStore: boolean): Promise<number> {
    if (fromStore || !this.loaded) this.load();
    return this.table.get(queueKey(mq))?.offset ?? -1;
  }

  update(mq: MessageQueue, offset: number, increaseOnly: boolean): void {
    const key = queueKey(mq);
    const e = this.table.get(key);
    if (e === undefined) this.table.set(key, { mq, offset, persisted: -1 });
    else if (!increaseOnly || offset > e.offset) e.offset = offset;
  }

  async persistAll(): Promise<void> {
    if (this.file === undefined) return;
    const out: Record<string, number> = {};
    for (const [key, e] of this.table) out[key] = e.offset;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(out));
    renameSync(tmp, this.file);
  }

  persist(): Promise<void> {
    return this.persistAll();
  }

  remove(mq: MessageQueue): void {
    this.table.delete(queueKey(mq));
  }

  private load(): void {
    this.loaded = true;
    if (this.file === undefined) return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    const parsed = JSON.parse(text) as Record<string, number>;
    for (const [key, offset] of Object.entries(parsed)) {
      const [topic, brokerName, queueId] = key.split('@');
      if (topic === undefined || brokerName === undefined || queueId === undefined || !Number.isSafeInteger(offset)) continue;
      if (!this.table.has(key)) this.table.set(key, { mq: { topic, brokerName, queueId: Number(queueId) }, offset, persisted: offset });
    }
  }
}
