// Per-connection write coalescing for client and server alike: frames queued during one callback
// (and the promise reactions it sets off) leave in a single socket write once that callback is
// done (process.nextTick runs after the microtask queue drains), one writev when large bodies are
// among them. One write per frame costs ~2.5x the CPU (measured with the benchmarks,
// docs/performance.md), so neither server nor client ever writes a frame directly. Flushing at
// the next setImmediate instead cost every answer one more event-loop iteration of latency.
//
// Besides commands it takes frames a caller encodes itself (EncodedFrame: the SDK's send header
// template), written straight into the staging buffer.
import type { Socket } from 'node:net';
import { assert } from '../common/assert.js';
import { encodeFrameHead } from './frame-codec.js';
import type { RemotingCommand } from './remoting-command.js';

export const DEFAULT_MAX_WRITE_BACKLOG_BYTES = 256 * 1024 * 1024;

/**
 * A request frame its caller encodes (binary header type only): `writeHead` writes `headBytes`
 * bytes at out[pos] — frame length, header word, header — with `opaque` at BINARY_OPAQUE_OFFSET
 * and flag 0, and the client sends `body` after them. The frame length must count the body.
 */
export interface EncodedFrame {
  readonly headBytes: number;
  readonly body: Buffer | undefined;
  writeHead(out: Buffer, pos: number, opaque: number): void;
}

/** Where the opaque sits in a binary-header frame: length 4, header word 4, code 2, language 1, version 2. */
export const BINARY_OPAQUE_OFFSET = 13;
/** The smallest binary-header frame head: length, header word, and the 21 fixed header bytes. */
export const BINARY_FRAME_HEAD_MIN_BYTES = 8 + 21;

/** Size of a staging buffer; a turn that fills one continues in a new one. */
const STAGE_BYTES = 1024 * 1024;
/** Bodies up to this size are copied into the staging buffer; larger ones are written as they are. */
const STAGE_BODY_MAX_BYTES = 16 * 1024;

/** Full staging buffers kept for reuse per connection (each STAGE_BYTES). */
const SPARE_STAGES_MAX = 2;

/**
 * A staging buffer and how many of its parts are queued or being written. One that is full and
 * has none left is reused: its bytes are no longer anyone's, and reusing it saves an allocation
 * and the page faults of fresh memory (a few per cent of a busy producer's CPU).
 */
class Stage {
  /** Parts of this buffer queued in `parts` or handed to the socket and not yet written. */
  parts = 0;
  full = false;
  readonly onWritten = (): void => {
    this.parts--;
    if (this.full && this.parts === 0) this.release(this);
  };

  constructor(
    readonly buf: Buffer,
    private readonly release: (stage: Stage) => void,
  ) {}
}

/**
 * The one frame writer of client and server connections. Small frames are copied into a staging
 * buffer that later turns keep filling after the bytes already handed to the socket, which are
 * never written again until the whole buffer is full and every write of it has completed.
 */
export class FrameWriter {
  /** Buffers to write in order; the staged bytes not yet sealed come after them. */
  private parts: Buffer[] = [];
  /** The stage each part was cut from (undefined for a large body written as it is). */
  private partStages: (Stage | undefined)[] = [];
  private queuedBytes = 0;
  private stage: Stage;
  private stageStart = 0;
  private stagePos = 0;
  private readonly spare: Stage[] = [];
  private scheduled = false;
  private discarded = false;
  private readonly flushBound = (): void => this.flush();
  private readonly releaseBound = (stage: Stage): void => this.release(stage);

  constructor(
    private readonly socket: Socket,
    private readonly maxBacklogBytes = DEFAULT_MAX_WRITE_BACKLOG_BYTES,
    /**
     * Called after a flush the socket took without asking for a 'drain' (the kernel took it all);
     * with 'drain' it tells the owner when a backlog is gone.
     */
    private readonly onWritable?: () => void,
  ) {
    this.stage = new Stage(Buffer.alloc(0), this.releaseBound);
  }

