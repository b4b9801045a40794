// The binary header decoder reads strings with one native slice each and takes usual extFields
// names from a table; here it is checked against the plain byte-by-byte decoder it replaced
// (kept below as the reference): fed the same frames in any chunking — well-formed frames of both
// header types, or those frames with bytes overwritten — both give the same commands, field for
// field, and the same error, message for message.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../src/protocol/frame-codec.js';
import { decodeJsonHeader } from '../src/protocol/json-header.js';
import { languageFromByte } from '../src/protocol/language-code.js';
import { FrameTooLargeError, MalformedFrameError } from '../src/protocol/protocol-errors.js';
import { SerializeType, type ExtFields, type RemotingCommand } from '../src/protocol/remoting-command.js';

// ---- the reference: the decoder as first written (string by concatenation, no name table) ----

function refString(buf: Buffer, start: number, end: number): string {
  if (end - start <= 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b >= 0x80) return buf.toString('utf8', start, end);
      s += String.fromCharCode(b);
    }
    return s;
  }
  return buf.toString('utf8', start, end);
}

function refBinaryHeader(buf: Buffer, start: number, end: number): RemotingCommand | MalformedFrameError {
  if (end - start < 21) return new MalformedFrameError(`binary header of ${end - start} bytes is shorter than 21`);
  let pos = start;
  const code = buf.readInt16BE(pos);
  const language = languageFromByte(buf.readUInt8(pos + 2));
  const version = buf.readInt16BE(pos + 3);
  const opaque = buf.readInt32BE(pos + 5);
  const flag = buf.readInt32BE(pos + 9);
  const remarkBytes = buf.readInt32BE(pos + 13);
  pos += 17;
  if (remarkBytes < 0 || remarkBytes > end - pos - 4) return new MalformedFrameError(`binary header remark length ${remarkBytes} runs past the header`);
  const remark = remarkBytes > 0 ? refString(buf, pos, pos + remarkBytes) : undefined;
  pos += remarkBytes;
  const extBytes = buf.readInt32BE(pos);
  pos += 4;
  if (extBytes < 0 || extBytes !== end - pos) return new MalformedFrameError(`binary header extFields length ${extBytes} does not match the ${end - pos} bytes left`);
  const extFields: ExtFields = {};
  while (pos < end) {
    if (end - pos < 6) return new MalformedFrameError('binary header extFields entry is truncated');
    const keyBytes = buf.readInt16BE(pos);
    pos += 2;
    if (keyBytes < 0 || keyBytes > end - pos - 4) return new MalformedFrameError(`binary header key length ${keyBytes} runs past the header`);
    const key = refString(buf, pos, pos + keyBytes);
    pos += keyBytes;
    const valueBytes = buf.readInt32BE(pos);
    pos += 4;
    if (valueBytes < 0 || valueBytes > end - pos) return new MalformedFrameError(`binary header value length ${valueBytes} runs past the header`);
    extFields[key] = refString(buf, pos, pos + valueBytes);
    pos += valueBytes;
  }
  return { code, language, version, opaque, flag, remark, extFields };
}

