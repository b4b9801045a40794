// One direction of one proxied TCP connection: bytes read from `source` are written to `dest`
// in order, after the link's delay and loss penalty, and never while the link is blocked.
// Backpressure is end to end: when the queue reaches its byte bound, or the destination socket
// is full, the source is paused, so the kernel buffers fill and the real sender blocks, exactly
// as it would behind a congested or partitioned network. A FIN from the source is forwarded
// only after every byte queued before it.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { chunkLatencyMs, hasLinkFaults, type LinkFaults } from './link-faults.js';
import type { SeededRandom } from './seeded-random.js';

/** What every pipe of one proxy shares: the link's current faults and state, counters. */
export interface PipeLink {
  faults(): LinkFaults;
  isBlocked(): boolean;
  readonly rng: SeededRandom;
  readonly maxBufferedBytes: number;
  readonly counters: { bytesForwarded: number; chunksLost: number };
}

/** Tiny chunks must not grow the queue past this even when the byte bound is far. */
const MAX_QUEUED_CHUNKS = 65_536;

interface QueuedChunk {
  chunk: Buffer;
  dueMs: number;
}

export class DirectedPipe {
  private queue: QueuedChunk[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  /** Chunks leave in order: none is due before the one queued ahead of it. */
  private lastDueMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private dest: Socket | null = null;
  private destFull = false;
  private sourceEnded = false;
  private endForwarded = false;
  private closed = false;

  constructor(
    private readonly source: Socket,
    private readonly link: PipeLink,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => {
      this.sourceEnded = true;
      this.pump();
    });
  }

  /** The destination becomes known when the upstream connection is established. */
  attach(dest: Socket): void {
    assert(this.dest === null, 'pipe destination attached twice');
    this.dest = dest;
    dest.on('drain', () => {
      this.destFull = false;
      this.pump();
    });
    this.pump();
  }

  /** Forwards what is due, or holds everything while blocked. Called on every state change. */
  pump(): void {
    if (this.closed) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.link.isBlocked()) {
      // A partition: nothing crosses, and the sender's own buffers fill up behind it.
      this.source.pause();
      return;
    }
    const dest = this.dest;
    if (dest === null || dest.destroyed) return;
    const nowMs = Date.now();
    // Bounded: each pass removes one queued chunk.
    while (this.queueHead < this.queue.length && !this.destFull) {
      const head = this.queue[this.queueHead]!;
      if (head.dueMs > nowMs) {
        this.timer = setTimeout(() => this.pump(), head.dueMs - nowMs);
        break;
      }
      this.queue[this.queueHead++] = undefined as unknown as QueuedChunk;
      this.queuedBytes -= head.chunk.length;
      this.write(dest, head.chunk);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      // A link that never fully drains (steady delay) must not grow the array without bound.
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      if (this.sourceEnded && !this.endForwarded && !this.destFull) {
        this.endForwarded = true;
        dest.end();
      }
    }
    const roomLeft = this.queuedBytes < this.link.maxBufferedBytes && this.queue.length - this.queueHead < MAX_QUEUED_CHUNKS;
    if (!this.destFull && roomLeft && !this.sourceEnded) this.source.resume();
  }

  /** Stops forwarding for good; queued bytes are dropped (the connection is being torn down). */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const faults = this.link.faults();
    const idle = this.queueHead === this.queue.length;
    if (idle && this.dest !== null && !this.destFull && !this.link.isBlocked() && !hasLinkFaults(faults)) {
      // The common case of a healthy link: straight through, no queue, no timer.
      this.write(this.dest, chunk);
      return;
    }
    const { latencyMs, losses } = chunkLatencyMs(faults, this.link.rng);
    this.link.counters.chunksLost += losses;
    const dueMs = Math.max(Date.now() + latencyMs, this.lastDueMs);
    this.lastDueMs = dueMs;
    this.queue.push({ chunk, dueMs });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= this.link.maxBufferedBytes || this.queue.length - this.queueHead >= MAX_QUEUED_CHUNKS) this.source.pause();
    if (this.queueHead + 1 === this.queue.length) this.pump();
  }

  private write(dest: Socket, chunk: Buffer): void {
    this.link.counters.bytesForwarded += chunk.length;
    if (!dest.write(chunk)) {
      this.destFull = true;
      this.source.pause();
    }
  }
}