  /** Bytes queued here plus bytes the socket has not written yet. */
  get backlogBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Queues a command; false (nothing queued) when the socket is gone or the backlog is over its bound. */
  enqueue(cmd: RemotingCommand): boolean {
    if (this.socket.destroyed) return false;
    const head = encodeFrameHead(cmd);
    const body = cmd.body;
    const bodyBytes = body?.length ?? 0;
    if (this.backlogBytes + head.length + bodyBytes > this.maxBacklogBytes) return false;
    const pos = this.reserve(head.length);
    this.stage.buf.set(head, pos);
    this.stagePos = pos + head.length;
    this.queuedBytes += head.length;
    if (body !== undefined && bodyBytes > 0) this.appendBody(body);
    this.schedule();
    return true;
  }

  /** Queues a caller-encoded frame (see EncodedFrame); false as for enqueue. */
  enqueueFrame(frame: EncodedFrame, opaque: number): boolean {
    if (this.socket.destroyed) return false;
    const headBytes = frame.headBytes;
    const body = frame.body;
    const bodyBytes = body?.length ?? 0;
    if (this.backlogBytes + headBytes + bodyBytes > this.maxBacklogBytes) return false;
    const pos = this.reserve(headBytes);
    const out = this.stage.buf;
    frame.writeHead(out, pos, opaque);
    assert(out.readUInt32BE(pos) === headBytes - 4 + bodyBytes && out.readInt32BE(pos + BINARY_OPAQUE_OFFSET) === opaque, 'an encoded frame must state its length with the body and carry its opaque');
    this.stagePos = pos + headBytes;
    this.queuedBytes += headBytes;
    if (body !== undefined && bodyBytes > 0) this.appendBody(body);
    this.schedule();
    return true;
  }

  /** Writes everything queued: one socket write, or one corked series when several buffers. */
  flush(): void {
    this.scheduled = false;
    this.seal();
    if (this.parts.length === 0) return;
    const parts = this.parts;
    const stages = this.partStages;
    this.parts = [];
    this.partStages = [];
    this.queuedBytes = 0;
    // A destroyed socket writes nothing: its stages are not reused (discard() follows on close).
    if (this.socket.destroyed) return;
    const several = parts.length > 1;
    if (several) this.socket.cork();
    let writable = true;
    for (let i = 0; i < parts.length; i++) {
      const stage = stages[i];
      writable = stage === undefined ? this.socket.write(parts[i]!) : this.socket.write(parts[i]!, stage.onWritten);
    }
    if (several) this.socket.uncork();
    if (writable) this.onWritable?.();
  }

  /** Forgets queued frames and reuses no stage any more (the connection is gone). */
  discard(): void {
    this.discarded = true;
    this.parts = [];
    this.partStages = [];
    this.queuedBytes = 0;
    this.stageStart = this.stagePos;
    this.spare.length = 0;
  }

  private appendBody(body: Buffer): void {
    if (body.length <= STAGE_BODY_MAX_BYTES) {
      const pos = this.reserve(body.length);
      this.stage.buf.set(body, pos);
      this.stagePos = pos + body.length;
    } else {
      this.seal();
      this.parts.push(body);
      this.partStages.push(undefined);
    }
    this.queuedBytes += body.length;
  }

  /** A position in the staging buffer with `bytes` free after it (another buffer when it lacks them). */
  private reserve(bytes: number): number {
    if (this.stage.buf.length - this.stagePos < bytes) {
      this.seal();
      const old = this.stage;
      old.full = true;
      if (old.parts === 0) this.release(old);
      const reused = bytes <= STAGE_BYTES ? this.spare.pop() : undefined;
      this.stage = reused ?? new Stage(Buffer.allocUnsafeSlow(Math.max(STAGE_BYTES, bytes)), this.releaseBound);
      this.stageStart = 0;
      this.stagePos = 0;
    }
    return this.stagePos;
  }

  /** Moves the staged bytes into `parts`, so what is queued next comes after them. */
  private seal(): void {
    if (this.stagePos === this.stageStart) return;
    this.parts.push(this.stage.buf.subarray(this.stageStart, this.stagePos));
    this.partStages.push(this.stage);
    this.stage.parts++;
    this.stageStart = this.stagePos;
  }

  /** A full stage none of whose bytes is queued or being written any more. */
  private release(stage: Stage): void {
    if (this.discarded || stage.buf.length !== STAGE_BYTES || this.spare.length >= SPARE_STAGES_MAX || stage === this.stage) return;
    stage.full = false;
    this.spare.push(stage);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flushBound);
  }
}
