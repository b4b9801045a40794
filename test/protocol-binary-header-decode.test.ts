// The frame decoder's binary (ROCKETMQ) header path, against oracles that share no code with it:
//   - frames written byte by byte here from the protocol's layout (docs/protocol.md, "Header
//     types": code int16, language byte, version int16, opaque int32, flag int32, remark length
//     int32 and bytes, extFields length int32 then per field key length int16, key, value length
//     int32, value; all big-endian) decode to exactly the command the bytes spell;
//   - the JSON header path: the same command sent with a JSON header and with a binary header
//     decodes to the same command, in any chunking;
//   - damaged bytes: whatever the damage, the decoder's answer does not depend on how the bytes
//     were chunked, it fails only with the two typed frame errors, and every command it decoded
//     before the damage is exactly a command that was sent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../src/protocol/frame-codec.js';
import { FrameTooLargeError, MalformedFrameError } from '../src/protocol/protocol-errors.js';
import { SerializeType, type RemotingCommand } from '../src/protocol/remoting-command.js';

/** A binary-header frame spelled out field by field from the layout (no encoder of ours). */
function handFrame(f: { code: number; languageByte: number; version: number; opaque: number; flag: number; remark?: string; ext: [string, string][]; body?: Buffer }): Buffer {
  const parts: Buffer[] = [];
  const fixed = Buffer.alloc(17);
  fixed.writeInt16BE(f.code, 0);
  fixed.writeUInt8(f.languageByte, 2);
  fixed.writeInt16BE(f.version, 3);
  fixed.writeInt32BE(f.opaque, 5);
  fixed.writeInt32BE(f.flag, 9);
  const remark = Buffer.from(f.remark ?? '', 'utf8');
  fixed.writeInt32BE(remark.length, 13);
  parts.push(fixed, remark);
  const fields: Buffer[] = [];
  for (const [k, v] of f.ext) {
    const key = Buffer.from(k, 'utf8');
    const value = Buffer.from(v, 'utf8');
    const kl = Buffer.alloc(2);
    kl.writeInt16BE(key.length, 0);
    const vl = Buffer.alloc(4);
    vl.writeInt32BE(value.length, 0);
    fields.push(kl, key, vl, value);
  }
  const ext = Buffer.concat(fields);
  const extLen = Buffer.alloc(4);
  extLen.writeInt32BE(ext.length, 0);
  parts.push(extLen, ext);
  const header = Buffer.concat(parts);
  const body = f.body ?? Buffer.alloc(0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(4 + header.length + body.length, 0);
  head.writeUInt32BE(((SerializeType.ROCKETMQ << 24) | header.length) >>> 0, 4);
  return Buffer.concat([head, header, body]);
}

function decodeAll(chunks: Buffer[], maxFrameBytes?: number): { commands: RemotingCommand[]; error: Error | undefined } {
  const decoder = new FrameDecoder(maxFrameBytes);
  const commands: RemotingCommand[] = [];
  let error: Error | undefined;
  for (const chunk of chunks) {
    const err = decoder.push(chunk, (c) => commands.push({ ...c, extFields: { ...c.extFields }, ...(c.body !== undefined ? { body: Buffer.from(c.body) } : {}) }));
    if (err !== undefined && error === undefined) error = err;
  }
  return { commands, error };
}

/** The fields a decoded command carries that the sender chose (not the header type). */
function sent(c: RemotingCommand): unknown {
  return {
    code: c.code,
    language: c.language,
    version: c.version,
    opaque: c.opaque,
    flag: c.flag,
    remark: c.remark ?? undefined,
    extFields: { ...c.extFields },
    body: c.body === undefined || c.body.length === 0 ? undefined : Buffer.from(c.body).toString('hex'),
  };
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

const extName = fc.oneof(
  fc.constantFrom('msgId', 'queueId', 'queueOffset', 'nextBeginOffset', 'offset', 'msgI', 'queueOffsets', 'MSG_REGION', 'a', 'b', 'n', 'o', 'ab'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.string({ minLength: 60, maxLength: 70 }),
).filter((k) => k !== '__proto__');
const extValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 40 }), fc.string({ minLength: 63, maxLength: 80 }));

const commandArb = (serializeType: SerializeType): fc.Arbitrary<RemotingCommand> =>
  fc.record({
    code: fc.integer({ min: -32768, max: 32767 }),
    language: fc.constantFrom('JAVA', 'CPP', 'GO', 'OTHER', 'RUST'),
    version: fc.integer({ min: -32768, max: 32767 }),
    opaque: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    flag: fc.integer({ min: 0, max: 3 }),
    remark: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), { nil: undefined }),
    extFields: fc.dictionary(extName, extValue, { maxKeys: 8, noNullPrototype: true }),
    body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)), { nil: undefined }),
    serializeType: fc.constant(serializeType),
  });