/** A whole-buffer reference decoder: every frame at once, the first error ends it. */
class ReferenceDecoder {
  private bytes = Buffer.alloc(0);
  private failed: Error | undefined;
  constructor(private readonly maxFrameBytes = 16 * 1024 * 1024) {}
  push(chunk: Buffer, onCommand: (cmd: RemotingCommand) => void): Error | undefined {
    if (this.failed) return this.failed;
    this.bytes = Buffer.concat([this.bytes, chunk]);
    let offset = 0;
    while (this.bytes.length - offset >= 4) {
      const frameBytes = this.bytes.readUInt32BE(offset);
      if (frameBytes > this.maxFrameBytes) return (this.failed = new FrameTooLargeError(frameBytes, this.maxFrameBytes));
      if (frameBytes < 4) return (this.failed = new MalformedFrameError(`frame length ${frameBytes} is shorter than its 4-byte header word`));
      if (this.bytes.length - offset < 4 + frameBytes) break;
      const start = offset + 4;
      const end = start + frameBytes;
      const word = this.bytes.readUInt32BE(start);
      const type = word >>> 24;
      const headerEnd = start + 4 + (word & 0xffffff);
      if (headerEnd > end) return (this.failed = new MalformedFrameError(`header length ${word & 0xffffff} runs past the frame of ${end - start} bytes`));
      let cmd: RemotingCommand | MalformedFrameError;
      if (type === SerializeType.JSON) cmd = decodeJsonHeader(this.bytes, start + 4, headerEnd);
      else if (type === SerializeType.ROCKETMQ) cmd = refBinaryHeader(this.bytes, start + 4, headerEnd);
      else return (this.failed = new MalformedFrameError(`unknown serialize type ${type}`));
      if (cmd instanceof MalformedFrameError) return (this.failed = cmd);
      cmd.serializeType = type;
      if (headerEnd < end) cmd.body = this.bytes.subarray(headerEnd, end);
      offset = end;
      onCommand(cmd);
    }
    this.bytes = Buffer.from(this.bytes.subarray(offset));
    return undefined;
  }
}

const extName = fc.oneof(
  fc.constantFrom('msgId', 'queueId', 'queueOffset', 'nextBeginOffset', 'offset', 'msgI', 'queueOffsets', 'MSG_REGION', 'a', 'b', 'n', 'o', 'ab'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.string({ minLength: 60, maxLength: 70 }),
).filter((k) => k !== '__proto__');
const extValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 40 }), fc.string({ minLength: 63, maxLength: 80 }));

const commandArb: fc.Arbitrary<RemotingCommand> = fc.record({
  code: fc.integer({ min: -32768, max: 32767 }),
  language: fc.constantFrom('JAVA', 'CPP', 'GO', 'OTHER', 'RUST'),
  version: fc.integer({ min: -32768, max: 32767 }),
  opaque: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  flag: fc.integer({ min: 0, max: 3 }),
  remark: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), { nil: undefined }),
  extFields: fc.dictionary(extName, extValue, { maxKeys: 8, noNullPrototype: true }),
  body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)), { nil: undefined }),
  serializeType: fc.constantFrom(SerializeType.JSON, SerializeType.ROCKETMQ, SerializeType.ROCKETMQ),
});

interface Decoder {
  push(chunk: Buffer, onCommand: (cmd: RemotingCommand) => void): Error | undefined;
}

function run(decoder: Decoder, chunks: Buffer[]): { commands: unknown[]; error: string | undefined } {
  const commands: unknown[] = [];
  let error: string | undefined;
  for (const chunk of chunks) {
    const err = decoder.push(chunk, (c) =>
      commands.push({ ...c, extFields: { ...c.extFields }, body: c.body === undefined ? undefined : Buffer.from(c.body).toString('hex') }),
    );
    if (err !== undefined) error = `${err.constructor.name}: ${err.message}`;
  }
  return { commands, error };
}

function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('frame decoder (binary headers read with slices and a name table)', () => {
  it('decodes any chunking of well-formed frames exactly as the reference decoder does', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), (cmds, cuts) => {
        const chunks = chunked(Buffer.concat(cmds.map(encodeFrame)), cuts);
        const expected = run(new ReferenceDecoder(), chunks);
        expect(expected.error).toBeUndefined();
        expect(expected.commands).toHaveLength(cmds.length);
        expect(run(new FrameDecoder(), chunks)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same commands and the same error as the reference on damaged bytes', () => {
    fc.assert(
      fc.property(
        fc.array(commandArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.constantFrom(64, 300, 16 * 1024 * 1024),
        (cmds, edits, cuts, maxFrameBytes) => {
          const bytes = Buffer.concat(cmds.map(encodeFrame));
          for (const [at, v] of edits) bytes[at % bytes.length] = v;
          const chunks = chunked(bytes, cuts);
          expect(run(new FrameDecoder(maxFrameBytes), chunks)).toEqual(run(new ReferenceDecoder(maxFrameBytes), chunks));
        },
      ),
      { numRuns: 600 },
    );
  });
});
