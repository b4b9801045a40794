// Differential tests of the client's pull decoder (src/client/message-decoder.ts) against the
// straightforward decoder it replaced, rebuilt here from the shared codec: on any bytes both must
// give the same messages or both refuse with MalformedResponseError. Plus what the fast path adds:
// bodies that do not change when the response buffer is reused, and the caches' corner cases.
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessageRecord, decodeMessageRecords, MalformedResponseError, type MessageExt } from '../src/client/index.js';
import { MessageCodecError } from '../src/common/message/message-errors.js';
import { createMessageId } from '../src/common/message/message-id.js';
import { parsePropertiesToObject } from '../src/common/message/message-properties.js';
import { decodeMessageRecord as decodeStored, encodeMessageRecord, type MessageRecord } from '../src/common/message/message-record.js';
import { SysFlag } from '../src/common/message/record-layout.js';

/** The decoder as it was before the fast path: shared codec, then the MessageExt fields. */
function referenceDecode(buf: Buffer, brokerName: string): MessageExt[] {
  const out: MessageExt[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let r: MessageRecord;
    try {
      r = decodeStored(buf, pos, { verifyCrc: false, foreignLayouts: true });
    } catch (err) {
      if (err instanceof MessageCodecError) throw new MalformedResponseError(err.message);
      throw err;
    }
    if (r.physicalOffset < 0) throw new MalformedResponseError('negative physical offset');
    const storeV6 = (r.sysFlag & SysFlag.STORE_HOST_V6) !== 0;
    let body: Buffer;
    if ((r.sysFlag & SysFlag.COMPRESSED) !== 0) {
      try {
        body = zlib.inflateSync(r.body);
      } catch {
        throw new MalformedResponseError('does not inflate');
      }
    } else body = Buffer.from(r.body);
    const properties = parsePropertiesToObject(r.properties);
    const offsetMsgId = storeV6 ? createMessageId('0.0.0.0', 0, r.physicalOffset) : createMessageId(r.storeHost, r.storePort, r.physicalOffset);
    const hp = (h: string, p: number, v6: boolean): string => (v6 ? `[${h}]:${p}` : `${h}:${p}`);
    const keys = properties['KEYS'];
    out.push({
      topic: r.topic,
      body,
      tags: properties['TAGS'],
      keys: keys === undefined || keys.length === 0 ? [] : keys.split(' '),
      properties,
      msgId: properties['UNIQ_KEY'] ?? offsetMsgId,
      offsetMsgId,
      queueId: r.queueId,
      queueOffset: r.queueOffset,
      physicalOffset: r.physicalOffset,
      sysFlag: r.sysFlag,
      flag: r.flag,
      bornTimestamp: r.bornTimestamp,
      bornHost: hp(r.bornHost, r.bornPort, (r.sysFlag & SysFlag.BORN_HOST_V6) !== 0),
      storeTimestamp: r.storeTimestamp,
      storeHost: hp(r.storeHost, r.storePort, storeV6),
      reconsumeTimes: r.reconsumeTimes,
      bodyCrc: buf.readInt32BE(pos + 8),
      brokerName,
    });
    pos += buf.readInt32BE(pos);
  }
  return out;
}

/** Outcome of a decoder on some bytes, comparable with toEqual: the messages, or "refused". */
function outcome(decode: () => MessageExt[]): { ok: true; msgs: unknown[] } | { ok: false } {
  try {
    return { ok: true, msgs: decode().map((m) => ({ ...m, body: m.body.toString('hex') })) };
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedResponseError);
    return { ok: false };
  }
}

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const propertyText = fc.oneof(
  fc.dictionary(fc.constantFrom('TAGS', 'KEYS', 'UNIQ_KEY', 'WAIT', 'a', 'é', 'RETRY_TOPIC'), fc.string({ maxLength: 12 }).map((s) => s.replace(/[\x01\x02]/g, ''))).map((d) =>
    Object.entries(d).map(([k, v]) => `${k}\x01${v}\x02`).join(''),
  ),
  // Odd strings: missing separators, empty names, duplicates, a missing final 0x02.
  fc.array(fc.constantFrom('A', 'B', '\x01', '\x02', 'TAGS', 'é', ' '), { maxLength: 20 }).map((a) => a.join('')),
);
const storedMessage = fc.record({
  topic: fc.oneof(fc.constantFrom('T', 'TopicA', '%RETRY%g'), fc.string({ minLength: 1, maxLength: 20 }).filter((s) => Buffer.byteLength(s) <= 127)),
  queueId: int32,
  flag: int32,
  queueOffset: fc.maxSafeNat(),
  physicalOffset: fc.maxSafeNat(),
  sysFlag: fc.constantFrom(0, SysFlag.MULTI_TAGS, SysFlag.COMPRESSED, 0x7fffff00 & ~0x30),
  bornTimestamp: fc.maxSafeInteger(),
  bornHost: ipv4,
  bornPort: int32,
  storeTimestamp: fc.maxSafeInteger(),
  storeHost: ipv4,
  storePort: int32,
  reconsumeTimes: int32,
  preparedTransactionOffset: fc.maxSafeInteger(),
  body: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  properties: propertyText,
});

