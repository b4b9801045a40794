// The SDK's in-place SEND_MESSAGE_V2 frame (src/client/send-frame.ts) against the general path it
// stands for: for any message, queue and opaque, its bytes equal encodeFrameHead of the request
// buildSendRequest makes with the binary header, and the frame decodes to the same header fields.
// Also the unique ids written as bytes, and the remoting client's staging writer on the wire.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

import { encodeFrameHead, FrameDecoder, SerializeType, type RemotingCommand } from '../src/protocol/index.js';
import { createUniqueId } from '../src/client/index.js';
import { nextUniqueIdCounter, uniqueIdText, writeUniqueId } from '../src/client/message-id.js';
import { FrameSendTask, SendHeaderPrefixes } from '../src/client/send-frame.js';
import type { SendHost } from '../src/client/send-task.js';
import type { PreparedMessage } from '../src/client/send-request.js';
import { buildSendRequest, prepareMessage } from '../src/client/send-request.js';
import { RemotingClient, RemotingServer, makeResponse, RequestCode, type ResponseHandler } from '../src/protocol/index.js';
import type { Message } from '../src/client/message.js';
import { pino } from 'pino';

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const name = fc.stringMatching(/^[%|a-zA-Z0-9_-]{1,40}$/);
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ minLength: 60, maxLength: 90 })).map((s) => s.replace(/[\x01\x02]/g, ''));
const message: fc.Arbitrary<Message> = fc.record(
  {
    topic: name,
    body: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
    tags: text.filter((t) => !t.includes('||')),
    keys: fc.oneof(text, fc.array(text, { maxLength: 3 })),
    properties: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).map((s) => s.replace(/[\x01\x02]/g, 'x')), text, { maxKeys: 3 }),
    delayTimeLevel: fc.integer({ min: 0, max: 18 }),
    flag: int32,
  },
  { requiredKeys: ['topic', 'body'] },
);

/** The frame of a send, without running it (its host is never used). */
function frameOf(prefixes: SendHeaderPrefixes, prepared: PreparedMessage): FrameSendTask {
  return new FrameSendTask({} as SendHost, { topic: prepared.topic, body: prepared.body }, {}, 1000, 0, prefixes, prepared);
}

function frameBytes(frame: FrameSendTask, opaque: number, at: number): Buffer {
  const out = Buffer.alloc(at + frame.headBytes + 3, 0xee);
  frame.writeHead(out, at, opaque);
  expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true);
  expect(out.subarray(at + frame.headBytes).every((b) => b === 0xee)).toBe(true);
  return out.subarray(at, at + frame.headBytes);
}

describe('in-place send frame', () => {
  it('writes exactly the bytes of encodeFrameHead(buildSendRequest(...)) with the binary header', () => {
    fc.assert(
      fc.property(message, name, name, fc.nat(1023), fc.integer({ min: 1, max: 0x7fffffff }), fc.maxSafeNat(), fc.boolean(), fc.nat(40), (msg, group, brokerName, queueId, opaque, born, compress, at) => {
        const body = msg.body as Buffer;
        const prepared = prepareMessage(msg, body, compress ? 0 : Number.POSITIVE_INFINITY);
        const mq = { topic: msg.topic, brokerName, queueId };
        const req = buildSendRequest(group, mq, prepared, SerializeType.ROCKETMQ);
        req.extFields['g'] = String(born);
        req.opaque = opaque;
        const expected = encodeFrameHead(req);
        const prefixes = new SendHeaderPrefixes(group);
        const frame = frameOf(prefixes, prepared);
        frame.prepare(prefixes.of(mq.topic), queueId, born);
        expect(frame.body).toBe(prepared.body);
        expect(frame.msgId).toBe(prepared.uniqKey);
        expect(frameBytes(frame, opaque, at).equals(expected)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('decodes to the header fields and body the broker reads', () => {
    const prepared = prepareMessage({ topic: 'T', body: 'hi', tags: 'é', keys: ['a', 'b'] }, Buffer.from('hi'), Number.POSITIVE_INFINITY);
    const prefixes = new SendHeaderPrefixes('pg');
    const frame = frameOf(prefixes, prepared);
    frame.prepare(prefixes.of('T'), 5, 1_700_000_000_123);
    const wire = Buffer.concat([frameBytes(frame, 77, 0), prepared.body]);
    const got: RemotingCommand[] = [];
    expect(new FrameDecoder().push(wire, (c) => got.push(c))).toBeUndefined();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ code: RequestCode.SEND_MESSAGE_V2, opaque: 77, flag: 0, language: 'JAVA', version: 121 });
    expect(got[0]!.extFields).toEqual({ a: 'pg', b: 'T', c: 'TBW102', d: '4', e: '5', f: '0', g: '1700000000123', h: '0', i: `TAGS\x01é\x02KEYS\x01a b\x02UNIQ_KEY\x01${prepared.uniqKey}\x02`, j: '0', k: 'false' });
    expect(got[0]!.body?.toString()).toBe('hi');
  });

  it('writes a unique id as the ASCII of its text, and ids stay distinct across both ways of making them', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffff), (timeMs32, counter) => {
        const text = uniqueIdText(timeMs32, counter);
        const out = Buffer.alloc(32);
        writeUniqueId(out, 0, timeMs32, counter);
        expect(out.toString('latin1')).toBe(text);
        expect(text).toMatch(/^[0-9A-F]{32}$/);
        expect(text.slice(20)).toBe(timeMs32.toString(16).toUpperCase().padStart(8, '0') + counter.toString(16).toUpperCase().padStart(4, '0'));
      }),
    );
    const now = Date.now() % 2 ** 32;
    const ids = new Set<string>();
    for (let i = 0; i < 3000; i++) ids.add(i % 2 === 0 ? createUniqueId() : uniqueIdText(now, nextUniqueIdCounter()));
    expect(ids.size).toBe(3000);
  });
});