describe('binary header decoding, against frames spelled out from the layout', () => {
  it('reads every field of a hand-written frame, with a UTF-8 remark, several fields and a body', () => {
    const bytes = handFrame({
      code: 310,
      languageByte: 0,
      version: 317,
      opaque: -7,
      flag: 1,
      remark: 'déjà vu',
      ext: [
        ['queueId', '3'],
        ['msgId', 'AC11000100002A9F0000000000000001'],
        ['ключ', 'значение'],
        ['empty', ''],
      ],
      body: Buffer.from([1, 2, 3]),
    });
    const { commands, error } = decodeAll([bytes]);
    expect(error).toBeUndefined();
    expect(commands.map(sent)).toEqual([
      {
        code: 310,
        language: 'JAVA',
        version: 317,
        opaque: -7,
        flag: 1,
        remark: 'déjà vu',
        extFields: { queueId: '3', msgId: 'AC11000100002A9F0000000000000001', ключ: 'значение', empty: '' },
        body: '010203',
      },
    ]);
    expect(commands[0]!.serializeType).toBe(SerializeType.ROCKETMQ);
  });

  it('reads a frame with no remark, no fields and no body, one byte at a time', () => {
    const bytes = handFrame({ code: 0, languageByte: 0, version: 0, opaque: 2147483647, flag: 0, ext: [] });
    const { commands, error } = decodeAll([...bytes].map((b) => Buffer.from([b])));
    expect(error).toBeUndefined();
    expect(commands.map(sent)).toEqual([{ code: 0, language: 'JAVA', version: 0, opaque: 2147483647, flag: 0, remark: undefined, extFields: {}, body: undefined }]);
  });

  it('refuses a field whose value length runs past the header, and one whose key length does', () => {
    const good = handFrame({ code: 1, languageByte: 0, version: 1, opaque: 1, flag: 0, ext: [['k', 'v']] });
    const valueLengthAt = 8 + 17 + 4 + 2 + 1;
    const badValue = Buffer.from(good);
    badValue.writeInt32BE(1000, valueLengthAt);
    expect(decodeAll([badValue]).error).toBeInstanceOf(MalformedFrameError);
    const badKey = Buffer.from(good);
    badKey.writeInt16BE(1000, valueLengthAt - 3);
    expect(decodeAll([badKey]).error).toBeInstanceOf(MalformedFrameError);
  });
});

describe('binary header decoding, against the JSON header path', () => {
  it('decodes any command sent with a binary header as the same command sent with a JSON header, in any chunking', () => {
    fc.assert(
      fc.property(fc.array(commandArb(SerializeType.ROCKETMQ), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), (cmds, cuts) => {
        const binary = decodeAll(chunked(Buffer.concat(cmds.map(encodeFrame)), cuts));
        const json = decodeAll([Buffer.concat(cmds.map((c) => encodeFrame({ ...c, serializeType: SerializeType.JSON })))]);
        expect(binary.error).toBeUndefined();
        expect(json.error).toBeUndefined();
        expect(binary.commands.map(sent)).toEqual(json.commands.map(sent));
        expect(binary.commands.map(sent)).toEqual(cmds.map(sent));
      }),
      { numRuns: 400 },
    );
  });
});

describe('binary header decoding of damaged bytes', () => {
  it('answers the same whatever the chunking, fails only with typed frame errors, and decodes only commands that were sent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(commandArb(SerializeType.ROCKETMQ), commandArb(SerializeType.JSON)), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.constantFrom(64, 300, 16 * 1024 * 1024),
        (cmds, edits, cuts, maxFrameBytes) => {
          const frames = cmds.map(encodeFrame);
          const bytes = Buffer.concat(frames);
          let firstDamaged = bytes.length;
          for (const [at, v] of edits) {
            const i = at % bytes.length;
            if (bytes[i] !== v) firstDamaged = Math.min(firstDamaged, i);
            bytes[i] = v;
          }
          const whole = decodeAll([bytes], maxFrameBytes);
          const pieces = decodeAll(chunked(bytes, cuts), maxFrameBytes);
          expect(pieces.commands.map(sent)).toEqual(whole.commands.map(sent));
          expect(pieces.error?.message).toEqual(whole.error?.message);
          if (whole.error !== undefined) expect(whole.error instanceof MalformedFrameError || whole.error instanceof FrameTooLargeError).toBe(true);
          // Frames wholly before the first damaged byte are intact: they decode as sent (unless
          // one is over the size limit, which ends decoding there).
          let end = 0;
          for (let i = 0; i < frames.length; i++) {
            end += frames[i]!.length;
            if (end > firstDamaged || frames[i]!.length - 4 > maxFrameBytes) break;
            expect(sent(whole.commands[i]!)).toEqual(sent(cmds[i]!));
          }
        },
      ),
      { numRuns: 600 },
    );
  });
});
