// Splits a TCP byte stream into frame bodies. A frame that arrived inside one socket chunk is
// handed out as a view of that chunk (no copy); only a frame split across chunks is assembled,
// once, when its last byte arrives. The buffered bytes are bounded by one maximum frame.

import { TransportError } from './errors.js';
import { FRAME_PREFIX_BYTES } from './frame-codec.js';

export class FrameReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private maxFrameBytes: number) {
    this.setMaxFrameBytes(maxFrameBytes);
  }

  /** Changes the bound for frames not yet started (a connection allows big frames only after its hello). */
  setMaxFrameBytes(maxFrameBytes: number): void {
    if (!(Number.isInteger(maxFrameBytes) && maxFrameBytes > 0)) throw new RangeError(`maxFrameBytes ${maxFrameBytes}`);
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Adds a chunk and calls `onFrame` for each complete frame body, in order. Throws
   * TransportError when a length prefix is zero or larger than the maximum; the stream is
   * then unusable and the caller closes the connection.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    // Each iteration consumes one whole frame, so the loop is bounded by the buffered bytes.
    while (this.bufferedBytes >= FRAME_PREFIX_BYTES) {
      if (this.chunks[0]!.length < FRAME_PREFIX_BYTES) this.merge(FRAME_PREFIX_BYTES);
      const first = this.chunks[0]!;
      const bodyBytes = first.readUInt32BE(0);
      if (bodyBytes === 0) throw new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', 'malformed frame: zero length');
      if (bodyBytes > this.maxFrameBytes) {
        throw new TransportError('ERR_TRANSPORT_FRAME_TOO_LARGE', `frame of ${bodyBytes} bytes exceeds the maximum ${this.maxFrameBytes}`);
      }
      const frameBytes = FRAME_PREFIX_BYTES + bodyBytes;
      if (this.bufferedBytes < frameBytes) return;
      if (first.length < frameBytes) this.merge(frameBytes);
      const head = this.chunks[0]!;
      const body = head.subarray(FRAME_PREFIX_BYTES, frameBytes);
      if (head.length === frameBytes) this.chunks.shift();
      else this.chunks[0] = head.subarray(frameBytes);
      this.bufferedBytes -= frameBytes;
      onFrame(body);
    }
  }

  /** Makes the first chunk at least `bytes` long by copying the leading chunks into one buffer. */
  private merge(bytes: number): void {
    const merged = Buffer.allocUnsafe(Math.max(bytes, 0));
    let filled = 0;
    while (filled < bytes) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, bytes - filled);
      c.copy(merged, filled, 0, take);
      filled += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    this.chunks.unshift(merged);
  }
}
