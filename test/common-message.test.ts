// Tests of the shared message codec's reading of layouts this project never writes but other
// RocketMQ brokers may send a client: the V2 magic (2-byte topic length) and 16-byte IPv6 hosts.
// The records are built here field by field, independently of the codec's encoder.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessageRecord as decodeForClient, MalformedResponseError } from '../src/client/index.js';
import { crc32 } from '../src/common/message/crc32.js';
import { MessageCodecError } from '../src/common/message/message-errors.js';
import { createMessageId } from '../src/common/message/message-id.js';
import { checkMessageRecord, decodeMessageRecord } from '../src/common/message/message-record.js';
import { MESSAGE_MAGIC_V1, MESSAGE_MAGIC_V2, SysFlag } from '../src/common/message/record-layout.js';

interface Foreign {
  v2: boolean;
  bornV6: boolean;
  storeV6: boolean;
  topic: string;
  body: Buffer;
  properties: string;
}

const BORN_V6 = [0xfe80, 0, 0, 0, 0, 0, 0, 1];
const STORE_V6 = [0x2001, 0xdb8, 0, 0, 0, 0, 0xabcd, 0x12];

/** Writes a record in the order of RocketMQ's CommitLog, with the host and topic widths asked for. */
function foreignRecord(f: Foreign): Buffer {
  const topic = Buffer.from(f.topic);
  const props = Buffer.from(f.properties);
  const parts: Buffer[] = [];
  const int = (v: number): void => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    parts.push(b);
  };
  const long = (v: number): void => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    parts.push(b);
  };
  const host = (v6: boolean, groups: number[], ipv4: number[]): void => {
    if (v6) for (const g of groups) parts.push(Buffer.from([g >> 8, g & 255]));
    else parts.push(Buffer.from(ipv4));
  };
  const sysFlag = (f.bornV6 ? SysFlag.BORN_HOST_V6 : 0) | (f.storeV6 ? SysFlag.STORE_HOST_V6 : 0) | SysFlag.MULTI_TAGS;
  int(0); // total size, patched below
  int(f.v2 ? MESSAGE_MAGIC_V2 : MESSAGE_MAGIC_V1);
  int(crc32(f.body) & 0x7fffffff);
  int(5); // queueId
  int(-3); // flag
  long(42); // queueOffset
  long(7_000_000_123); // physicalOffset
  int(sysFlag);
  long(1_700_000_000_001); // bornTimestamp
  host(f.bornV6, BORN_V6, [10, 0, 0, 9]);
  int(40001);
  long(1_700_000_000_002); // storeTimestamp
  host(f.storeV6, STORE_V6, [10, 0, 0, 1]);
  int(10911);
  int(4); // reconsumeTimes
  long(0); // preparedTransactionOffset
  int(f.body.length);
  parts.push(f.body);
  const topicLength = Buffer.alloc(f.v2 ? 2 : 1);
  if (f.v2) topicLength.writeInt16BE(topic.length);
  else topicLength.writeInt8(topic.length);
  parts.push(topicLength, topic);
  const propsLength = Buffer.alloc(2);
  propsLength.writeInt16BE(props.length);
  parts.push(propsLength, props);
  const out = Buffer.concat(parts);
  out.writeInt32BE(out.length, 0);
  return out;
}

const foreignArb = fc.record({
  v2: fc.boolean(),
  bornV6: fc.boolean(),
  storeV6: fc.boolean(),
  topic: fc.stringMatching(/^[A-Za-z0-9_%-]{1,100}$/),
  body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  properties: fc.constantFrom('', 'TAGS\x01t\x02', 'KEYS\x01a b\x02UNIQ_KEY\x01U1\x02'),
});

describe('shared record codec, foreign layouts', () => {
  it('reads V1 and V2 records with any mix of IPv4 and IPv6 hosts when asked to', () => {
    fc.assert(
      fc.property(foreignArb, (f) => {
        const r = decodeMessageRecord(foreignRecord(f), 0, { foreignLayouts: true });
        expect(r).toMatchObject({
          topic: f.topic,
          queueId: 5,
          flag: -3,
          queueOffset: 42,
          physicalOffset: 7_000_000_123,
          bornTimestamp: 1_700_000_000_001,
          bornHost: f.bornV6 ? 'fe80:0:0:0:0:0:0:1' : '10.0.0.9',
          bornPort: 40001,
          storeTimestamp: 1_700_000_000_002,
          storeHost: f.storeV6 ? '2001:db8:0:0:0:0:abcd:12' : '10.0.0.1',
          storePort: 10911,
          reconsumeTimes: 4,
          preparedTransactionOffset: 0,
          properties: f.properties,
        });
        expect(Buffer.from(r.body).equals(f.body)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses V2 and IPv6 records by default, as the store never writes them', () => {
    const base = { topic: 'T', body: Buffer.from('x'), properties: '' };
    expect(() => decodeMessageRecord(foreignRecord({ ...base, v2: true, bornV6: false, storeV6: false }))).toThrow(expect.objectContaining({ code: 'ERR_CODEC_BAD_MAGIC' }));
    expect(() => decodeMessageRecord(foreignRecord({ ...base, v2: false, bornV6: true, storeV6: false }))).toThrow(expect.objectContaining({ code: 'ERR_CODEC_BAD_RECORD_LENGTH' }));
    expect(decodeMessageRecord(foreignRecord({ ...base, v2: false, bornV6: false, storeV6: false })).topic).toBe('T');
  });

  it('turns any cut or overwritten foreign record into a codec error, never a read past the record', () => {
    fc.assert(
      fc.property(foreignArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (f, at, junk) => {
        const good = foreignRecord(f);
        const cut = good.subarray(0, at % good.length);
        expect(() => checkMessageRecord(cut, 0, cut.length, true, true)).toThrow(MessageCodecError);
        const bad = Buffer.from(good);
        Buffer.from(junk).copy(bad, at % bad.length);
        // No slack after the record: a read past it would be a RangeError, not a codec error.
        try {
          checkMessageRecord(bad, 0, bad.length, true, true);
        } catch (err) {
          expect(err).toBeInstanceOf(MessageCodecError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('client decoding of foreign records', () => {
  it('shows IPv6 hosts in brackets and keeps only the physical offset in the offset id', () => {
    const bytes = foreignRecord({ v2: true, bornV6: true, storeV6: true, topic: 'T6', body: Buffer.from('hi'), properties: 'TAGS\x01t\x02' });
    const { msg, next } = decodeForClient(bytes, 0, 'b');
    expect(next).toBe(bytes.length);
    expect(msg.bornHost).toBe('[fe80:0:0:0:0:0:0:1]:40001');
    expect(msg.storeHost).toBe('[2001:db8:0:0:0:0:abcd:12]:10911');
    expect(msg.offsetMsgId).toBe(createMessageId('0.0.0.0', 0, 7_000_000_123));
    expect(msg.tags).toBe('t');
    expect(msg.body.toString()).toBe('hi');
  });

  it('reports a negative physical offset as a malformed response', () => {
    const bytes = foreignRecord({ v2: false, bornV6: false, storeV6: false, topic: 'T', body: Buffer.from('x'), properties: '' });
    bytes.writeBigInt64BE(-5n, 28);
    expect(() => decodeForClient(bytes, 0)).toThrow(MalformedResponseError);
  });
});
