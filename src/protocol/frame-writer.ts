// Per-connection write coalescing: frames queued during one callback (and the promise reactions
// it sets off) leave in a single socket.write once that callback is done (process.nextTick runs
// after the microtask queue drains). One write per frame costs ~2.5x the CPU (measured
// with the benchmarks, docs/performance.md), so neither server nor client ever writes a frame directly. Flushing at
// the next setImmediate instead cost every answer one more event-loop iteration of latency.
import type { Socket } from 'node:net';
import { encodeFrameHead } from './frame-codec.js';
import type { RemotingCommand } from './remoting-command.js';

export const DEFAULT_MAX_WRITE_BACKLOG_BYTES = 256 * 1024 * 1024;

export class FrameWriter {
  private parts: Buffer[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private readonly flushBound = (): void => this.flush();

  constructor(
    private readonly socket: Socket,
    private readonly maxBacklogBytes = DEFAULT_MAX_WRITE_BACKLOG_BYTES,
    /**
     * Called after a flush the socket took without asking for a 'drain' (the kernel took it all);
     * with 'drain' it tells the owner when a backlog is gone.
     */
    private readonly onWritable?: () => void,
  ) {}

  /** Bytes queued here plus bytes the socket has not written yet. */
  get backlogBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /**
   * Queues a frame. Returns false (and queues nothing) when the backlog is over its bound: the
   * peer is not reading, and the caller decides whether to fail the request or drop the peer.
   */
  enqueue(cmd: RemotingCommand): boolean {
    if (this.socket.destroyed) return false;
    const head = encodeFrameHead(cmd);
    const bodyBytes = cmd.body?.length ?? 0;
    if (this.backlogBytes + head.length + bodyBytes > this.maxBacklogBytes) return false;
    this.parts.push(head);
    this.queuedBytes += head.length;
    if (cmd.body !== undefined && bodyBytes > 0) {
      this.parts.push(cmd.body);
      this.queuedBytes += bodyBytes;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushBound);
    }
    return true;
  }

  /** Writes everything queued, as one buffer. */
  flush(): void {
    this.scheduled = false;
    if (this.parts.length === 0) return;
    const parts = this.parts;
    const bytes = this.queuedBytes;
    this.parts = [];
    this.queuedBytes = 0;
    if (this.socket.destroyed) return;
    const writable = this.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
    if (writable) this.onWritable?.();
  }

  /** Forgets queued frames (the connection is gone). */
  discard(): void {
    this.parts = [];
    this.queuedBytes = 0;
  }
}
