// Every ConsumeQueue of the store, by topic and queue id: opened from disk at start, created on
// the first message of a new topic-queue. Their files share one QueueFilePool: mapped on use,
// closed when idle or when too many are open (queue-file-pool.ts).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type FileLayer, realFileLayer } from '../../raft/storage/mapped-file.js';
import { ConsumeQueue, DEFAULT_UNITS_PER_FILE, topicFromDirName } from './consume-queue.js';
import { QueueFilePool, type QueueFilePoolOptions } from './queue-file-pool.js';

export class ConsumeQueueTable {
  private readonly byTopic = new Map<string, Map<number, ConsumeQueue>>();

  private constructor(
    private readonly root: string,
    readonly unitsPerFile: number,
    private readonly layer: FileLayer,
    /** The open-file budget of every queue of this table. */
    readonly pool: QueueFilePool,
  ) {}

  /** `root` holds the topic folders (the store's consumequeue folder, or storePathConsumeQueue). */
  static open(root: string, unitsPerFile = DEFAULT_UNITS_PER_FILE, layer: FileLayer = realFileLayer, poolOptions?: QueueFilePoolOptions): ConsumeQueueTable {
    const table = new ConsumeQueueTable(root, unitsPerFile, layer, poolOptions === undefined ? new QueueFilePool() : new QueueFilePool(poolOptions));
    let topics: string[] = [];
    try {
      topics = readdirSync(root);
    } catch {
      return table;
    }
    for (const dirName of topics) {
      for (const q of readdirSync(join(root, dirName))) {
        if (!/^-?\d+$/.test(q)) continue;
        const cq = table.create(topicFromDirName(dirName), Number(q));
        if (cq.maxOffset === 0) table.remove(cq);
      }
    }
    return table;
  }

  private create(topic: string, queueId: number): ConsumeQueue {
    const cq = ConsumeQueue.openIn(this.root, topic, queueId, this.unitsPerFile, this.layer, this.pool);
    let queues = this.byTopic.get(topic);
    if (!queues) this.byTopic.set(topic, (queues = new Map()));
    queues.set(queueId, cq);
    return cq;
  }

  private remove(cq: ConsumeQueue): void {
    cq.destroy();
    for (const [topic, queues] of this.byTopic) {
      for (const [id, q] of queues) if (q === cq) queues.delete(id);
      if (queues.size === 0) this.byTopic.delete(topic);
    }
  }

  /** The queue if it exists (has ever held a message). */
  find(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.byTopic.get(topic)?.get(queueId);
  }

  /** The queue, created (without files until its first unit) if new. */
  get(topic: string, queueId: number): ConsumeQueue {
    return this.find(topic, queueId) ?? this.create(topic, queueId);
  }

  *all(): Generator<ConsumeQueue> {
    for (const queues of this.byTopic.values()) yield* queues.values();
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  queueIds(topic: string): number[] {
    return [...(this.byTopic.get(topic)?.keys() ?? [])].sort((a, b) => a - b);
  }

  close(): void {
    for (const cq of this.all()) cq.close();
  }
}
