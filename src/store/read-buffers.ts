// Small pieces of the read path kept out of message-store.ts: the run copy on a shared log view
// (the record check is the record view's isRecordAt), the FOUND result whose per-record views are
// built only when asked for, and the slab that read bodies are carved from. All exist to avoid per-message allocations (see docs/storage.md).

import type { GetMessageResult } from './get-message-result.js';

/** Size of the slabs read bodies are carved from (see BodySlab). */
const BODY_SLAB_BYTES = 4 * 1024 * 1024;

/** writeInt64BE through a DataView (values within ±2^53). */
export function setInt64(dv: DataView, at: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  dv.setInt32(at, hi | 0);
  dv.setUint32(at + 4, value - hi * 0x1_0000_0000);
}

/** Copies `length` bytes at `offset` of `range` to `target` at `at` (a plain view: cheaper than a Buffer slice). */
export function copyRun(range: Buffer, offset: number, length: number, target: Buffer, at: number): void {
  if (length > 0) target.set(new Uint8Array(range.buffer, range.byteOffset + offset, length), at);
}

/**
 * A FOUND answer. `messages` (views of each record in `body`) is built on first use: the pull
 * path only sends `body`, and a view per message costs more than the rest of the read.
 */
export class FoundResult implements GetMessageResult {
  readonly status = 'FOUND' as const;
  private list: Buffer[] | undefined;

  constructor(
    readonly body: Buffer,
    readonly nextBeginOffset: number,
    readonly minOffset: number,
    readonly maxOffset: number,
  ) {}

  get messages(): Buffer[] {
    if (!this.list) {
      const list: Buffer[] = [];
      // Bounded: every record is at least RECORD_FIXED_BYTES long (checked when copied).
      for (let at = 0; at < this.body.length; ) {
        const size = this.body.readInt32BE(at);
        list.push(this.body.subarray(at, at + size));
        at += size;
      }
      this.list = list;
    }
    return this.list;
  }

  set messages(list: Buffer[]) {
    this.list = list;
  }
}

/**
 * Room for read bodies, carved from shared slabs: a buffer per pull of ~32 KiB would be a fresh
 * ArrayBuffer each time. Slabs are never reused, so a body handed out stays valid; a slab is
 * freed once no body of it is referenced. Large bodies get their own buffer.
 */
export class BodySlab {
  private slab = Buffer.alloc(0);
  private used = 0;

  allocate(bytes: number): Buffer {
    if (bytes > BODY_SLAB_BYTES / 8) return Buffer.allocUnsafe(bytes);
    if (this.slab.length - this.used < bytes) {
      this.slab = Buffer.allocUnsafeSlow(BODY_SLAB_BYTES);
      this.used = 0;
    }
    const body = this.slab.subarray(this.used, this.used + bytes);
    // Keep 8-byte alignment between bodies.
    this.used += (bytes + 7) & ~7;
    return body;
  }
}