describe('remoting client staging writer', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('delivers encoded frames, small and large bodies and commands of one turn in order', async () => {
    const silent = pino({ level: 'silent' });
    const server = new RemotingServer({ logger: silent });
    const seen: string[] = [];
    server.registerHandler(RequestCode.SEND_MESSAGE_V2, (req) => {
      seen.push(`${req.extFields['e']}:${req.body?.length}:${req.body?.[0]}`);
      return makeResponse(req, 0, undefined, { n: String(seen.length) });
    });
    const { port } = await server.listen(0);
    const client = new RemotingClient({ logger: silent, serializeType: SerializeType.ROCKETMQ });
    closers.push(() => server.close(), () => client.close());
    const addr = `127.0.0.1:${port}`;
    const prefixes = new SendHeaderPrefixes('pg');
    const sizes = [1, 100, 20_000, 3, 300_000, 16 * 1024, 16 * 1024 + 1, 5];
    const answers: Promise<RemotingCommand>[] = [];
    sizes.forEach((size, i) => {
      const body = Buffer.alloc(size, i + 1);
      if (i % 3 === 2) {
        answers.push(client.invoke(addr, buildSendRequest('pg', { topic: 'T', brokerName: 'b', queueId: i }, prepareMessage({ topic: 'T', body }, body, Infinity), undefined), 5000));
        return;
      }
      answers.push(
        new Promise((resolve, reject) => {
          const handler: ResponseHandler = { onResponse: resolve, onFailure: reject };
          const frame = frameOf(prefixes, prepareMessage({ topic: 'T', body }, body, Infinity));
          frame.prepare(prefixes.of('T'), i, Date.now());
          const err = client.requestFrame(addr, RequestCode.SEND_MESSAGE_V2, frame, 5000, handler);
          if (err !== undefined) reject(err);
        }),
      );
    });
    const responses = await Promise.all(answers);
    expect(seen).toEqual(sizes.map((size, i) => `${i}:${size}:${i + 1}`));
    expect(responses.map((r) => r.extFields['n'])).toEqual(sizes.map((_, i) => String(i + 1)));
  });

  it('reuses staging buffers only after their bytes were written: many turns of frames arrive intact', async () => {
    const silent = pino({ level: 'silent' });
    const server = new RemotingServer({ logger: silent, maxInflightPerChannel: 100_000 });
    let bad = 0;
    let seen = 0;
    server.registerHandler(RequestCode.SEND_MESSAGE_V2, (req) => {
      const i = Number(req.extFields['e']);
      const body = req.body!;
      if (body.length !== 1000 + (i % 200) || body.some((b) => b !== (i * 7) % 251)) bad++;
      seen++;
      return makeResponse(req, 0, undefined, {});
    });
    const { port } = await server.listen(0);
    const client = new RemotingClient({ logger: silent, serializeType: SerializeType.ROCKETMQ });
    closers.push(() => server.close(), () => client.close());
    const addr = `127.0.0.1:${port}`;
    const prefixes = new SendHeaderPrefixes('pg');
    let next = 0;
    const all: Promise<unknown>[] = [];
    // Turns of 800 and of 3000 frames of about 1 KiB (a turn then fills several 1 MiB stages
    // before anything is written): about 20 MB, so most stages are reused.
    for (let turn = 0; turn < 12; turn++) {
      const answers: Promise<unknown>[] = [];
      for (let k = 0; k < (turn % 3 === 1 ? 3000 : 800); k++, next++) {
        const i = next;
        const body = Buffer.alloc(1000 + (i % 200), (i * 7) % 251);
        answers.push(
          new Promise((resolve, reject) => {
            const frame = frameOf(prefixes, prepareMessage({ topic: 'T', body }, body, Infinity));
            frame.prepare(prefixes.of('T'), i, Date.now());
            const err = client.requestFrame(addr, RequestCode.SEND_MESSAGE_V2, frame, 10_000, { onResponse: resolve, onFailure: reject });
            if (err !== undefined) reject(err);
          }),
        );
      }
      all.push(...answers);
      // Half the turns wait for their answers, half only for the next turn: writes overlap reuse.
      if (turn % 2 === 0) await Promise.all(answers);
      else await new Promise((r) => setImmediate(r));
    }
    // Every answer, also those of the turns not waited for, before the client closes (a pending
    // request is rejected by close()).
    await Promise.all(all);
    expect(seen).toBe(next);
    expect(bad).toBe(0);
  });
});
