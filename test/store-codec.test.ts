// Property and example tests for the store codecs: message record, properties, message id,
// Java hash, checkpoint.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkMessageRecord,
  decodeMessageRecord,
  encodeMessageRecord,
  encodeMessageRecords,
  isMessageRecordPayload,
  messageRecords,
  patchRecordOffsets,
} from '../src/common/message/message-record.js';
import { MESSAGE_MAGIC_V1, RECORD_FIXED_BYTES, RecordOffset } from '../src/common/message/record-layout.js';
import { findPropertyValue, formatProperties, getProperty, parseProperties } from '../src/common/message/message-properties.js';
import { createMessageId, parseMessageId } from '../src/common/message/message-id.js';
import { javaStringHash, javaUtf8Hash, indexKeyHash } from '../src/common/message/java-hash.js';
import { toIPv4 } from '../src/common/message/ipv4.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/store/checkpoint.js';
import { crc32 } from '../src/common/message/crc32.js';
import { arbitraryMessage, message } from './store-helpers.js';

describe('message record codec', () => {
  it('decoding an encoded message gives the message back', () => {
    fc.assert(
      fc.property(arbitraryMessage, (m) => {
        expect(decodeMessageRecord(encodeMessageRecord(m))).toEqual(m);
      }),
      { numRuns: 300 },
    );
  });

  it('re-encoding a decoded record gives the same bytes', () => {
    fc.assert(
      fc.property(arbitraryMessage, (m) => {
        const bytes = encodeMessageRecord(m);
        expect(encodeMessageRecord(decodeMessageRecord(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('writes the V1 layout with a 91-byte overhead, the masked body CRC and the fields at their offsets', () => {
    const m = message({ topic: 'T', properties: '', body: Buffer.from('hello'), queueId: 3, storeTimestamp: 1234567890123, storeHost: '127.0.0.1', storePort: 10911 });
    const b = encodeMessageRecord(m);
    expect(b.length).toBe(RECORD_FIXED_BYTES + 5 + 1);
    expect(b.readInt32BE(0)).toBe(b.length);
    expect(b.readInt32BE(4)).toBe(-626843481);
    expect(b.readInt32BE(8)).toBe(crc32(Buffer.from('hello')) & 0x7fffffff);
    expect(b.readInt32BE(12)).toBe(3);
    expect(Number(b.readBigInt64BE(RecordOffset.STORE_TIMESTAMP))).toBe(1234567890123);
    expect(b.readUInt32BE(RecordOffset.STORE_HOST)).toBe(0x7f000001);
    expect(b.subarray(RecordOffset.BODY, RecordOffset.BODY + 5).toString()).toBe('hello');
    expect(b[RecordOffset.BODY + 5]).toBe(1);
    expect(b.readInt16BE(b.length - 2)).toBe(0);
  });

  it('clears the IPv6 host bits and maps IPv6 loopback and mapped addresses to IPv4', () => {
    const b = encodeMessageRecord(message({ sysFlag: 0x31, bornHost: '::ffff:10.1.2.3', storeHost: '::1' }));
    const d = decodeMessageRecord(b);
    expect(d.sysFlag).toBe(0x01);
    expect(d.bornHost).toBe('10.1.2.3');
    expect(d.storeHost).toBe('127.0.0.1');
    expect(toIPv4('fe80::1')).toBe('0.0.0.0');
    expect(toIPv4('::FFFF:192.168.0.1')).toBe('192.168.0.1');
  });

  it('rejects a topic over 127 bytes, an empty topic and properties of 32 KiB with a typed error', () => {
    expect(() => encodeMessageRecord(message({ topic: 'x'.repeat(128) }))).toThrow(expect.objectContaining({ code: 'ERR_CODEC_INVALID_MESSAGE' }));
    expect(() => encodeMessageRecord(message({ topic: '' }))).toThrow(expect.objectContaining({ code: 'ERR_CODEC_INVALID_MESSAGE' }));
    expect(() => encodeMessageRecord(message({ properties: 'a\x01' + 'b'.repeat(32766) + '\x02' }))).toThrow(expect.objectContaining({ code: 'ERR_CODEC_INVALID_MESSAGE' }));
    expect(() => encodeMessageRecord(message({ topic: 'x'.repeat(127) }))).not.toThrow();
  });

  it('reports a bad magic, a bad CRC and inconsistent lengths with typed errors', () => {
    const good = encodeMessageRecord(message());
    const badMagic = Buffer.from(good);
    badMagic.writeInt32BE(0x12345678, 4);
    expect(() => decodeMessageRecord(badMagic)).toThrow(expect.objectContaining({ code: 'ERR_CODEC_BAD_MAGIC' }));
    const badCrc = Buffer.from(good);
    badCrc[RecordOffset.BODY] = badCrc[RecordOffset.BODY]! ^ 1;
    expect(() => decodeMessageRecord(badCrc)).toThrow(expect.objectContaining({ code: 'ERR_CODEC_BAD_CRC' }));
    expect(() => decodeMessageRecord(badCrc, 0, { verifyCrc: false })).not.toThrow();
    const badBody = Buffer.from(good);
    badBody.writeInt32BE(good.length, RecordOffset.BODY_LENGTH);
    expect(() => decodeMessageRecord(badBody)).toThrow(expect.objectContaining({ code: 'ERR_CODEC_BAD_RECORD_LENGTH' }));
    expect(() => decodeMessageRecord(good.subarray(0, good.length - 1))).toThrow(expect.objectContaining({ code: 'ERR_CODEC_BAD_RECORD_LENGTH' }));
  });

  it('finds no valid record in random bytes without crashing: every failure is a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), (bytes, withMagic) => {
        const b = Buffer.from(bytes);
        if (withMagic && b.length >= 8) b.writeInt32BE(MESSAGE_MAGIC_V1, 4);
        try {
          checkMessageRecord(b, 0, b.length, true);
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(/^ERR_CODEC_/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('iterates the records of a batch payload and tells message payloads from control payloads', () => {
    fc.assert(
      fc.property(fc.array(arbitraryMessage, { minLength: 1, maxLength: 5 }), (ms) => {
        const payload = encodeMessageRecords(ms);
        expect(isMessageRecordPayload(payload)).toBe(true);
        const decoded = [...messageRecords(payload, true)].map(([o]) => decodeMessageRecord(payload, o));
        expect(decoded).toEqual(ms);
      }),
      { numRuns: 100 },
    );
    const control = Buffer.alloc(16);
    control.writeInt32BE(16, 0);
    control.writeInt32BE(0x4d455441, 4);
    expect(isMessageRecordPayload(control)).toBe(false);
    expect(isMessageRecordPayload(new Uint8Array())).toBe(false);
  });

  it('patching the offsets equals encoding with those offsets', () => {
    fc.assert(
      fc.property(arbitraryMessage, fc.nat(), fc.nat(), (m, q, p) => {
        const placeholder = encodeMessageRecord({ ...m, queueOffset: -1, physicalOffset: 0 });
        patchRecordOffsets(placeholder, 0, q, p);
        expect(placeholder.equals(encodeMessageRecord({ ...m, queueOffset: q, physicalOffset: p }))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('properties codec', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 10 }).filter((s) => !s.includes('\x01') && !s.includes('\x02'));
  it('parsing formatted properties gives the same map, and formatting parsed text gives the same text', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(text.filter((k) => k.length > 0), text), { maxLength: 6 }), (pairs) => {
        const map = new Map(pairs);
        const formatted = formatProperties(map);
        expect(parseProperties(formatted)).toEqual(map);
        expect(formatProperties(parseProperties(formatted))).toBe(formatted);
        for (const [k, v] of map) expect(getProperty(formatted, k)).toBe(v);
      }),
    );
  });

  it('finds a property in record bytes exactly where the string lookup does', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('TAGS', 'KEYS', 'UNIQ_KEY', 'TAG', 'AKEYS', 'X'), text, { maxKeys: 5 }), fc.constantFrom('TAGS', 'KEYS', 'UNIQ_KEY'), (d, name) => {
        const formatted = formatProperties(d);
        const bytes = Buffer.concat([Buffer.from('junk\x02'), Buffer.from(formatted), Buffer.from('TAGS\x01tail')]);
        const bounds = new Int32Array(1);
        const at = findPropertyValue(bytes, 5, 5 + Buffer.byteLength(formatted), Buffer.from(name), bounds);
        const expected = getProperty(formatted, name);
        if (expected === undefined) expect(at).toBe(-1);
        else expect(bytes.toString('utf8', at, bounds[0])).toBe(expected);
      }),
    );
  });

  it('refuses separators inside names or values', () => {
    expect(() => formatProperties({ 'a\x01': 'b' })).toThrow(expect.objectContaining({ code: 'ERR_CODEC_INVALID_MESSAGE' }));
    expect(() => formatProperties({ a: 'b\x02' })).toThrow(expect.objectContaining({ code: 'ERR_CODEC_INVALID_MESSAGE' }));
  });
});

describe('message id', () => {
  it('parses back the host, port and physical offset it was built from', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), fc.nat(0x7fffffff), fc.maxSafeNat(), (ip, port, offset) => {
        const host = ip.join('.');
        const id = createMessageId(host, port, offset);
        expect(id).toMatch(/^[0-9A-F]{32}$/);
        expect(parseMessageId(id)).toEqual({ storeHost: host, storePort: port, physicalOffset: offset });
      }),
    );
  });

  it('matches the id ali-ons computes for a record at offset 0 from 127.0.0.1:20911', () => {
    expect(createMessageId('127.0.0.1', 20911, 0)).toBe('7F000001000051AF0000000000000000');
  });

  it('rejects a malformed id with a typed error', () => {
    expect(() => parseMessageId('XYZ')).toThrow(expect.objectContaining({ code: 'ERR_CODEC_BAD_MESSAGE_ID' }));
  });
});

describe('java hash', () => {
  it('matches known Java String.hashCode values', () => {
    expect(javaStringHash('')).toBe(0);
    expect(javaStringHash('TagA')).toBe(2598919);
    expect(javaStringHash('hello')).toBe(99162322);
    expect(javaStringHash('polygenelubricants')).toBe(-2147483648);
    expect(indexKeyHash(-2147483648)).toBe(0);
    expect(indexKeyHash(-5)).toBe(5);
  });

  it('hashes UTF-8 bytes like the decoded string, and composes over a prefix', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), (a, b) => {
        const bytes = Buffer.from(b);
        expect(javaUtf8Hash(bytes, 0, bytes.length, javaStringHash(a))).toBe(javaStringHash(a + b));
      }),
    );
  });
});

describe('checkpoint codec', () => {
  it('decodes what it encodes and rejects any flipped bit', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.nat({ max: 52 * 8 - 1 }), (a, b, c, d, e, bit) => {
        const cp = { dispatchedIndex: a, dispatchedPhysicalOffset: b, logFlushTimestampMs: c, consumeQueueFlushTimestampMs: d, indexFlushTimestampMs: e };
        const buf = encodeCheckpoint(cp);
        expect(decodeCheckpoint(buf)).toEqual(cp);
        buf[bit >> 3] = buf[bit >> 3]! ^ (1 << (bit & 7));
        expect(() => decodeCheckpoint(buf)).toThrow(expect.objectContaining({ code: 'ERR_STORE_BAD_CHECKPOINT' }));
      }),
      { numRuns: 200 },
    );
  });
});
