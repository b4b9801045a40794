// Property tests of the remoting frame codec: JSON and binary headers round trip, any chunking of
// a byte stream decodes the same frames, and garbage becomes a typed error, never a throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RmqError } from '../src/common/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder } from '../src/protocol/frame-codec.js';
import { FrameTooLargeError, MalformedFrameError } from '../src/protocol/protocol-errors.js';
import { SerializeType, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { headerBool, headerInt } from '../src/protocol/headers.js';

const LANGUAGES = ['JAVA', 'CPP', 'GO', 'PYTHON', 'RUST', 'OTHER'];

const extFieldsArb = fc.dictionary(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__'),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  { maxKeys: 8, noNullPrototype: true },
);

const commandArb: fc.Arbitrary<RemotingCommand> = fc.record({
  code: fc.integer({ min: -32768, max: 32767 }),
  language: fc.constantFrom(...LANGUAGES),
  version: fc.integer({ min: -32768, max: 32767 }),
  opaque: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  flag: fc.integer({ min: 0, max: 3 }),
  remark: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), { nil: undefined }),
  extFields: extFieldsArb,
  body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)), { nil: undefined }),
  serializeType: fc.constantFrom(SerializeType.JSON, SerializeType.ROCKETMQ),
});

function decodeAll(chunks: Buffer[], maxFrameBytes?: number): { commands: RemotingCommand[]; error: RmqError | undefined } {
  const decoder = new FrameDecoder(maxFrameBytes);
  const commands: RemotingCommand[] = [];
  let error: RmqError | undefined;
  for (const chunk of chunks) {
    error = decoder.push(chunk, (cmd) => commands.push(cmd)) ?? error;
  }
  return { commands, error };
}

function comparable(cmd: RemotingCommand): Record<string, unknown> {
  return {
    code: cmd.code,
    language: cmd.language,
    version: cmd.version,
    opaque: cmd.opaque,
    flag: cmd.flag,
    remark: cmd.remark,
    extFields: { ...cmd.extFields },
    body: cmd.body === undefined ? undefined : Buffer.from(cmd.body).toString('hex'),
    serializeType: cmd.serializeType,
  };
}