function encode(m: MessageRecord): Buffer {
  const body = (m.sysFlag & SysFlag.COMPRESSED) !== 0 ? zlib.deflateSync(m.body) : m.body;
  return encodeMessageRecord({ ...m, body });
}

describe('pull decoder', () => {
  it('gives exactly what the shared-codec decoder gives, for records back to back', () => {
    fc.assert(
      fc.property(fc.array(storedMessage, { minLength: 1, maxLength: 6 }), fc.string({ maxLength: 8 }), (ms, brokerName) => {
        const buf = Buffer.concat(ms.map(encode));
        expect(outcome(() => decodeMessageRecords(buf, brokerName))).toEqual(outcome(() => referenceDecode(buf, brokerName)));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts and refuses the same damaged bytes as the shared-codec decoder', () => {
    fc.assert(
      fc.property(
        fc.array(storedMessage, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (ms, edits, cut) => {
          const buf = Buffer.concat(ms.map(encode));
          for (const [at, v] of edits) buf[at % buf.length] = v;
          const bytes = buf.subarray(0, buf.length - (cut % 4 === 0 ? cut % buf.length : 0));
          expect(outcome(() => decodeMessageRecords(bytes, 'b'))).toEqual(outcome(() => referenceDecode(bytes, 'b')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps every body intact when the response buffer is overwritten afterwards', () => {
    const ms = [1, 2, 3].map((i) => encode({ topic: 'T', queueId: 0, flag: 0, queueOffset: i, physicalOffset: i, sysFlag: 0, bornTimestamp: 0, bornHost: '1.2.3.4', bornPort: 1, storeTimestamp: 0, storeHost: '1.2.3.4', storePort: 2, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from(`body ${i}`), properties: '' }));
    const response = Buffer.concat(ms);
    const msgs = decodeMessageRecords(response);
    const single = decodeMessageRecord(response, 0).msg;
    response.fill(0);
    expect(msgs.map((m) => m.body.toString())).toEqual(['body 1', 'body 2', 'body 3']);
    expect(single.body.toString()).toBe('body 1');
  });

  it('tells topics of the same length apart and host strings of the same host with other ports', () => {
    const rec = (topic: string, storePort: number, bornPort: number): Buffer =>
      encode({ topic, queueId: 0, flag: 0, queueOffset: 0, physicalOffset: 0x1_2345_6789, sysFlag: 0, bornTimestamp: 0, bornHost: '10.0.0.1', bornPort, storeTimestamp: 0, storeHost: '10.0.0.1', storePort, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('x'), properties: '' });
    const msgs = decodeMessageRecords(Buffer.concat([rec('AB', 1, 7), rec('AC', 2, -1), rec('AB', 1, 7), rec('é', 0xffff, 0x10000)]));
    expect(msgs.map((m) => [m.topic, m.storeHost, m.bornHost, m.offsetMsgId])).toEqual([
      ['AB', '10.0.0.1:1', '10.0.0.1:7', createMessageId('10.0.0.1', 1, 0x1_2345_6789)],
      ['AC', '10.0.0.1:2', '10.0.0.1:-1', createMessageId('10.0.0.1', 2, 0x1_2345_6789)],
      ['AB', '10.0.0.1:1', '10.0.0.1:7', createMessageId('10.0.0.1', 1, 0x1_2345_6789)],
      ['é', '10.0.0.1:65535', '10.0.0.1:65536', createMessageId('10.0.0.1', 0xffff, 0x1_2345_6789)],
    ]);
  });
});
