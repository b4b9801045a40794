// The remoting client's frame decoder (ClientFrameDecoder in src/protocol/remoting-client.ts)
// against the protocol's FrameDecoder it stands in for: fed the same bytes in any chunking —
// well-formed frames of both header types, or those frames with bytes overwritten — both give the
// same commands, field for field, and the same error, message for message.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../src/protocol/frame-codec.js';
import { ClientFrameDecoder } from '../src/protocol/remoting-client.js';
import { SerializeType, type RemotingCommand } from '../src/protocol/remoting-command.js';

const extName = fc.oneof(
  fc.constantFrom('msgId', 'queueId', 'queueOffset', 'nextBeginOffset', 'offset', 'msgI', 'queueOffsets', 'MSG_REGION'),
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

describe('client frame decoder', () => {
  it('decodes any chunking of well-formed frames exactly as FrameDecoder does', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), (cmds, cuts) => {
        const chunks = chunked(Buffer.concat(cmds.map(encodeFrame)), cuts);
        const expected = run(new FrameDecoder(), chunks);
        expect(expected.error).toBeUndefined();
        expect(expected.commands).toHaveLength(cmds.length);
        expect(run(new ClientFrameDecoder(), chunks)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same commands and the same error as FrameDecoder on damaged bytes', () => {
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
          expect(run(new ClientFrameDecoder(maxFrameBytes), chunks)).toEqual(run(new FrameDecoder(maxFrameBytes), chunks));
        },
      ),
      { numRuns: 600 },
    );
  });
});