/** Splits buf at the given cut points (fractions of its length). */
function chunkAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('frame codec', () => {
  it('decodes every encoded command to the same fields, for JSON and binary headers', () => {
    fc.assert(
      fc.property(commandArb, (cmd) => {
        const { commands, error } = decodeAll([encodeFrame(cmd)]);
        expect(error).toBeUndefined();
        expect(commands).toHaveLength(1);
        expect(comparable(commands[0]!)).toEqual(comparable(cmd));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes the same frames however the byte stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(commandArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }),
        (cmds, cuts) => {
          const stream = Buffer.concat(cmds.map(encodeFrame));
          const whole = decodeAll([stream]);
          const chunked = decodeAll(chunkAt(stream, cuts));
          expect(chunked.error).toBeUndefined();
          expect(chunked.commands.map(comparable)).toEqual(whole.commands.map(comparable));
          expect(chunked.commands.map(comparable)).toEqual(cmds.map(comparable));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('decodes a stream fed one byte at a time', () => {
    const cmds: RemotingCommand[] = [
      { code: 105, language: 'JAVA', version: 121, opaque: 1, flag: 0, extFields: { topic: 'T' } },
      { code: 0, language: 'JAVA', version: 121, opaque: 1, flag: 1, extFields: {}, body: Buffer.from('xyz'), serializeType: SerializeType.ROCKETMQ },
    ];
    const stream = Buffer.concat(cmds.map(encodeFrame));
    const bytes = [...stream].map((b) => Buffer.from([b]));
    const { commands, error } = decodeAll(bytes);
    expect(error).toBeUndefined();
    expect(commands.map((c) => c.opaque + ':' + c.flag)).toEqual(['1:0', '1:1']);
    expect(commands[1]!.body?.toString()).toBe('xyz');
  });

  it('never throws on garbage and reports only typed frame errors', () => {
    const frameLike = fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 400 }), fc.uint8Array({ maxLength: 300 }))
      .map(([type, headerLen, rest]) => {
        const buf = Buffer.alloc(8 + rest.length);
        buf.writeUInt32BE(4 + rest.length, 0);
        buf.writeUInt32BE(((type << 24) | headerLen) >>> 0, 4);
        Buffer.from(rest).copy(buf, 8);
        return buf;
      });
    const garbage = fc.oneof(fc.uint8Array({ maxLength: 500 }).map((a) => Buffer.from(a)), frameLike);
    fc.assert(
      fc.property(fc.array(garbage, { minLength: 1, maxLength: 4 }), (chunks) => {
        const { error } = decodeAll(chunks, 4096);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(RmqError);
          expect(['ERR_REMOTING_MALFORMED_FRAME', 'ERR_REMOTING_FRAME_TOO_LARGE']).toContain(error.code);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a frame longer than the limit with FrameTooLargeError before buffering it', () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(DEFAULT_MAX_FRAME_BYTES + 1, 0);
    const decoder = new FrameDecoder();
    const err = decoder.push(head, () => expect.fail('no frame expected'));
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect(err?.code).toBe('ERR_REMOTING_FRAME_TOO_LARGE');
    expect(decoder.bufferedBytes).toBe(0);
    // A failed decoder stays failed: the stream cannot be resynchronized.
    expect(decoder.push(encodeFrame({ code: 1, language: 'JAVA', version: 0, opaque: 1, flag: 0, extFields: {} }), () => expect.fail('no frame expected'))).toBe(err);
  });

  it('rejects a header length that runs past the frame', () => {
    const buf = Buffer.alloc(12);
    buf.writeUInt32BE(8, 0);
    buf.writeUInt32BE(100, 4);
    const err = new FrameDecoder().push(buf, () => expect.fail('no frame expected'));
    expect(err).toBeInstanceOf(MalformedFrameError);
    expect(err?.message).toMatch(/header length 100 runs past the frame/);
  });

  it('turns a pathologically nested extFields value into a frame error instead of a stack overflow', () => {
    const depth = 200_000;
    const header = Buffer.from('{"code":1,"opaque":1,"extFields":{"a":' + '['.repeat(depth) + ']'.repeat(depth) + '}}');
    const frame = Buffer.alloc(8 + header.length);
    frame.writeUInt32BE(4 + header.length, 0);
    frame.writeUInt32BE(header.length, 4);
    header.copy(frame, 8);
    const { commands, error } = decodeAll([frame]);
    expect(commands).toEqual([]);
    expect(error).toBeInstanceOf(MalformedFrameError);
  });

  it('hands out the body as a view of the received chunk, not a copy', () => {
    const frame = encodeFrame({ code: 310, language: 'JAVA', version: 121, opaque: 7, flag: 0, extFields: {}, body: Buffer.from('hello body') });
    let body: Buffer | undefined;
    new FrameDecoder().push(frame, (cmd) => (body = cmd.body));
    expect(body?.toString()).toBe('hello body');
    expect(body?.buffer).toBe(frame.buffer);
  });

  it('copies only the split frame when a chunk completes one: the frames after it in that chunk stay views of it', () => {
    const frame = (text: string) => encodeFrame({ code: 310, language: 'JAVA', version: 121, opaque: 7, flag: 0, extFields: {}, body: Buffer.from(text) });
    const a = frame('split across two chunks');
    const stream = Buffer.concat([a, frame('whole in the second chunk'), frame('also whole')]);
    const cut = 10;
    // Chunks of their own memory, as a socket hands them out (not slices of the shared pool).
    const own = (bytes: Buffer) => {
      const b = Buffer.allocUnsafeSlow(bytes.length);
      bytes.copy(b);
      return b;
    };
    const second = own(stream.subarray(cut));
    const bodies: Buffer[] = [];
    const decoder = new FrameDecoder();
    expect(decoder.push(own(stream.subarray(0, cut)), (cmd) => bodies.push(cmd.body!))).toBeUndefined();
    expect(decoder.push(second, (cmd) => bodies.push(cmd.body!))).toBeUndefined();
    expect(bodies.map((b) => b.toString())).toEqual(['split across two chunks', 'whole in the second chunk', 'also whole']);
    expect(bodies[0]!.buffer).not.toBe(second.buffer);
    expect(bodies[1]!.buffer).toBe(second.buffer);
    expect(bodies[2]!.buffer).toBe(second.buffer);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('reads ali-ons headers whose extFields hold unquoted numbers and booleans', () => {
    const header = Buffer.from(
      JSON.stringify({ code: 310, language: 'JAVA', version: 121, opaque: 3, flag: 0, extFields: { e: 0, f: 6, k: false, x: null, commitOffset: -1 } }),
    );
    const frame = Buffer.alloc(8 + header.length);
    frame.writeUInt32BE(4 + header.length, 0);
    frame.writeUInt32BE(header.length, 4);
    header.copy(frame, 8);
    const { commands, error } = decodeAll([frame]);
    expect(error).toBeUndefined();
    const ext = commands[0]!.extFields;
    expect(ext).toEqual({ e: '0', f: '6', k: 'false', commitOffset: '-1' });
    expect(headerInt(ext, 'e')).toBe(0);
    expect(headerInt(ext, 'commitOffset')).toBe(-1);
    expect(headerBool(ext, 'k', true)).toBe(false);
  });

  it('writes a JSON header whose first byte is 0, as ali-ons requires of every response', () => {
    const frame = encodeFrame({ code: 0, language: 'JAVA', version: 121, opaque: 9, flag: 1, extFields: { msgId: 'AB' } });
    expect(frame[4]).toBe(0);
    const headerLen = frame.readUInt32BE(4);
    const header = JSON.parse(frame.toString('utf8', 8, 8 + headerLen)) as Record<string, unknown>;
    expect(header).toMatchObject({ code: 0, opaque: 9, flag: 1, extFields: { msgId: 'AB' } });
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  });
});
