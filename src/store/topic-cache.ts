// What dispatch knows per topic, found from the topic's bytes in a record without decoding them:
// the topic string, the Java hash of `topic#` (the prefix of every index key), whether it is the
// schedule topic, and its ConsumeQueues by queue id. Records of several topics interleave in a
// busy log (one producer per topic, or a batch per topic), so a one-entry "last topic" cache
// would decode the string and hash it again at every change of topic; this keeps every topic
// seen, keyed by the hash of its bytes, and compares the bytes to rule out collisions.

import type { ConsumeQueue } from './consume-queue.js';
import { javaUtf8Hash } from '../common/message/java-hash.js';

const HASH_CHAR = 0x23; // '#'
/** Topics kept at most; past it the cache starts over (bounded memory for a log of many topics). */
export const TOPIC_CACHE_SIZE_MAX = 4096;
/** Queue ids below this are found by an array lookup; others by the table. */
export const QUEUE_CACHE_SIZE = 1024;

export class TopicInfo {
  /** ConsumeQueues by queue id (ids below QUEUE_CACHE_SIZE), filled on first use. */
  readonly queues: (ConsumeQueue | undefined)[] = [];

  constructor(
    readonly bytes: Buffer,
    readonly topic: string,
    /** Java hash of the topic's UTF-8 bytes. */
    readonly hash: number,
    /** Java hash of `topic#`. */
    readonly prefixHash: number,
    readonly isScheduleTopic: boolean,
  ) {}

  /** Whether `buf[start, end)` holds exactly this topic's bytes. */
  matches(buf: Uint8Array, start: number, end: number): boolean {
    const bytes = this.bytes;
    if (end - start !== bytes.length) return false;
    for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
    return true;
  }
}

export class TopicCache {
  private readonly byHash = new Map<number, TopicInfo | TopicInfo[]>();
  private size = 0;
  /** The topic of the previous record: most records repeat it. */
  private last: TopicInfo | undefined;

  constructor(
    private readonly scheduleTopic: string,
    private readonly sizeMax = TOPIC_CACHE_SIZE_MAX,
  ) {}

  /** The topic whose UTF-8 bytes are `buf[start, end)`. Allocates only for a topic not seen yet. */
  find(buf: Buffer, start: number, end: number): TopicInfo {
    const last = this.last;
    if (last !== undefined && last.matches(buf, start, end)) return last;
    const hash = javaUtf8Hash(buf, start, end);
    const found = this.byHash.get(hash);
    let info: TopicInfo | undefined;
    if (found instanceof TopicInfo) {
      if (found.matches(buf, start, end)) info = found;
    } else if (found !== undefined) {
      // Bounded by the cache size: topics whose hashes collide.
      for (const candidate of found) if (candidate.matches(buf, start, end)) info = candidate;
    }
    info ??= this.add(buf, start, end, hash, found);
    this.last = info;
    return info;
  }

  private add(buf: Buffer, start: number, end: number, hash: number, sameHash: TopicInfo | TopicInfo[] | undefined): TopicInfo {
    if (this.size >= this.sizeMax) {
      this.clear();
      sameHash = undefined;
    }
    const topic = buf.toString('utf8', start, end);
    const info = new TopicInfo(Buffer.from(buf.subarray(start, end)), topic, hash, (Math.imul(hash, 31) + HASH_CHAR) | 0, topic === this.scheduleTopic);
    if (sameHash === undefined) this.byHash.set(hash, info);
    else if (sameHash instanceof TopicInfo) this.byHash.set(hash, [sameHash, info]);
    else sameHash.push(info);
    this.size++;
    return info;
  }

  /** Forgets every topic (their ConsumeQueues stay in the table). */
  clear(): void {
    this.byHash.clear();
    this.size = 0;
    this.last = undefined;
  }
}
