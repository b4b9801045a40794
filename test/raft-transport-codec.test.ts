// Property tests of the Raft frame codec: any Message survives encode/decode, payloads come
// back as views of the frame, and damaged frames are rejected with a typed error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../raft/core/messages.js';
import { EntryType, type Entry } from '../raft/core/types.js';
import { TransportError } from '../raft/transport/errors.js';
import { decodeHello, decodeMessage, encodeHello, encodeMessage } from '../raft/transport/frame-codec.js';
import { FrameReader } from '../raft/transport/frame-reader.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../raft/transport/tcp-transport.js';
import { encodeStartData, MAX_START_APP_BYTES } from '../raft/storage/state-files.js';

const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const bytes = fc.uint8Array({ maxLength: 64 });
const entry: fc.Arbitrary<Entry> = fc.record({
  index: count,
  term: count,
  type: fc.constantFrom(EntryType.Normal, EntryType.NoOp, EntryType.Config),
  payload: fc.uint8Array({ maxLength: 300 }),
});
const message: fc.Arbitrary<Message> = fc
  .record({
    type: fc.constantFrom(...Object.values(MessageType)),
    from: fc.string({ maxLength: 8 }),
    to: fc.string({ maxLength: 8 }),
    term: count,
    index: count,
    logTerm: count,
    commit: count,
    reject: fc.boolean(),
    rejectHint: count,
    entries: fc.array(entry, { maxLength: 8 }),
    start: fc.option(fc.record({ index: count, term: count, data: bytes }), { nil: undefined }),
    context: fc.option(bytes, { nil: undefined }),
    force: fc.option(fc.boolean(), { nil: undefined }),
    membership: fc.option(fc.record({ index: count, voters: fc.array(fc.string({ maxLength: 4 }), { maxLength: 5 }), learners: fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }) }), { nil: undefined }),
  })
  .map((m) => {
    const out: Message = { ...m };
    if (m.start === undefined) delete out.start;
    if (m.context === undefined) delete out.context;
    if (m.force === undefined) delete out.force;
    if (m.membership === undefined) delete out.membership;
    return out;
  });

/** Compares messages by value, treating every byte container as plain bytes. */
function normalize(m: Message): unknown {
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e, payload: Array.from(e.payload) })),
    start: m.start ? { ...m.start, data: Array.from(m.start.data) } : undefined,
    context: m.context ? Array.from(m.context) : undefined,
  };
}

function roundTrip(m: Message): Message {
  const frame = encodeMessage(m);
  expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  return decodeMessage(frame.subarray(4));
}

describe('raft frame codec', () => {
  it('decodes every encoded message to an equal message', () => {
    fc.assert(fc.property(message, (m) => {
      expect(normalize(roundTrip(m))).toEqual(normalize(m));
    }), { numRuns: 500 });
  });

  it('hands entry payloads out as views of the received frame, not copies', () => {
    const payload = Buffer.from('payload bytes');
    const m: Message = {
      type: MessageType.App, from: 'n0', to: 'n1', term: 3, index: 7, logTerm: 2, commit: 5, reject: false, rejectHint: 0,
      entries: [{ index: 8, term: 3, type: EntryType.Normal, payload }],
    };
    const frame = encodeMessage(m);
    const decoded = decodeMessage(frame.subarray(4));
    const got = decoded.entries[0]!.payload;
    expect(Buffer.from(got).toString()).toBe('payload bytes');
    expect(got.buffer).toBe(frame.buffer);
  });

  it('splits a byte stream cut at arbitrary points into the same frames', () => {
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (ms, cuts) => {
      const stream = Buffer.concat(ms.map(encodeMessage));
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const reader = new FrameReader(1 << 20);
      const got: Message[] = [];
      let from = 0;
      for (const p of [...points, stream.length]) {
        reader.push(stream.subarray(from, p), (body) => got.push(decodeMessage(body)));
        from = p;
      }
      expect(got.map(normalize)).toEqual(ms.map(normalize));
    }), { numRuns: 200 });
  });

  it('rejects any truncated or extended message body with ERR_TRANSPORT_FRAME_MALFORMED', () => {
    fc.assert(fc.property(message, fc.nat(), fc.boolean(), (m, cut, extend) => {
      const body = encodeMessage(m).subarray(4);
      const damaged = extend ? Buffer.concat([body, Buffer.from([0])]) : body.subarray(0, cut % body.length);
      let err: unknown;
      try {
        decodeMessage(damaged);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).code).toBe('ERR_TRANSPORT_FRAME_MALFORMED');
    }), { numRuns: 300 });
  });

  it('never throws anything but a TransportError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      try {
        decodeMessage(Buffer.from(junk));
      } catch (e) {
        expect(e).toBeInstanceOf(TransportError);
      }
    }), { numRuns: 500 });
  });

  it('refuses a length prefix above the maximum frame size with ERR_TRANSPORT_FRAME_TOO_LARGE', () => {
    const reader = new FrameReader(1024);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(1025);
    expect(() => reader.push(prefix, () => {})).toThrow(expect.objectContaining({ code: 'ERR_TRANSPORT_FRAME_TOO_LARGE' }));
  });

  it('carries a Reset whose start record holds the largest application section within the default frame bound', () => {
    const app = new Uint8Array(MAX_START_APP_BYTES);
    for (let i = 0; i < app.length; i += 4096) app[i] = i % 251;
    const data = encodeStartData(7 * 1024 * 1024, app);
    const m: Message = { type: MessageType.Reset, from: 'n0', to: 'n1', term: 3, index: 900, logTerm: 2, commit: 0, reject: false, rejectHint: 0, entries: [], start: { index: 900, term: 2, data } };
    const frame = encodeMessage(m);
    expect(frame.length).toBeLessThan(DEFAULT_MAX_FRAME_BYTES);
    const got: Buffer[] = [];
    new FrameReader(DEFAULT_MAX_FRAME_BYTES).push(frame, (body) => got.push(body));
    expect(got).toHaveLength(1);
    const decoded = decodeMessage(got[0]!);
    expect(decoded.start?.index).toBe(900);
    expect(Buffer.from(decoded.start!.data).equals(Buffer.from(data))).toBe(true);
  });

  it('round-trips a hello', () => {
    const frame = encodeHello({ version: 1, from: 'n2', to: 'n0' });
    expect(decodeHello(frame.subarray(4))).toEqual({ version: 1, from: 'n2', to: 'n0' });
  });
});
