// Linearizable reads waiting on the core (ReadIndex) and then on the applier. A read carries an
// 8-byte context (a counter); the core answers with the commit index at the time it confirmed
// leadership, and the read resolves once this node has applied up to that index.

import { NotLeaderError, RaftNodeError } from './errors.js';

interface Read {
  id: number;
  deadlineMs: number;
  index: number; // -1 until the core answered
  resolve: (index: number) => void;
  reject: (err: Error) => void;
}

export class PendingReads {
  private readonly reads = new Map<number, Read>();
  private nextId = 1;

  constructor(private readonly timeoutMs: number, private readonly maxPending: number) {}

  add(nowMs: number): { ok: true; context: Uint8Array; promise: Promise<number> } | { ok: false; error: Error } {
    if (this.reads.size >= this.maxPending) {
      return { ok: false, error: new RaftNodeError('ERR_RAFT_BUSY', `${this.reads.size} reads pending, the limit is ${this.maxPending}`) };
    }
    const id = this.nextId++;
    const context = Buffer.allocUnsafe(8);
    context.writeDoubleBE(id, 0);
    let read!: Read;
    const promise = new Promise<number>((resolve, reject) => {
      read = { id, deadlineMs: nowMs + this.timeoutMs, index: -1, resolve, reject };
    });
    this.reads.set(id, read);
    return { ok: true, context, promise };
  }

  ready(context: Uint8Array, index: number): void {
    const r = this.reads.get(idOf(context));
    if (r && r.index < 0) r.index = index;
  }

  fail(context: Uint8Array, err: NotLeaderError): void {
    const id = idOf(context);
    const r = this.reads.get(id);
    if (!r) return;
    this.reads.delete(id);
    r.reject(err);
  }

  /** Resolves every answered read whose index is applied. */
  settle(appliedIndex: number): void {
    if (this.reads.size === 0) return;
    for (const [id, r] of this.reads) {
      if (r.index >= 0 && r.index <= appliedIndex) {
        this.reads.delete(id);
        r.resolve(r.index);
      }
    }
  }

  expire(nowMs: number): void {
    if (this.reads.size === 0) return;
    for (const [id, r] of this.reads) {
      if (r.deadlineMs > nowMs) continue;
      this.reads.delete(id);
      r.reject(new RaftNodeError('ERR_RAFT_READ_INDEX_TIMEOUT', `read index not confirmed within ${this.timeoutMs} ms`));
    }
  }

  failAll(err: Error): void {
    for (const r of this.reads.values()) r.reject(err);
    this.reads.clear();
  }
}

function idOf(context: Uint8Array): number {
  if (context.length !== 8) return -1;
  return Buffer.from(context.buffer, context.byteOffset, 8).readDoubleBE(0);
}
