// The replica digest the divergence checker compares across nodes: a SHA-256 over the committed
// log (index, term, type and payload of every entry up to an index) and one over every
// ConsumeQueue's units. Replicas that agree on the committed prefix and dispatched the same
// entries produce identical digests; reading is bounded by the log and queue sizes.

import { createHash } from 'node:crypto';
import type { LogStorage } from '../../raft/index.js';
import type { ReplicaDigestBody } from '../protocol/route-data.js';
import type { MessageStore } from '../store/index.js';


/** Where a digest starts, so replicas whose retention deleted different heads compare alike. */
export interface DigestRange {
  /** Hash the log from this index (or the node's first index, if higher). */
  fromIndex?: number;
  /** "topic@queueId" → hash that ConsumeQueue from this offset (or its min offset, if higher). */
  queueFromOffsets?: Readonly<Record<string, number>>;
}

const READ_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Hashes the log over [max(fromIndex, firstIndex), upToIndex]. Replicas whose retention deleted
 * different heads compare over the range they all still hold: the caller asks each for the
 * highest first index among them.
 */
export function logDigest(log: LogStorage, upToIndex: number, fromIndex = 0): { firstIndex: number; upToIndex: number; sha256: string } {
  const hash = createHash('sha256');
  const first = Math.max(log.firstIndex(), fromIndex);
  const last = Math.min(upToIndex, log.lastIndex());
  const head = Buffer.alloc(20);
  let next = first;
  // Bounded: each round hashes at least one entry.
  while (next <= last) {
    const batch = log.entries(next, last + 1, READ_BATCH_BYTES);
    if (batch.length === 0) break;
    for (const e of batch) {
      head.writeDoubleBE(e.index, 0);
      head.writeDoubleBE(e.term, 8);
      head.writeUInt32BE(e.type, 16);
      hash.update(head);
      hash.update(e.payload);
      next = e.index + 1;
    }
  }
  return { firstIndex: first, upToIndex: next - 1, sha256: hash.digest('hex') };
}

/**
 * One digest per ConsumeQueue over the units in [from, maxOffset), where `from` is the queue's
 * min offset or, when `fromOffsets` names the queue ("topic@queueId"), the larger of the two:
 * retention moves each replica's min offset on its own schedule, so a checker compares replicas
 * over the offsets they all still hold.
 */
export function consumeQueueDigests(store: MessageStore, fromOffsets: Readonly<Record<string, number>> = {}): { queues: ReplicaDigestBody['consumeQueues']; sha256: string } {
  const queues: ReplicaDigestBody['consumeQueues'] = {};
  const unit = { physicalOffset: 0, size: 0, tagHash: 0 };
  const buf = Buffer.alloc(24);
  for (const cq of store.queues.all()) {
    const hash = createHash('sha256');
    const key = `${cq.topic}@${cq.queueId}`;
    const from = Math.max(cq.minOffset, fromOffsets[key] ?? 0);
    for (let q = from; q < cq.maxOffset; q++) {
      if (!cq.read(q, unit)) break;
      buf.writeDoubleBE(unit.physicalOffset, 0);
      buf.writeInt32BE(unit.size, 8);
      buf.writeDoubleBE(unit.tagHash, 12);
      hash.update(buf.subarray(0, 20));
    }
    queues[key] = { minOffset: cq.minOffset, maxOffset: cq.maxOffset, hashedFrom: from, sha256: hash.digest('hex') };
  }
  const all = createHash('sha256');
  for (const key of Object.keys(queues).sort()) all.update(`${key}=${queues[key]!.hashedFrom}-${queues[key]!.maxOffset}:${queues[key]!.sha256};`);
  return { queues, sha256: all.digest('hex') };
}
