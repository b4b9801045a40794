// The remoting frame: [total length int32 = 4 + header + body][header word: serialize type byte +
// 24-bit header length][header][body]. The encoder writes one header per frame; the streaming
// decoder reassembles frames from arbitrary chunks, copies each byte at most twice, hands out
// bodies as views (never copies), and turns any garbage into a typed error instead of a throw.
import { assert } from '../common/assert.js';
import { encodeBinaryHeader, decodeBinaryHeader } from './binary-header.js';
import { decodeJsonHeader, encodeJsonHeader } from './json-header.js';
import { FrameTooLargeError, MalformedFrameError } from './protocol-errors.js';
import { SerializeType, type RemotingCommand } from './remoting-command.js';

/** Apache's default frame limit (com.rocketmq.remoting.frameMaxLength). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const HEADER_LENGTH_MAX = 0xffffff;

/**
 * The frame up to the body: length, header word and header. Writing the body as a second
 * buffer lets the caller coalesce without copying large bodies twice.
 */
export function encodeFrameHead(cmd: RemotingCommand): Buffer {
  const bodyBytes = cmd.body?.length ?? 0;
  if (cmd.serializeType === SerializeType.ROCKETMQ) {
    const header = encodeBinaryHeader(cmd);
    assert(header.length <= HEADER_LENGTH_MAX, `binary header of ${header.length} bytes does not fit 24 bits`);
    const head = Buffer.allocUnsafe(8 + header.length);
    head.writeUInt32BE(4 + header.length + bodyBytes, 0);
    head.writeUInt32BE(((SerializeType.ROCKETMQ << 24) | header.length) >>> 0, 4);
    header.copy(head, 8);
    return head;
  }
  const json = encodeJsonHeader(cmd);
  const headerBytes = Buffer.byteLength(json);
  assert(headerBytes <= HEADER_LENGTH_MAX, `JSON header of ${headerBytes} bytes does not fit 24 bits`);
  const head = Buffer.allocUnsafe(8 + headerBytes);
  head.writeUInt32BE(4 + headerBytes + bodyBytes, 0);
  head.writeUInt32BE(headerBytes, 4);
  head.write(json, 8, 'utf8');
  return head;
}

/** The whole frame in one buffer (tests, and callers that send one frame). */
export function encodeFrame(cmd: RemotingCommand): Buffer {
  const head = encodeFrameHead(cmd);
  return cmd.body !== undefined && cmd.body.length > 0 ? Buffer.concat([head, cmd.body]) : head;
}

/** Decodes one frame's content (after its length field) in buf[start, end). */
function decodeFrameContent(buf: Buffer, start: number, end: number): RemotingCommand | MalformedFrameError {
  const word = buf.readUInt32BE(start);
  const serializeType = word >>> 24;
  const headerBytes = word & HEADER_LENGTH_MAX;
  const headerStart = start + 4;
  const headerEnd = headerStart + headerBytes;
  if (headerEnd > end) return new MalformedFrameError(`header length ${headerBytes} runs past the frame of ${end - start} bytes`);
  let cmd: RemotingCommand | MalformedFrameError;
  if (serializeType === SerializeType.JSON) cmd = decodeJsonHeader(buf, headerStart, headerEnd);
  else if (serializeType === SerializeType.ROCKETMQ) cmd = decodeBinaryHeader(buf, headerStart, headerEnd);
  else return new MalformedFrameError(`unknown serialize type ${serializeType}`);
  if (cmd instanceof MalformedFrameError) return cmd;
  cmd.serializeType = serializeType;
  if (headerEnd < end) cmd.body = buf.subarray(headerEnd, end);
  return cmd;
}

export type FrameError = MalformedFrameError | FrameTooLargeError;

/**
 * A per-connection streaming decoder. After the first error it stays failed: a stream that lied
 * about one length cannot be trusted to find the next frame boundary.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before another decode attempt is worth a concat. */
  private neededBytes = 4;
  private failure: FrameError | undefined;
  private decoded = 0;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    assert(maxFrameBytes >= 8, 'maxFrameBytes must allow at least a header word');
  }

  get error(): FrameError | undefined {
    return this.failure;
  }

  /** Bytes held for an incomplete frame (bounded by maxFrameBytes + one chunk). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Size the frame being received announced (its length field included), 4 while even its length
   * is incomplete, 0 between frames. The server reserves this much of its inbound budget.
   */
  get partialFrameBytes(): number {
    return this.pendingBytes === 0 ? 0 : this.neededBytes;
  }

  /** Frames decoded so far; a change means the connection made progress. */
  get decodedFrames(): number {
    return this.decoded;
  }

  /**
   * Feeds a chunk; calls onCommand for each complete frame, in order. Returns the error that
   * stopped decoding, if any. A command's body is a view of the chunk: copy it to keep it.
   */
  push(chunk: Buffer, onCommand: (cmd: RemotingCommand) => void): FrameError | undefined {
    if (this.failure !== undefined) return this.failure;
    if (chunk.length === 0) return undefined;
    if (this.pendingBytes === 0) return this.decode(chunk, onCommand);
    const held = this.pendingBytes;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.neededBytes) return undefined;
    if (this.neededBytes > 4) {
      // The held frame's length is known: join only the bytes that complete it and go on in the
      // chunk as a view, instead of copying the whole chunk (and the frames after it) again.
      const take = this.neededBytes - held;
      this.pending[this.pending.length - 1] = chunk.subarray(0, take);
      const frame = Buffer.concat(this.pending, this.neededBytes);
      this.pending = [];
      this.pendingBytes = 0;
      // `frame` is exactly one frame: nothing of it stays pending.
      const err = this.decode(frame, onCommand);
      if (err !== undefined || take === chunk.length) return err;
      return this.decode(chunk.subarray(take), onCommand);
    }
    const buf = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.decode(buf, onCommand);
  }

  /** Decodes the frames of `buf` (nothing pending before it) and holds an incomplete tail. */
  private decode(buf: Buffer, onCommand: (cmd: RemotingCommand) => void): FrameError | undefined {
    let offset = 0;
    let needed = 4;
    // Each round consumes a whole frame (at least 8 bytes) or leaves the loop.
    while (offset < buf.length) {
      const remaining = buf.length - offset;
      if (remaining < 4) break;
      const frameBytes = buf.readUInt32BE(offset);
      if (frameBytes > this.maxFrameBytes) return this.fail(new FrameTooLargeError(frameBytes, this.maxFrameBytes));
      if (frameBytes < 4) return this.fail(new MalformedFrameError(`frame length ${frameBytes} is shorter than its 4-byte header word`));
      if (remaining < 4 + frameBytes) {
        needed = 4 + frameBytes;
        break;
      }
      const cmd = decodeFrameContent(buf, offset + 4, offset + 4 + frameBytes);
      if (cmd instanceof MalformedFrameError) return this.fail(cmd);
      offset += 4 + frameBytes;
      this.decoded++;
      onCommand(cmd);
    }
    if (offset < buf.length) {
      const rest = buf.subarray(offset);
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.neededBytes = needed;
    }
    return undefined;
  }

  /** Drops bytes held for an incomplete frame (used when the connection ends). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  private fail(err: FrameError): FrameError {
    this.failure = err;
    this.pending = [];
    this.pendingBytes = 0;
    return err;
  }
}
